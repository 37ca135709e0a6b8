/**
 * Pure rules for showing jobs: which are active or waiting, in what order, how long they have
 * run, and how a stream of events updates a job as the list last saw it.
 */
import {
  WAITING_STATES,
  isActive as isActiveState,
  isTerminal as isTerminalState,
  type JobDetail,
  type JobState,
  type JobSummary,
  type LogEvent,
  type WorkerEvent,
} from '../../shared/protocol';

const LOG_TAIL = 50;

/** The protocol's own state tests (shared/protocol), under the names the views use. */
export { isActiveState, isTerminalState };
const isWaitingState = (s: JobState): boolean => WAITING_STATES.includes(s);

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

/**
 * How long a job ran, in seconds, for its card. A running job counts from its latest RUNNING;
 * a finished one is measured from what is stored, so the figure survives a reload: the
 * result's run time, else its transitions (latest RUNNING to the end), else the RUNNING time
 * seen live, else the summary's own timestamps (created to last update). Null when unknown.
 */
export function jobElapsed(input: {
  job: Pick<JobSummary, 'state' | 'created_at' | 'updated_at'>;
  runningSince?: string | null | undefined;
  detail?: Pick<JobDetail, 'transitions' | 'result'> | null | undefined;
  now: number;
}): number | null {
  const { job, detail, now } = input;
  if (!isTerminalState(job.state)) return elapsedSeconds(input.runningSince, now);
  const end = Date.parse(job.updated_at);
  const runS = detail?.result?.metrics.run_s;
  if (typeof runS === 'number') return runS;
  if (detail) {
    const ran = detail.transitions.findLast((t) => t.to === 'RUNNING');
    const ended = detail.transitions.findLast((t) => isTerminalState(t.to));
    if (ran) return elapsedSeconds(ran.at, ended ? Date.parse(ended.at) : end);
  }
  if (input.runningSince) return elapsedSeconds(input.runningSince, end);
  return elapsedSeconds(job.created_at, end);
}

/** How a finished job ended, for people: a cancel the user asked for is no error. */
export interface JobEnding {
  tone: 'ok' | 'neutral' | 'error';
  /** Short words for the ending. */
  text: string;
  /** What it means or what to do next, when known. */
  hint: string | null;
}

/** The ending of a terminal job; null while it has not ended. */
export function jobEnding(job: Pick<JobSummary, 'state' | 'error' | 'cancel_requested'>): JobEnding | null {
  switch (job.state) {
    case 'COMPLETED':
      return { tone: 'ok', text: 'Completed', hint: null };
    case 'CANCELLED': {
      // A cancel is the technician's own choice; the stored ErrorInfo (code `cancelled`) only
      // carries its hint. Any other code on a CANCELLED job still reads as a cancel.
      const onRequest = job.cancel_requested || !job.error || job.error.code === 'cancelled';
      return { tone: 'neutral', text: onRequest ? 'Cancelled on request' : `Cancelled: ${job.error!.message}`, hint: job.error?.hint ?? null };
    }
    case 'FAILED':
      return { tone: 'error', text: job.error?.message ?? 'Failed', hint: job.error?.hint ?? null };
    default:
      return null;
  }
}
