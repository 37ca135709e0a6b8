/**
 * Pure rules for showing jobs: which are active or waiting, in what order, how long they have
 * run, and how a stream of events updates a job as the list last saw it.
 */
import {
  ACTIVE_STATES,
  TERMINAL_STATES,
  WAITING_STATES,
  type JobState,
  type JobSummary,
  type LogEvent,
  type WorkerEvent,
} from '../../shared/protocol';

export const LOG_TAIL = 50;

export const isActiveState = (s: JobState): boolean => ACTIVE_STATES.includes(s);
export const isWaitingState = (s: JobState): boolean => WAITING_STATES.includes(s);
export const isTerminalState = (s: JobState): boolean => TERMINAL_STATES.includes(s);

/** Progress view order: running jobs first (oldest first), then waiting ones by priority, then age. */
export function progressOrder(a: JobSummary, b: JobSummary): number {
  const rank = (j: JobSummary) => (isActiveState(j.state) ? 0 : isWaitingState(j.state) ? 1 : 2);
  return rank(a) - rank(b) || (rank(a) === 1 ? b.priority - a.priority : 0) || a.created_at.localeCompare(b.created_at) || a.id.localeCompare(b.id);
}

/** Seconds from `since` to `now` (never negative); null without a start. */
export function elapsedSeconds(since: string | null | undefined, now: number): number | null {
  if (!since) return null;
  const t = Date.parse(since);
  return Number.isNaN(t) ? null : Math.max(0, (now - t) / 1000);
}

/**
 * A job summary after an event. State events apply when not older than what the summary
 * already reflects (a snapshot may be newer than buffered events), and never move a job out
 * of a terminal state; progress applies when newer than the last progress seen.
 */
export function applyEvent(job: JobSummary, e: WorkerEvent): JobSummary {
  if (e.type === 'state') {
    if (isTerminalState(job.state) && job.state !== e.to) return job;
    if (e.at < job.updated_at) return job;
    const error = isTerminalState(e.to) && e.to === 'COMPLETED' ? null : job.error;
    return { ...job, state: e.to, updated_at: e.at, attempt: e.attempt, error };
  }
  if (e.type === 'progress') {
    if (job.last_progress && job.last_progress.seq >= e.seq) return job;
    return { ...job, last_progress: e };
  }
  return job;
}

/** A log tail with new log events appended (no duplicates, oldest dropped past `max`). */
export function appendLogs(tail: readonly LogEvent[], events: readonly LogEvent[], max = LOG_TAIL): LogEvent[] {
  const lastSeq = tail.at(-1)?.seq ?? 0;
  const fresh = events.filter((e) => e.seq > lastSeq);
  if (fresh.length === 0) return tail as LogEvent[];
  return [...tail, ...fresh].slice(-max);
}

/** When the job's current run started: the at of its latest RUNNING state event, if seen. */
export function runningSince(events: readonly WorkerEvent[]): string | null {
  for (let i = events.length - 1; i >= 0; i--) {
    const e = events[i]!;
    if (e.type === 'state' && e.to === 'RUNNING') return e.at;
  }
  return null;
}
