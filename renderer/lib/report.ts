/**
 * Reading an inspection report for display, defensively: the report (shared/protocol/
 * inspection.ts) is still growing, so every part is read by what it holds rather than trusted
 * to match one version of the schema. Known fields are shown first and formatted, unknown
 * scalars as plain facts; findings are taken one by one through the Finding schema, and any
 * that do not fit are counted rather than breaking the view.
 */
import { Finding, type Severity } from '../../shared/protocol';
import { formatBytes, formatDuration, humanize } from './format';
import { osDisplayName } from '../../shared/os-name';

export interface Fact {
  key: string;
  label: string;
  value: string;
}

export interface DiskView {
  path: string;
  facts: Fact[];
  notes: string[];
  /** Why the image cannot be used, when it cannot. */
  error: string | null;
  /** Space a converted copy needs, by format, when measured. */
  required: { qcow2: number | null; raw: number | null };
}

export interface GuestView {
  /** inspected, skipped, unavailable, failed; null for reports that do not say. */
  status: string | null;
  reason: string | null;
  /** One section per OS found (a multi-boot guest has several), or one of plain facts. */
  sections: { title: string; facts: Fact[] }[];
  /** Each OS found, in a few words ("Debian GNU/Linux 12 (bookworm), x86_64"). */
  systems: string[];
  notes: string[];
}

export interface ReportView {
  disks: DiskView[];
  guest: GuestView | null;
  destination: Fact[] | null;
  findings: Finding[];
  /** Findings present in the payload that do not fit the Finding schema. */
  unreadable: number;
}

export const SEVERITIES: readonly Severity[] = ['blocker', 'warning', 'info'];
export const SEVERITY_LABELS: Record<Severity, string> = { blocker: 'Blockers', warning: 'Warnings', info: 'Information' };

const DISK_ORDER = ['format', 'subformat', 'virtual_size', 'actual_size', 'file_size', 'cluster_size', 'encrypted', 'dirty', 'integrity', 'backing_chain', 'extents', 'snapshots'];
const FLAT_GUEST_ORDER = ['os', 'type', 'distro', 'product_name', 'version', 'major_version', 'minor_version', 'arch', 'hostname', 'firmware'];
const SKIP_DISK = new Set(['path', 'notes', 'measure']);

const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
const str = (v: unknown): string | null => (typeof v === 'string' && v !== '' ? v : typeof v === 'number' ? String(v) : null);
const list = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);

function scalarText(key: string, v: unknown): string | null {
  if (typeof v === 'string') return v;
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return /(size|bytes)$/.test(key) ? formatBytes(v) : String(v);
  return null;
}

/** One value as text: scalars as they are, lists of scalars joined, lists of records by their name. */
export function valueText(key: string, v: unknown): string | null {
  if (v === null || v === undefined) return null;
  const s = scalarText(key, v);
  if (s !== null) return s;
  if (Array.isArray(v)) {
    if (v.length === 0) return 'none';
    return v
      .map((x) => {
        if (isRecord(x)) {
          const name = x.path ?? x.name ?? x.device ?? x.mountpoint ?? x.id ?? x.version;
          return typeof name === 'string' || typeof name === 'number' ? String(name) : JSON.stringify(x);
        }
        return scalarText(key, x) ?? JSON.stringify(x);
      })
      .join(', ');
  }
  if (isRecord(v)) {
    const parts = Object.entries(v)
      .map(([k, x]) => {
        const t = scalarText(k, x);
        return t === null ? null : `${humanize(k).toLowerCase()} ${t}`;
      })
      .filter((x): x is string => x !== null);
    return parts.length ? parts.join(', ') : null;
  }
  return null;
}

function factsOf(rec: Record<string, unknown>, order: readonly string[], skip: ReadonlySet<string>): Fact[] {
  const keys = Object.keys(rec).filter((k) => !skip.has(k));
  keys.sort((a, b) => {
    const ia = order.indexOf(a);
    const ib = order.indexOf(b);
    return (ia === -1 ? order.length : ia) - (ib === -1 ? order.length : ib);
  });
  const out: Fact[] = [];
  for (const k of keys) {
    const value = valueText(k, rec[k]);
    if (value !== null && value !== '') out.push({ key: k, label: humanize(k), value });
  }
  return out;
}

