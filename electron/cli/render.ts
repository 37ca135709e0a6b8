/**
 * Human output of the CLI: pure functions from protocol objects to text.
 */
import type { JobDetail, JobSummary, WorkerEvent } from '../../shared/protocol';
import { formatBytes, formatDuration, formatProgress, formatRate } from '../../shared/format';
import { formatError } from '../../shared/errors';

const time = (iso: string) => iso.replace('T', ' ').replace(/\.\d+Z$/, 'Z');

function table(rows: string[][], indent = '  '): string {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), []);
  return rows.map((r) => indent + r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ')).join('\n');
}

/** `h2k-worker status` without --json. */
export function renderDetail(d: JobDetail): string {
  const s = d.summary;
  const out: string[] = [];
  out.push(`Job ${s.id}  ${s.operation}  ${s.state}${s.attempt ? `  (attempt ${s.attempt})` : ''}${s.cancel_requested && !d.terminal ? '  cancel requested' : ''}`);
  out.push(`  ${s.title}`);
  out.push(`  created ${time(s.created_at)}, priority ${s.priority}${Object.keys(s.labels).length ? `, labels ${Object.entries(s.labels).map(([k, v]) => `${k}=${v}`).join(' ')}` : ''}`);
  if (s.not_before) out.push(`  retries at ${time(s.not_before)}`);
  out.push('', 'History');
  out.push(
    table(
      d.spans.map((span, i) => [
        span.state,
        time(span.entered_at),
        d.terminal && i === d.spans.length - 1 ? '' : formatDuration(span.seconds),
        d.transitions[i]?.reason ?? '',
      ]),
    ),
  );
  const per = Object.entries(d.seconds_by_state).filter(([st]) => !['COMPLETED', 'FAILED', 'CANCELLED'].includes(st));
  if (per.length) out.push(`  time per state: ${per.map(([st, sec]) => `${st} ${formatDuration(sec)}`).join(', ')}`);
  if (s.last_progress) out.push('', `Last progress  ${formatProgress(s.last_progress)}`);
  if (d.result) {
    const r = d.result;
    out.push('', `Result  ${r.outcome}${r.metrics.run_s !== null ? ` after ${formatDuration(r.metrics.run_s)} running` : ''}, ${formatDuration(r.metrics.total_s)} in all`);
    if (r.metrics.throughput_bps) out.push(`  throughput ${formatRate(r.metrics.throughput_bps)} (${formatBytes(r.metrics.bytes_processed)} processed)`);
    for (const a of r.artifacts) {
      out.push(`  ${a.path}  ${a.format ?? ''}  ${formatBytes(a.size_bytes)}${a.virtual_size ? ` (virtual ${formatBytes(a.virtual_size)})` : ''}${a.sha256 ? `  sha256 ${a.sha256}` : ''}`);
      if (a.verification && a.verification.method !== 'none') out.push(`    verified by ${a.verification.method}: ${a.verification.ok ? 'identical' : 'MISMATCH'}${a.verification.detail ? ` (${a.verification.detail})` : ''}`);
    }
  }
  const err = d.result?.error ?? s.error;
  if (err && s.state !== 'COMPLETED') out.push('', (s.state === 'RETRY_WAIT' ? 'Last error  ' : 'Error  ') + formatError(err));
  return out.join('\n');
}

/** `h2k-worker list` without --json. */
export function renderList(jobs: JobSummary[], total: number): string {
  if (jobs.length === 0) return 'No jobs.';
  const rows = [['ID', 'OPERATION', 'STATE', 'PROGRESS', 'CREATED', 'WHAT']];
  for (const j of jobs) {
    rows.push([j.id, j.operation, j.state, j.last_progress && !['COMPLETED'].includes(j.state) ? `${Math.round(j.last_progress.percent)}%` : '', time(j.created_at), j.title]);
  }
  return table(rows, '') + (total > jobs.length ? `\n(${jobs.length} of ${total} shown; --limit for more)` : '');
}

/** One line per event for `--wait` on a terminal that is not interactive. */
export function renderEvent(e: WorkerEvent): string {
  switch (e.type) {
    case 'state':
      return `${time(e.at)}  ${e.from ?? '—'} → ${e.to}  ${e.reason}`;
    case 'progress':
      return `${time(e.at)}  ${formatProgress(e)}${e.message ? `  ${e.message}` : ''}`;
    case 'log':
      return `${time(e.at)}  [${e.level}]${e.source ? ` ${e.source}:` : ''} ${e.message}`;
  }
}
