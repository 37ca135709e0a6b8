/**
 * Job states and the allowed transitions between them, as data.
 *
 * PROGRESSING is entered once, on a job's first progress event; later progress events are
 * events, not transitions, so the audit trail stays short and readable.
 * RETRY_WAIT is the tenth state: a failed or interrupted attempt whose retry policy allows
 * another waits there until its backoff has passed, then goes back to QUEUED.
 */
import { z } from 'zod';

export const JobState = z.enum([
  'CREATED',
  'VALIDATED',
  'QUEUED',
  'ASSIGNED',
  'RUNNING',
  'PROGRESSING',
  'COMPLETED',
  'FAILED',
  'CANCELLED',
  'RETRY_WAIT',
]);
export type JobState = z.infer<typeof JobState>;

/** For each state, the states it may move to. Any other move is refused. */
export const TRANSITIONS: Readonly<Record<JobState, readonly JobState[]>> = {
  CREATED: ['VALIDATED', 'FAILED', 'CANCELLED'],
  VALIDATED: ['QUEUED', 'FAILED', 'CANCELLED'],
  QUEUED: ['ASSIGNED', 'FAILED', 'CANCELLED'],
  ASSIGNED: ['RUNNING', 'FAILED', 'CANCELLED', 'RETRY_WAIT'],
  RUNNING: ['PROGRESSING', 'COMPLETED', 'FAILED', 'CANCELLED', 'RETRY_WAIT'],
  PROGRESSING: ['COMPLETED', 'FAILED', 'CANCELLED', 'RETRY_WAIT'],
  RETRY_WAIT: ['QUEUED', 'FAILED', 'CANCELLED'],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

/** States a job never leaves. */
export const TERMINAL_STATES: readonly JobState[] = ['COMPLETED', 'FAILED', 'CANCELLED'];

/** States in which a runner owns the job (and may have tools running for it). */
export const ACTIVE_STATES: readonly JobState[] = ['ASSIGNED', 'RUNNING', 'PROGRESSING'];

/** States from which a cancel takes effect at once, with no runner involved. */
export const WAITING_STATES: readonly JobState[] = ['CREATED', 'VALIDATED', 'QUEUED', 'RETRY_WAIT'];

export function isTerminal(state: JobState): boolean {
  return TERMINAL_STATES.includes(state);
}

export function isActive(state: JobState): boolean {
  return ACTIVE_STATES.includes(state);
}

export function canTransition(from: JobState, to: JobState): boolean {
  return TRANSITIONS[from].includes(to);
}

/** One stored transition: the audit trail is a list of these. `at` is an ISO 8601 time. */
export const Transition = z.object({
  seq: z.number().int().positive().describe('1-based order of this transition within the job'),
  from: JobState.nullable().describe('null for the first transition (into CREATED)'),
  to: JobState,
  at: z.iso.datetime(),
  reason: z.string(),
  attempt: z.number().int().nonnegative().describe('attempt number at the time of the transition'),
});
export type Transition = z.infer<typeof Transition>;

/** Time spent in one visit of a state, derived from the stored transitions. */
export const StateSpan = z.object({
  state: JobState,
  entered_at: z.iso.datetime(),
  left_at: z.iso.datetime().nullable().describe('null while the job is still in this state'),
  seconds: z.number().nonnegative().describe('seconds spent, up to now for the current state'),
  attempt: z.number().int().nonnegative(),
});
export type StateSpan = z.infer<typeof StateSpan>;