const fact = (key: string, label: string, value: string | null): Fact[] => (value === null || value === '' ? [] : [{ key, label, value }]);

function requiredOf(measure: unknown): DiskView['required'] {
  const pick = (fmt: string): number | null => {
    if (!isRecord(measure)) return null;
    const m = measure[fmt];
    return isRecord(m) && typeof m.required_bytes === 'number' ? m.required_bytes : null;
  };
  return { qcow2: pick('qcow2'), raw: pick('raw') };
}

/** A disk of the report: its image facts (under `image`, or the record itself in older reports). */
function diskView(d: Record<string, unknown>, i: number): DiskView {
  const src = isRecord(d.source) ? d.source : null;
  const image = isRecord(d.image) ? d.image : d.image === null ? null : d;
  const path =
    str(src?.path) ?? (src && str(src.package) ? `${String(src.package)}: ${String(src.member ?? '?')}` : null) ?? str(image?.path) ?? str(d.path) ?? `disk ${i + 1}`;
  const err = isRecord(d.error) ? (str(d.error.message) ?? str(d.error.code)) : null;
  const facts = [...fact('guest_device', 'Guest device', str(d.guest_device)), ...(image ? factsOf(image, DISK_ORDER, SKIP_DISK) : [])];
  return {
    path,
    facts,
    notes: list(image?.notes).filter((n): n is string => typeof n === 'string'),
    error: err,
    required: requiredOf(image?.measure),
  };
}

/** One OS root of the guest: what a technician checks first. */
function rootFacts(r: Record<string, unknown>): Fact[] {
  const version = [r.major_version, r.minor_version].every((v) => typeof v === 'number') ? `${String(r.major_version)}.${String(r.minor_version)}` : str(r.major_version);
  const fw = isRecord(r.firmware) ? str(r.firmware.kind) : str(r.firmware);
  const bl = isRecord(r.bootloader) ? str(r.bootloader.kind) : null;
  const kernels = list(r.kernels)
    .map((k) => (isRecord(k) ? str(k.version) : null))
    .filter((k): k is string => k !== null);
  const mounts = list(r.mountpoints)
    .map((m) => (isRecord(m) && str(m.mountpoint) ? `${String(m.device ?? '?')} on ${String(m.mountpoint)}` : null))
    .filter((m): m is string => m !== null);
  const tools = list(r.guest_tools)
    .map((t) => (isRecord(t) ? `${String(t.vendor ?? '?')}${list(t.packages).length ? ` (${list(t.packages).join(', ')})` : ''}` : null))
    .filter((t): t is string => t !== null);
  const nics = list(r.network).flatMap((n) => (isRecord(n) ? list(n.interfaces).filter((x): x is string => typeof x === 'string') : []));
  const selinux = isRecord(r.selinux) ? str(r.selinux.mode) : null;
  const cloudInit = isRecord(r.cloud_init) && typeof r.cloud_init.installed === 'boolean' ? (r.cloud_init.installed ? 'installed' : 'not installed') : null;
  return [
    ...fact('type', 'Type', str(r.type)),
    ...fact('distro', 'Distro', str(r.distro)),
    ...fact('product_name', 'Product', str(r.product_name)),
    ...fact('version', 'Version', version),
    ...fact('arch', 'Architecture', str(r.arch)),
    ...fact('hostname', 'Hostname', str(r.hostname)),
    ...fact('osinfo', 'osinfo', str(r.osinfo)),
    ...fact('package_format', 'Packages', str(r.package_format)),
    ...fact('firmware', 'Firmware', fw),
    ...fact('bootloader', 'Boot loader', bl),
    ...fact('kernels', 'Kernels', kernels.join(', ') || null),
    ...fact('mountpoints', 'Mounts', mounts.join('; ') || null),
    ...fact('network', 'Network interfaces', [...new Set(nics)].join(', ') || null),
    ...fact('guest_tools', 'Hypervisor tools', tools.join('; ') || null),
    ...fact('selinux', 'SELinux', selinux),
    ...fact('cloud_init', 'cloud-init', cloudInit),
  ];
}

