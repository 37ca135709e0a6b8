/**
 * The job state machine's pure core: checking a move against the transition table, and deriving
 * per-state durations, attempt numbers and terminal detection from the stored audit trail.
 */
import { canTransition, isTerminal, type JobState, type StateSpan, type Transition } from './protocol/job-state';
import { WorkerError } from './errors';

/** Throws WorkerError `invalid_transition` naming both states when the move is not allowed. */
export function assertTransition(from: JobState | null, to: JobState): void {
  if (from === null) {
    if (to === 'CREATED') return;
    throw new WorkerError('invalid_transition', { detail: `a job starts in CREATED, not ${to}` });
  }
  if (!canTransition(from, to)) {
    throw new WorkerError('invalid_transition', { detail: `${from} → ${to} is not an allowed transition` });
  }
}

/** Each visit of a state with its duration in seconds; the open one is measured up to `now`. */
export function spansOf(transitions: readonly Transition[], now: Date = new Date()): StateSpan[] {
  return transitions.map((t, i) => {
    const next = transitions[i + 1];
    const entered = Date.parse(t.at);
    const left = next ? Date.parse(next.at) : isTerminal(t.to) ? entered : now.getTime();
    return {
      state: t.to,
      entered_at: t.at,
      left_at: next ? next.at : isTerminal(t.to) ? t.at : null,
      seconds: Math.max(0, (left - entered) / 1000),
      attempt: t.attempt,
    };
  });
}

/** Total seconds spent in each state over the job's life. */
export function secondsByState(spans: readonly StateSpan[]): Partial<Record<JobState, number>> {
  const out: Partial<Record<JobState, number>> = {};
  for (const s of spans) out[s.state] = (out[s.state] ?? 0) + s.seconds;
  return out;
}

/** Attempts started: the number of times the job entered RUNNING. */
export function attemptsOf(transitions: readonly Transition[]): number {
  return transitions.filter((t) => t.to === 'RUNNING').length;
}

export function currentState(transitions: readonly Transition[]): JobState | null {
  return transitions.at(-1)?.to ?? null;
}

export function isFinished(transitions: readonly Transition[]): boolean {
  const s = currentState(transitions);
  return s !== null && isTerminal(s);
}

/**
 * Seconds to wait before retry number `retryIndex` (1 for the first retry), per the retry
 * policy: fixed uses the initial delay each time, exponential doubles it, both capped.
 */
export function backoffSeconds(
  policy: { backoff: 'fixed' | 'exponential'; initial_delay_s: number; max_delay_s: number },
  retryIndex: number,
): number {
  const raw = policy.backoff === 'fixed' ? policy.initial_delay_s : policy.initial_delay_s * 2 ** Math.max(0, retryIndex - 1);
  return Math.min(raw, policy.max_delay_s);
}
