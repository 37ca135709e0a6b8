/**
 * Formatting for the views: the shared formatters (the CLI says the same), plus a few the
 * views alone need.
 */
export { formatBytes, formatDuration, formatPercent, formatRate, formatProgress } from '../../shared/format';

/** ISO time → "2026-11-29 14:03:12" in the local time zone. */
export function formatTime(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** `product_name` → "Product name"; `virtual_size` → "Virtual size". */
export function humanize(key: string): string {
  const s = key.replace(/[_-]+/g, ' ').trim();
  return s ? s[0]!.toUpperCase() + s.slice(1) : key;
}

/** Operation names for people. */
const OPERATION_LABELS: Record<string, string> = {
  inspect: 'Inspect',
  convert: 'Convert',
  offline_fix: 'Offline fix',
  boot_repair: 'Boot repair',
  selinux_prep: 'SELinux preparation',
  lvm_repair: 'LVM repair',
  fs_repair: 'File system repair',
  initramfs_regen: 'Initramfs regeneration',
};

export function operationLabel(op: string): string {
  return OPERATION_LABELS[op] ?? humanize(op);
}

/** State names for people. */
export function stateLabel(state: string): string {
  return state === 'RETRY_WAIT' ? 'Waiting to retry' : state[0] + state.slice(1).toLowerCase();
}