/**
 * An OS root in a few words, named as the worker names it (shared/os-name): the product name
 * when it is a name (Debian's is its bare version, "12.5"), else the distribution's name with
 * the major version ("Debian GNU/Linux 12"); then the architecture. Null when nothing names it.
 */
export function osName(r: Record<string, unknown>): string | null {
  const product = str(r.product_name);
  const distro = str(r.distro) ?? str(r.os);
  const type = str(r.type);
  if (!(product && /[a-z]/i.test(product) && product.toLowerCase() !== 'unknown') && !distro && !(type && type !== 'unknown')) return null;
  const major = typeof r.major_version === 'number' ? r.major_version : null;
  const name = osDisplayName({ type: type ?? 'unknown', distro, product_name: product, major_version: major });
  const arch = str(r.arch);
  return arch ? `${name}, ${arch}` : name;
}

function guestView(g: unknown): GuestView | null {
  if (!isRecord(g)) return null;
  if (!('roots' in g) && !('status' in g)) {
    // A flat record of facts (early reports).
    return { status: null, reason: null, sections: [{ title: 'Operating system', facts: factsOf(g, FLAT_GUEST_ORDER, new Set()) }], systems: [osName(g)].filter((x): x is string => x !== null), notes: [] };
  }
  const roots = list(g.roots).filter(isRecord);
  const sections = roots.map((r, i) => ({
    title: roots.length > 1 ? `Operating system ${i + 1}${str(r.root) ? ` (${String(r.root)})` : ''}` : `Operating system${str(r.root) ? ` (root ${String(r.root)})` : ''}`,
    facts: rootFacts(r),
  }));
  const appliance = isRecord(g.appliance) ? g.appliance : null;
  const applianceFacts = appliance
    ? [
        ...fact('accelerator', 'Appliance', `${String(appliance.accelerator ?? '?').toUpperCase()}${str(appliance.backend) ? `, backend ${String(appliance.backend)}` : ''}`),
        ...fact('start_seconds', 'Appliance start', typeof appliance.start_seconds === 'number' ? formatDuration(appliance.start_seconds) : null),
      ]
    : [];
  const filesystems = list(g.filesystems)
    .map((f) => (isRecord(f) && str(f.device) ? `${String(f.device)}${str(f.type) ? ` ${String(f.type)}` : ''}${str(f.label) ? ` "${String(f.label)}"` : ''}` : null))
    .filter((f): f is string => f !== null);
  const storage = [...fact('filesystems', 'File systems', filesystems.join('; ') || null), ...fact('multiboot', 'Several OSes', g.multiboot === true ? 'yes' : null), ...applianceFacts];
  if (storage.length) sections.push({ title: 'Storage and appliance', facts: storage });
  return {
    status: str(g.status),
    reason: str(g.reason),
    sections,
    systems: roots.map(osName).filter((x): x is string => x !== null),
    notes: list(g.notes).filter((n): n is string => typeof n === 'string'),
  };
}

function destinationFacts(d: unknown): Fact[] | null {
  if (!isRecord(d)) return null;
  const enough = d.enough === true ? 'yes' : d.enough === false ? 'NO' : null;
  return [
    ...fact('path', 'Folder', str(d.path)),
    ...fact('free_bytes', 'Free', typeof d.free_bytes === 'number' ? formatBytes(d.free_bytes) : null),
    ...fact('required_bytes', 'Needed (qcow2)', typeof d.required_bytes === 'number' ? formatBytes(d.required_bytes) : null),
    ...fact('enough', 'Enough space', enough),
  ];
}

