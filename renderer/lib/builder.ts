/**
 * The job builder's model: a draft the form edits, the JobSpec it stands for, and the field
 * errors of that spec from the shared zod schema (parsed on every change), keyed by the form
 * field that shows them.
 */
import { JobSpec, OperationType, type ImageFormat } from '../../shared/protocol';
import { fieldErrors } from '../../shared/validation';
import { joinPath, stem } from './paths';

export type VerifyMode = 'none' | 'compare' | 'checksum';

export interface BuilderDraft {
  operation: OperationType;
  disks: string[];
  priority: number;
  /** Destination folder: convert writes there; inspect checks its free space. */
  dest: string;
  // inspect
  guest: boolean;
  diskBus: 'virtio-blk' | 'virtio-scsi' | 'sata';
  firmware: 'bios' | 'uefi';
  // convert
  format: ImageFormat;
  verify: VerifyMode;
  compression: 'none' | 'zlib' | 'zstd';
  /** MiB per second as typed; empty for no limit. */
  rateLimitMiBps: string;
  overwrite: boolean;
  sha256: boolean;
  /** A repair prepared from a finding: its params less `disks` (the disks are the converted outputs). */
  repairParams: Record<string, unknown> | null;
  labels: Record<string, string>;
}

export const DRAFT_DEFAULTS: BuilderDraft = {
  operation: 'inspect',
  disks: [],
  priority: 50,
  dest: '',
  guest: true,
  diskBus: 'virtio-blk',
  firmware: 'bios',
  format: 'qcow2',
  verify: 'none',
  compression: 'none',
  rateLimitMiBps: '',
  overwrite: false,
  sha256: false,
  repairParams: null,
  labels: {},
};

/** File name extension of each output format. */
const FORMAT_EXTENSION: Record<ImageFormat, string> = { qcow2: 'qcow2', raw: 'img', vmdk: 'vmdk', vpc: 'vhd', vhdx: 'vhdx', vdi: 'vdi' };

/** Where convert writes a source's copy: `<dest>/<stem>.<ext>`; empty when no destination yet. */
export function outputPathFor(source: string, dest: string, format: ImageFormat): string {
  return dest.trim() ? joinPath(dest.trim(), `${stem(source)}.${FORMAT_EXTENSION[format]}`) : '';
}

/** The form fields errors are shown next to. */
export type BuilderField = 'disks' | 'operation' | 'dest' | 'priority' | 'rate' | 'options' | 'form';

/** Which field shows the error of a spec path. */
export function fieldOf(path: string): BuilderField {
  if (path === 'priority') return 'priority';
  if (path === 'operation') return 'operation';
  if (/^params\.disks\.\d+\.output$/.test(path) || path === 'params.dest') return 'dest';
  if (path.startsWith('params.disks')) return 'disks';
  if (path === 'params.rate_limit_bps') return 'rate';
  if (path.startsWith('params.')) return 'options';
  return 'form';
}

const MIB = 1024 * 1024;

/** The spec the draft stands for, as submitted (defaults left to the worker). */
export function draftToSpec(d: BuilderDraft): Record<string, unknown> {
  const base: Record<string, unknown> = { operation: d.operation, priority: d.priority };
  if (Object.keys(d.labels).length) base.labels = d.labels;
  switch (d.operation) {
    case 'inspect':
      return {
        ...base,
        params: {
          disks: d.disks,
          guest: d.guest,
          target: { disk_bus: d.diskBus, firmware: d.firmware },
          ...(d.dest.trim() ? { dest: d.dest.trim() } : {}),
        },
      };
    case 'convert': {
      const rate = d.rateLimitMiBps.trim() === '' ? undefined : Math.round(Number(d.rateLimitMiBps) * MIB);
      return {
        ...base,
        params: {
          disks: d.disks.map((source) => ({ source, output: outputPathFor(source, d.dest, d.format) })),
          format: d.format,
          verify: d.verify,
          overwrite: d.overwrite,
          sha256: d.sha256,
          ...(d.format === 'qcow2' ? { qcow2: { compression: d.compression } } : {}),
          ...(rate !== undefined && Number.isFinite(rate) ? { rate_limit_bps: rate } : {}),
        },
      };
    }
    default:
      return { ...base, params: { ...(d.repairParams ?? {}), disks: d.disks } };
  }
}

export interface DraftCheck {
  /** The parsed spec when valid. */
  spec: JobSpec | null;
  /** The spec as it will be submitted. */
  submitted: Record<string, unknown>;
  /** Error messages by form field. */
  errors: Partial<Record<BuilderField, string[]>>;
}

/** Parse the draft's spec with the shared JobSpec schema; errors grouped by field. */
export function checkDraft(d: BuilderDraft): DraftCheck {
  const submitted = draftToSpec(d);
  const errors: Partial<Record<BuilderField, string[]>> = {};
  const add = (f: BuilderField, m: string) => {
    const list = (errors[f] ??= []);
    if (!list.includes(m)) list.push(m);
  };
  if (d.operation === 'convert') {
    const rate = d.rateLimitMiBps.trim();
    if (rate !== '' && !(Number(rate) > 0)) add('rate', 'a positive number of MiB/s, or empty for no limit');
    // Two disks with one output name: the protocol's own rule says which (JobSpec below).
  }
  const r = JobSpec.safeParse(submitted);
  if (!r.success) {
    for (const f of fieldErrors(r.error)) {
      const field = fieldOf(f.path);
      add(field, field === 'dest' && d.operation === 'convert' && !d.dest.trim() ? 'choose a destination folder' : f.message);
    }
  }
  return { spec: r.success && Object.keys(errors).length === 0 ? r.data : null, submitted, errors };
}

/** The fields a change of the draft touches (for showing their errors only once touched). */
export function fieldsOfPatch(patch: Partial<BuilderDraft>): BuilderField[] {
  const out = new Set<BuilderField>();
  for (const k of Object.keys(patch) as (keyof BuilderDraft)[]) {
    if (k === 'disks' || k === 'operation' || k === 'dest' || k === 'priority') out.add(k);
    else if (k === 'rateLimitMiBps') out.add('rate');
    else if (k !== 'labels' && k !== 'repairParams') out.add('options');
  }
  return [...out];
}

/**
 * The errors to show: a field's once the technician has touched it, all of them once a submit
 * was tried. An empty form shows no red before any input.
 */
export function visibleErrors(errors: DraftCheck['errors'], touched: readonly BuilderField[], attempted: boolean): DraftCheck['errors'] {
  if (attempted) return errors;
  const out: DraftCheck['errors'] = {};
  for (const f of touched) if (errors[f]) out[f] = errors[f];
  return out;
}

/** Form fields in the order they appear, for moving focus to the first one in error. */
export const FIELD_ORDER: readonly BuilderField[] = ['disks', 'operation', 'options', 'rate', 'dest', 'priority', 'form'];

/** The first field in error, in form order; null when there is none. */
export function firstErrorField(errors: DraftCheck['errors']): BuilderField | null {
  return FIELD_ORDER.find((f) => errors[f]?.length) ?? null;
}

/**
 * The draft after a successful submit: the disks and what came with them (a finding's repair,
 * its labels) are cleared; the options the technician chose (operation, destination, target,
 * format, verification, rate, priority) stay for the next job. A repair goes back to inspect,
 * since its parameters belonged to the finding.
 */
export function draftAfterSubmit(d: BuilderDraft): BuilderDraft {
  const core = d.operation === 'inspect' || d.operation === 'convert';
  return { ...d, operation: core ? d.operation : DRAFT_DEFAULTS.operation, disks: [], repairParams: null, labels: {} };
}
