/**
 * Formatting for people, shared by the CLI and the UI so both say the same thing.
 * Sizes use binary units (KiB, MiB, GiB) as qemu-img does.
 */

const UNITS = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];

/** 1536 → "1.5 KiB"; null → "—". */
export function formatBytes(bytes: number | null | undefined): string {
  if (bytes === null || bytes === undefined || !Number.isFinite(bytes)) return '—';
  let v = Math.abs(bytes);
  let u = 0;
  while (v >= 1024 && u < UNITS.length - 1) {
    v /= 1024;
    u++;
  }
  const s = u === 0 ? String(Math.round(v)) : v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2);
  return `${bytes < 0 ? '-' : ''}${s} ${UNITS[u]}`;
}

/** Bytes per second → "123 MiB/s". */
export function formatRate(bps: number | null | undefined): string {
  return bps === null || bps === undefined ? '—' : `${formatBytes(bps)}/s`;
}

/** Seconds → "0.4 s", "12 s", "3 min 05 s", "2 h 07 min". */
export function formatDuration(seconds: number | null | undefined): string {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '—';
  if (seconds < 10) return `${seconds.toFixed(1)} s`;
  if (seconds < 60) return `${Math.round(seconds)} s`;
  const s = Math.round(seconds);
  if (s < 3600) return `${Math.floor(s / 60)} min ${String(s % 60).padStart(2, '0')} s`;
  return `${Math.floor(s / 3600)} h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')} min`;
}

/** 42.123 → "42.1%". */
export function formatPercent(p: number | null | undefined): string {
  return p === null || p === undefined ? '—' : `${p >= 10 || p === 0 ? p.toFixed(0) : p.toFixed(1)}%`;
}

/** One progress line: "copy  42%  1.2 GiB of 4.0 GiB  310 MiB/s  ETA 9.2 s". */
export function formatProgress(p: {
  stage: string;
  percent: number;
  bytes_done: number | null;
  bytes_total: number | null;
  rate_bps: number | null;
  eta_s: number | null;
}): string {
  const parts = [p.stage, formatPercent(p.percent)];
  if (p.bytes_total !== null) parts.push(`${formatBytes(p.bytes_done ?? 0)} of ${formatBytes(p.bytes_total)}`);
  if (p.rate_bps !== null) parts.push(formatRate(p.rate_bps));
  if (p.eta_s !== null) parts.push(`ETA ${formatDuration(p.eta_s)}`);
  return parts.join('  ');
}
