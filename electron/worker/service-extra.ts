/**
 * The app doors' methods beside the job service: the file picker's folder listing confined to
 * the roots a door was opened with (`fs.roots`, `fs.list`), the data folder's settings
 * (`settings.get`, `settings.set`) and a job's report for export (`jobs.report`). Like the core
 * service they only read the store and the file system; nothing here starts work.
 */
import { readdir, realpath, lstat, stat, statfs } from 'node:fs/promises';
import { dirname, extname, isAbsolute, join, relative, resolve, sep } from 'node:path';
import type { AppHandlers, FsEntry, FsRoot, JobReport, ParsedInput } from '../../shared/contract';
import { WorkerError } from '../../shared/errors';
import { formatBytes, formatDuration, formatRate } from '../../shared/format';
import { Finding, PROTOCOL_VERSION, type ErrorInfo, type JobDetail, type WorkerEvent } from '../../shared/protocol';
import { readSettings, writeSettings } from '../store/settings';
import type { JobStore } from '../store/store';
import { VERSION } from '../version';

export interface ExtraServiceOptions {
  store: JobStore;
  dataDir: string;
  scratchDir: string;
  /** Folders `fs.list` may show; empty means the picker shows nothing. */
  roots: readonly string[];
  /** The concurrency of the runner in this process, or null when another process runs the jobs. */
  runnerConcurrency?: () => number | null;
}

// ------------------------------------------------------------------------------- file picker

const DISK_EXTENSIONS = new Set(['.vmdk', '.vhd', '.vhdx', '.vdi', '.qcow2', '.qcow', '.img', '.raw', '.qed']);
const PACKAGE_EXTENSIONS = new Set(['.ova', '.ovf']);
/** vmdk extents hold data for a descriptor: `-flat.vmdk`, `-s001.vmdk`, `-f001.vmdk`, `-delta.vmdk`. */
const EXTENT_NAME = /-(flat|delta|s\d{3}|f\d{3})\.vmdk$/i;

/** What a file looks like by its name: a disk image, a VM package, a vmdk extent, or nothing known. */
export function kindOfName(name: string): FsEntry['kind'] {
  if (EXTENT_NAME.test(name)) return 'extent';
  const ext = extname(name).toLowerCase();
  if (PACKAGE_EXTENSIONS.has(ext)) return 'package';
  if (DISK_EXTENSIONS.has(ext)) return 'disk';
  return null;
}

/** True when `p` is `root` or lies below it (both absolute and normalised). */
export function isWithin(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (rel !== '..' && !rel.startsWith('..' + sep) && !isAbsolute(rel));
}

async function space(path: string): Promise<{ free_bytes: number | null; total_bytes: number | null }> {
  try {
    const s = await statfs(path);
    return { free_bytes: s.bavail * s.bsize, total_bytes: s.blocks * s.bsize };
  } catch {
    return { free_bytes: null, total_bytes: null };
  }
}

/** The roots, symlinks resolved, missing ones left out. */
async function realRoots(roots: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  for (const r of roots) {
    try {
      out.push(await realpath(resolve(r)));
    } catch {
      // A root that vanished shows nothing rather than failing every listing.
    }
  }
  return out;
}

function rootOf(roots: readonly string[], p: string): string | null {
  // The deepest root wins, so `parent` stops at the nearest one.
  return roots.filter((r) => isWithin(r, p)).sort((a, b) => b.length - a.length)[0] ?? null;
}

/**
 * List `path` within `roots`. The path and every symlink in it are resolved first, so a link
 * cannot lead out of the roots; entries whose links point outside are left out. A path outside
 * is refused with `path_outside_roots` whether or not it exists, so nothing is revealed about it.
 */
