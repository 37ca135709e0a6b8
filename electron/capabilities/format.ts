/**
 * The human report of `h2k-worker capabilities`: aligned sections with OK / MISSING per item,
 * versions and paths, the hint for everything missing, the appliance's accelerator and start
 * time, and sizes in binary units (KiB, MiB, GiB). Pure: a WorkerCapabilities in, text out.
 */
import type { ApplianceStatus, WorkerCapabilities } from '../../shared/protocol/capabilities';
import { CAPABILITY_LABELS } from './supports';

/** Bytes in binary units with one decimal: 1536 -> "1.5 KiB", 0 -> "0 B". Pure. */
export function humanBytes(bytes: number | null): string {
  if (bytes === null || !Number.isFinite(bytes)) return 'unknown';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let v = bytes;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${v} B` : `${v.toFixed(1)} ${units[i]}`;
}

/** Seconds for people: 0.4 -> "0.4 s", 83 -> "1 min 23 s". */
export function humanSeconds(s: number): string {
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const m = Math.floor(s / 60);
  return `${m} min ${Math.round(s - m * 60)} s`;
}

/** Rows of cells, each column padded to its widest cell; the last column is not padded. */
function table(rows: readonly (readonly string[])[], indent = '  '): string[] {
  const widths: number[] = [];
  for (const r of rows) r.forEach((c, i) => (widths[i] = Math.max(widths[i] ?? 0, c.length)));
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd());
}

const mark = (ok: boolean) => (ok ? 'OK' : 'MISSING');

/** Wrap a long hint after `width` characters, continuation lines indented by `indent`. */
function wrap(text: string, indent: string, width = 100): string {
  const words = text.split(/\s+/);
  const lines: string[] = [];
  let line = '';
  for (const w of words) {
    if (line && line.length + 1 + w.length > width) {
      lines.push(line);
      line = w;
    } else line = line ? `${line} ${w}` : w;
  }
  if (line) lines.push(line);
  return lines.join('\n' + indent);
}

function applianceLines(a: ApplianceStatus): string[] {
  const out: string[] = [];
  if (!a.probed) {
    out.push(`  NOT PROBED  ${a.hint ?? 'not probed yet'}`);
    return out;
  }
  if (a.usable) {
    out.push(`  OK       accelerator ${a.accelerator ?? '?'}, starts in ${a.start_seconds === null ? '?' : humanSeconds(a.start_seconds)}, backend ${a.backend ?? 'direct'}`);
  } else {
    out.push(`  MISSING  the appliance did not start (backend ${a.backend ?? 'direct'})`);
  }
  if (a.attempts.length) {
    out.push('  attempts:');
    out.push(
      ...table(
        a.attempts.map((t) => [t.accelerator, t.outcome, humanSeconds(t.seconds), (t.detail ?? '').split('\n').slice(-1)[0] ?? '']),
        '    ',
      ),
    );
  }
  if (a.hint) out.push(`  hint: ${wrap(a.hint, '        ')}`);
  return out;
}

const MODE_LABEL = { host: 'host', container: 'container (without privileges)', privileged_container: 'privileged container' } as const;

/**
 * The report as text for a terminal, e.g.
 * ```
 * Tools
 *   OK       qemu-img    7.2.22   /usr/bin/qemu-img
 *   MISSING  virt-v2v   -         install the virt-v2v package: apt-get install virt-v2v
 * ```
 * Pure.
 */
export function formatCapabilities(caps: WorkerCapabilities): string {
  const out: string[] = [];
  const h = caps.host;
  out.push(`Capabilities of ${h.hostname} — ${h.os}, kernel ${h.kernel}, ${h.arch}`);
  out.push(`Detected ${caps.detected_at}; slow probes ${caps.cache.hit ? 'from the cache' : 'run now'} (probed ${caps.cache.probed_at})`);
  out.push(`Cache: ${caps.cache.path}`);
  out.push(`Execution mode: ${MODE_LABEL[caps.execution_mode.mode]} (${caps.execution_mode.evidence.join('; ')})`);

  out.push('', 'Tools');
  out.push(
    ...table(
      caps.tools.map((t) => (t.available ? [mark(true), t.name, t.version ?? '(version unknown)', t.path ?? ''] : [mark(false), t.name, '-', t.hint ?? ''])),
    ),
  );
  const fmts = caps.qemu_img_formats;
  out.push(`  ${wrap(`qemu-img formats (${fmts.length}): ${fmts.length ? fmts.join(' ') : 'none found'}`, '    ', 98)}`);

  out.push('', 'libguestfs appliance', ...applianceLines(caps.appliance));

  out.push('', 'KVM');
  const k = caps.kvm;
  const kvmText = !k.device_present ? '/dev/kvm absent' : k.device_accessible ? '/dev/kvm present, opens read-write' : '/dev/kvm present but cannot be opened';
  out.push(`  ${mark(k.device_accessible).padEnd(7)}  ${kvmText}`);
  if (k.hint) out.push(`  hint: ${wrap(k.hint, '        ')}`);

  out.push('', 'NBD');
  const n = caps.nbd;
  out.push(`  ${mark(n.module_loaded && n.devices > 0).padEnd(7)}  module ${n.module_loaded ? 'loaded' : 'not loaded'}, ${n.devices} /dev/nbdN device(s)`);
  if (n.hint) out.push(`  hint: ${wrap(n.hint, '        ')}`);

  const p = caps.privileges;
  const yn = (b: boolean) => (b ? 'yes' : 'no');
  out.push('', 'Privileges');
  out.push(
    ...table([
      ['user', `uid ${p.uid}${p.root ? ' (root)' : ''}`],
      ['passwordless sudo', yn(p.passwordless_sudo)],
      ['pkexec', yn(p.pkexec)],
      ['CAP_SYS_ADMIN', yn(p.cap_sys_admin)],
      ['SELinux', `${caps.selinux.state} (${caps.selinux.detail})`],
    ]),
  );

  const r = caps.resources;
  const space = (s: typeof r.data_dir) => `${humanBytes(s.free_bytes)} free of ${humanBytes(s.total_bytes)}`;
  out.push('', 'Resources');
  out.push(
    ...table([
      ['CPUs', String(r.cpus)],
      ['memory', `${humanBytes(r.memory_available_bytes)} available of ${humanBytes(r.memory_total_bytes)}`],
      ['data folder', space(r.data_dir), `at ${r.data_dir.path}`],
      ['scratch folder', space(r.scratch_dir), `at ${r.scratch_dir.path}`],
    ]),
  );

  out.push('', 'Capabilities (for job requirements)');
  out.push(...table(caps.capabilities.map((c) => [mark(c.available), c.key, CAPABILITY_LABELS[c.key], c.detail])));
  // Hints already printed in their own section above are not repeated.
  const shown = new Set([caps.kvm.hint, caps.nbd.hint, caps.appliance.hint]);
  const missing = caps.capabilities.filter((c) => !c.available && c.hint);
  if (missing.length) {
    out.push('  to get what is missing:');
    for (const c of missing) out.push(`    ${c.key}: ${shown.has(c.hint) ? 'see above' : wrap(c.hint ?? '', '      ')}`);
  }

  out.push('', 'Operations');
  out.push(
    ...table(
      caps.operations.map((o) => [
        o.runnable ? 'RUNNABLE' : o.implemented ? 'BLOCKED' : 'LATER',
        o.operation,
        o.runnable ? '' : o.implemented ? o.reasons.join('; ') : 'not in this version',
      ]),
    ),
  );
  return out.join('\n') + '\n';
}