/** The report of an inspect job's result payload, or null when the payload is not a report. */
export function readReport(payload: unknown): ReportView | null {
  if (!isRecord(payload)) return null;
  if (!Array.isArray(payload.disks) && !Array.isArray(payload.findings)) return null;
  const disks = list(payload.disks).filter(isRecord).map(diskView);
  const findings: Finding[] = [];
  let unreadable = 0;
  for (const f of list(payload.findings)) {
    const r = Finding.safeParse(f);
    if (r.success) findings.push(r.data);
    else unreadable++;
  }
  return { disks, guest: guestView(payload.guest), destination: destinationFacts(payload.destination), findings, unreadable };
}

/** Findings by severity, blockers first. */
export function groupFindings(findings: readonly Finding[]): { severity: Severity; findings: Finding[] }[] {
  return SEVERITIES.map((severity) => ({ severity, findings: findings.filter((f) => f.severity === severity) })).filter((g) => g.findings.length > 0);
}

export type SeverityCounts = Record<Severity, number>;

/**
 * Findings by severity from an inspect job's result payload, for its card; null when the
 * payload holds no findings list. Counted by each finding's `severity` alone, so a finding
 * the app cannot fully read still counts.
 */
export function findingCounts(payload: unknown): SeverityCounts | null {
  if (!isRecord(payload) || !Array.isArray(payload.findings)) return null;
  const counts: SeverityCounts = { blocker: 0, warning: 0, info: 0 };
  for (const f of payload.findings) {
    const sev = isRecord(f) ? f.severity : null;
    if (sev === 'blocker' || sev === 'warning' || sev === 'info') counts[sev]++;
  }
  return counts;
}

/** A count of findings of one severity in words: "1 blocker", "2 warnings", "3 info". */
export function severityCount(severity: Severity, n: number): string {
  const words: Record<Severity, [string, string]> = { blocker: ['blocker', 'blockers'], warning: ['warning', 'warnings'], info: ['info', 'info'] };
  return `${n} ${words[severity][n === 1 ? 0 : 1]}`;
}

/** Counts by severity in a line: "1 blocker · 2 warnings · 0 info". */
export function countsText(counts: SeverityCounts): string {
  return SEVERITIES.map((s) => severityCount(s, counts[s])).join(' · ');
}

/** The top of a report: counts by severity, the guest's OS, and what it means for the move to KVM. */
export interface ReportSummary {
  counts: SeverityCounts;
  /** The OSes found, or why there is none to show. */
  os: string;
  verdict: { tone: 'bad' | 'warn' | 'ok'; text: string };
  /** What the verdict does not cover (guest not inspected, findings not readable). */
  caveats: string[];
}

const plural = (n: number, one: string, many = `${one}s`) => `${n} ${n === 1 ? one : many}`;

export function reportSummary(r: ReportView): ReportSummary {
  const counts: SeverityCounts = { blocker: 0, warning: 0, info: 0 };
  for (const f of r.findings) counts[f.severity]++;
  const g = r.guest;
  const inspected = g !== null && (g.status === null || g.status === 'inspected');
  const os = g?.systems.length ? g.systems.join('; ') : !g ? 'not in the report' : !inspected ? `not inspected (${g.status ?? 'unknown'})` : 'no operating system found';
  const unusable = r.disks.filter((d) => d.error !== null).length;
  const verdict: ReportSummary['verdict'] = unusable
    ? { tone: 'bad', text: `${plural(unusable, 'disk')} cannot be read: fix ${unusable === 1 ? 'it' : 'them'} before converting.` }
    : counts.blocker
      ? { tone: 'bad', text: `Not ready for KVM: ${plural(counts.blocker, 'blocker')} to fix on the converted copy before it boots.` }
      : counts.warning
        ? { tone: 'warn', text: `Can be converted; check ${counts.warning === 1 ? 'the warning' : `the ${counts.warning} warnings`} first.` }
        : { tone: 'ok', text: 'Nothing found that would stop it from running on KVM.' };
  const caveats: string[] = [];
  if (g && !inspected) caveats.push(`The guest was not inspected${g.reason ? ` (${g.reason.replace(/\.$/, '')})` : ''}, so problems inside it are not covered.`);
  if (r.unreadable) caveats.push(`${plural(r.unreadable, 'finding')} could not be read by this version of the app.`);
  return { counts, os, verdict, caveats };
}