export async function listFolder(
  roots: readonly string[],
  input: { path: string; hidden: boolean; limit: number },
): Promise<ParsedOutput<'fs.list'>> {
  const real = await realRoots(roots);
  const requested = resolve(input.path);
  let target: string;
  try {
    target = await realpath(requested);
  } catch {
    if (!rootOf(real, requested)) throw new WorkerError('path_outside_roots', { detail: requested });
    throw new WorkerError('bad_request', { detail: `no such folder: ${requested}` });
  }
  const root = rootOf(real, target);
  if (!root) throw new WorkerError('path_outside_roots', { detail: requested });
  const st = await stat(target);
  if (!st.isDirectory()) throw new WorkerError('bad_request', { detail: `not a folder: ${requested}` });

  const dirents = await readdir(target, { withFileTypes: true });
  const entries: FsEntry[] = [];
  for (const d of dirents) {
    if (!input.hidden && d.name.startsWith('.')) continue;
    const full = join(target, d.name);
    let path = full;
    let symlink = false;
    try {
      if (d.isSymbolicLink()) {
        symlink = true;
        path = await realpath(full);
        if (!rootOf(real, path)) continue;
      }
      const s = symlink ? await stat(path) : await lstat(full);
      const type: FsEntry['type'] = s.isDirectory() ? 'dir' : s.isFile() ? 'file' : 'other';
      entries.push({
        name: d.name,
        path,
        type,
        symlink,
        size_bytes: type === 'file' ? s.size : null,
        modified_at: Number.isFinite(s.mtimeMs) ? new Date(s.mtimeMs).toISOString() : null,
        kind: type === 'file' ? kindOfName(d.name) : null,
      });
    } catch {
      // Dangling links and entries that vanished meanwhile are left out.
    }
  }
  entries.sort((a, b) => (a.type === 'dir') === (b.type === 'dir') ? a.name.localeCompare(b.name) : a.type === 'dir' ? -1 : 1);
  const truncated = entries.length > input.limit;
  return {
    path: target,
    root,
    parent: target === root ? null : dirname(target),
    entries: entries.slice(0, input.limit),
    truncated,
    ...(await space(target)),
  };
}

type ParsedOutput<M extends keyof AppHandlers> = Awaited<ReturnType<AppHandlers[M]>>;

// ------------------------------------------------------------------------------- job report

const time = (iso: string): string => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
/** Markdown table cell: no pipes or newlines. */
const cell = (v: unknown): string => String(v ?? '').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function scalar(v: unknown): string | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return String(v);
  return null;
}

/** The readable facts of a record: scalar values, and arrays of scalars joined. */
function factsOf(rec: Record<string, unknown>): [string, string][] {
  const out: [string, string][] = [];
  for (const [k, v] of Object.entries(rec)) {
    const s = scalar(v);
    if (s !== null) out.push([k, /(_bytes|_size)$/.test(k) && typeof v === 'number' ? `${formatBytes(v)} (${v})` : s]);
    else if (Array.isArray(v) && v.length > 0 && v.every((x) => scalar(x) !== null)) out.push([k, v.join(', ')]);
  }
  return out;
}

function errorLines(e: ErrorInfo): string[] {
  const out = [`**${e.message}** (\`${e.code}\`, ${e.kind})`, '', `Hint: ${e.hint}`];
  if (e.fields?.length) out.push('', ...e.fields.map((f) => `- \`${f.path || '(spec)'}\`: ${f.message}`));
  if (e.detail) out.push('', '```', e.detail, '```');
  return out;
}

