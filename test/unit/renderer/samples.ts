/** Protocol objects for the renderer's tests, valid against the shared schemas. */
import { JobSummary, type LogEvent, type ProgressEvent, type StateEvent } from '../../../shared/protocol';

export function summary(over: Partial<JobSummary> = {}): JobSummary {
  return JobSummary.parse({
    id: 'job-1',
    operation: 'convert',
    state: 'QUEUED',
    priority: 50,
    labels: {},
    title: 'a.vmdk → a.qcow2',
    created_at: '2026-11-29T10:00:00.000Z',
    updated_at: '2026-11-29T10:00:01.000Z',
    attempt: 0,
    cancel_requested: false,
    not_before: null,
    last_progress: null,
    error: null,
    ...over,
  });
}

export function stateEvent(job: string, seq: number, from: StateEvent['from'], to: StateEvent['to'], at: string): StateEvent {
  return { type: 'state', job_id: job, seq, at, from, to, reason: `${from} to ${to}`, attempt: to === 'RUNNING' ? 1 : 0 };
}

export function progressEvent(job: string, seq: number, percent: number, at = '2026-11-29T10:00:05.000Z'): ProgressEvent {
  return { type: 'progress', job_id: job, seq, at, stage: 'copy', percent, bytes_done: percent * 1024, bytes_total: 100 * 1024, rate_bps: 2048, eta_s: (100 - percent) / 2 };
}

export function logEvent(job: string, seq: number, message: string): LogEvent {
  return { type: 'log', job_id: job, seq, at: '2026-11-29T10:00:05.000Z', level: 'info', message };
}