/** The inspection part of a report, read defensively: the report's shape is still growing. */
function inspectionLines(payload: unknown): string[] {
  if (!payload || typeof payload !== 'object') return [];
  const rep = payload as { disks?: unknown; guest?: unknown; findings?: unknown };
  const out: string[] = [];
  const isRec = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
  const table = (rec: Record<string, unknown>) => {
    out.push('', '| Fact | Value |', '| --- | --- |');
    for (const [k, v] of factsOf(rec)) out.push(`| ${cell(k)} | ${cell(v)} |`);
  };
  if (Array.isArray(rep.disks) && rep.disks.length) {
    out.push('', '## Disks');
    rep.disks.forEach((d, i) => {
      if (!isRec(d)) return;
      // DiskReport: the source, the guest device and the image facts nested under `image`.
      const src = isRec(d.source) ? d.source : null;
      const image = isRec(d.image) ? d.image : null;
      const name = scalar(src?.path) ?? (src ? `${String(src.package)}: ${String(src.member)}` : null) ?? scalar(d.path) ?? `Disk ${i + 1}`;
      out.push('', `### ${cell(name)}`);
      table({ ...(scalar(d.guest_device) ? { guest_device: d.guest_device } : {}), ...(image ?? d) });
      if (isRec(d.error)) out.push('', `Unusable: ${String(d.error.message ?? d.error.code)}`);
    });
  }
  if (isRec(rep.guest)) {
    const g = rep.guest;
    out.push('', '## Guest');
    if (typeof g.status === 'string' && g.status !== 'inspected') out.push('', `Not inspected (${g.status})${typeof g.reason === 'string' ? `: ${g.reason}` : ''}.`);
    const roots = Array.isArray(g.roots) ? g.roots.filter(isRec) : null;
    if (roots) {
      for (const r of roots) {
        out.push('', `### ${cell(r.root ?? 'Operating system')}`);
        const pick = ['type', 'distro', 'product_name', 'major_version', 'minor_version', 'arch', 'hostname', 'osinfo', 'package_format'];
        table(Object.fromEntries(pick.filter((k) => k in r).map((k) => [k, r[k]])));
      }
    } else table(g);
  }
  if (Array.isArray(rep.findings)) {
    const findings = rep.findings.flatMap((f) => {
      const p = Finding.safeParse(f);
      return p.success ? [p.data] : [];
    });
    out.push('', `## Findings (${findings.length})`);
    for (const sev of ['blocker', 'warning', 'info'] as const) {
      const group = findings.filter((f) => f.severity === sev);
      if (!group.length) continue;
      out.push('', `### ${sev === 'blocker' ? 'Blockers' : sev === 'warning' ? 'Warnings' : 'Information'}`);
      for (const f of group) {
        out.push('', `- **${f.title}** (\`${f.id}\`${f.disk ? `, ${f.disk}` : ''})`);
        for (const e of f.evidence) out.push(`  - evidence: ${e.file ? `\`${e.file}${e.line ? `:${e.line}` : ''}\` ` : ''}${e.text}`);
        const r = f.remediation;
        if (r.kind === 'operation') {
          out.push(`  - remedy: ${r.summary} — job \`${r.operation}\` on the converted copy, params \`${JSON.stringify(r.params)}\``);
        } else {
          out.push(`  - remedy: ${r.summary}`, ...r.steps.map((s, i) => `    ${i + 1}. ${s}`));
        }
      }
    }
  }
  return out;
}

/** A job's report in Markdown: summary, timeline with time per state, result, error, findings. */
export function reportMarkdown(d: JobDetail, generatedAt: string): string {
  const s = d.summary;
  const out: string[] = [`# Job ${s.id}: ${s.operation}`, '', `${s.title}`, ''];
  out.push('| | |', '| --- | --- |');
  out.push(`| State | ${s.state} |`, `| Created | ${time(s.created_at)} |`, `| Priority | ${s.priority} |`, `| Attempts | ${s.attempt} |`);
  if (Object.keys(s.labels).length) out.push(`| Labels | ${cell(Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(', '))} |`);
  out.push('', '## Timeline', '', '| State | Entered | Time spent | Reason |', '| --- | --- | --- | --- |');
  d.spans.forEach((span, i) => {
    const last = d.terminal && i === d.spans.length - 1;
    out.push(`| ${span.state} | ${time(span.entered_at)} | ${last ? '' : formatDuration(span.seconds)} | ${cell(d.transitions[i]?.reason)} |`);
  });
  const per = Object.entries(d.seconds_by_state).filter(([st]) => !['COMPLETED', 'FAILED', 'CANCELLED'].includes(st));
  if (per.length) out.push('', `Time per state: ${per.map(([st, sec]) => `${st} ${formatDuration(sec)}`).join(', ')}.`);
  if (d.result) {
    const r = d.result;
    const m = r.metrics;
    out.push('', '## Result', '', `Outcome: **${r.outcome}** at ${time(r.finished_at)}.`);
    out.push(`Run time ${formatDuration(m.run_s)}, ${formatDuration(m.total_s)} in all${m.throughput_bps ? `; ${formatBytes(m.bytes_processed)} at ${formatRate(m.throughput_bps)}` : ''}.`);
    if (r.artifacts.length) {
      out.push('', '| Artifact | Role | Format | Size | SHA-256 | Verification |', '| --- | --- | --- | --- | --- | --- |');
      for (const a of r.artifacts) {
        const v = a.verification && a.verification.method !== 'none' ? `${a.verification.method}: ${a.verification.ok ? 'identical' : 'MISMATCH'}` : '';
        out.push(`| \`${cell(a.path)}\` | ${a.role} | ${cell(a.format)} | ${formatBytes(a.size_bytes)} | ${a.sha256 ?? ''} | ${v} |`);
      }
    }
    if (r.operation === 'inspect') out.push(...inspectionLines(r.payload));
  }
  const err = d.result?.error ?? s.error;
  if (err && s.state !== 'COMPLETED') out.push('', '## Error', '', ...errorLines(err));
  if (d.spec) out.push('', '## Spec', '', '```json', JSON.stringify(d.spec, null, 2), '```');
  out.push('', `---`, `Generated ${time(generatedAt)} by hyper2kvm Workbench ${VERSION} (${PROTOCOL_VERSION}).`, '');
  return out.join('\n');
}

/** The JSON and Markdown report of one job. Progress events are summed up by the last one. */
export function buildReport(d: JobDetail, events: readonly WorkerEvent[], now = new Date()): JobReport {
  const generatedAt = now.toISOString();
  const kept = events.filter((e) => e.type !== 'progress');
  const json = {
    protocol: PROTOCOL_VERSION,
    generator: `hyper2kvm-workbench ${VERSION}`,
    generated_at: generatedAt,
    job: d,
    events: kept,
    last_progress: d.summary.last_progress,
  };
  return { json: JSON.stringify(json, null, 2) + '\n', markdown: reportMarkdown(d, generatedAt), filename_base: `h2k-job-${d.summary.id}` };
}

// ------------------------------------------------------------------------------- handlers

/**
 * The file picker's methods over a set of roots. A door with its own roots (the REST server's
 * --root folders) puts these over the worker's, which has none unless it was opened with some.
 */
export function createFsHandlers(roots: readonly string[]): Pick<AppHandlers, 'fs.roots' | 'fs.list'> {
  return {
    async 'fs.roots'() {
      const out: FsRoot[] = [];
      for (const path of await realRoots(roots)) out.push({ path, ...(await space(path)) });
      return { roots: out };
    },
    async 'fs.list'(input) {
      return listFolder(roots, input);
    },
  };
}

/** The handlers of the app methods, merged into the worker's service by openWorker. */
export function createExtraService(opts: ExtraServiceOptions): AppHandlers {
  const { store } = opts;
  const settings = (): ParsedOutput<'settings.get'> => {
    const s = readSettings(store);
    return {
      data_dir: opts.dataDir,
      scratch_dir: opts.scratchDir,
      concurrency: s.concurrency,
      default_format: s.default_format,
      default_verify: s.default_verify,
      runner_concurrency: opts.runnerConcurrency?.() ?? null,
      updated_at: s.updated_at === null ? null : new Date(s.updated_at).toISOString(),
    };
  };
  return {
    async 'jobs.report'(input: ParsedInput<'jobs.report'>) {
      const detail = store.detail(input.id);
      return buildReport(detail, store.eventsOf(input.id, 0, 20_000));
    },
    ...createFsHandlers(opts.roots),
    async 'settings.get'() {
      return settings();
    },
    async 'settings.set'(input) {
      writeSettings(store, input);
      return settings();
    },
  };
}

