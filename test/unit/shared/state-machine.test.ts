import { describe, expect, it } from 'vitest';
import { JobState, TRANSITIONS, canTransition, isTerminal, type Transition } from '../../../shared/protocol';
import { assertTransition, attemptsOf, backoffSeconds, secondsByState, spansOf } from '../../../shared/state-machine';
import { WorkerError } from '../../../shared/errors';

const ALL = JobState.options;

describe('transition table', () => {
  it('has ten states, RETRY_WAIT among them', () => {
    expect(ALL).toHaveLength(10);
    expect(ALL).toContain('RETRY_WAIT');
  });

  const allowed: [JobState, JobState][] = [];
  const refused: [JobState, JobState][] = [];
  for (const from of ALL) for (const to of ALL) (TRANSITIONS[from].includes(to) ? allowed : refused).push([from, to]);

  it.each(allowed)('allows %s → %s', (from, to) => {
    expect(canTransition(from, to)).toBe(true);
    expect(() => assertTransition(from, to)).not.toThrow();
  });

  it.each(refused)('refuses %s → %s with an error naming both states', (from, to) => {
    expect(canTransition(from, to)).toBe(false);
    try {
      assertTransition(from, to);
      expect.unreachable('should have thrown');
    } catch (err) {
      expect(err).toBeInstanceOf(WorkerError);
      expect((err as WorkerError).code).toBe('invalid_transition');
      expect((err as WorkerError).info.detail).toBe(`${from} → ${to} is not an allowed transition`);
    }
  });

  it('counts the table: 25 allowed moves, 75 refused', () => {
    expect(allowed).toHaveLength(25);
    expect(refused).toHaveLength(75);
  });

  it('terminal states have no way out, and only they', () => {
    for (const s of ALL) expect(TRANSITIONS[s].length === 0).toBe(isTerminal(s));
    expect(ALL.filter(isTerminal)).toEqual(['COMPLETED', 'FAILED', 'CANCELLED']);
  });

  it('a job starts in CREATED only', () => {
    expect(() => assertTransition(null, 'CREATED')).not.toThrow();
    expect(() => assertTransition(null, 'QUEUED')).toThrow(/starts in CREATED, not QUEUED/);
  });

  it('RETRY_WAIT is reachable from the running states and leads back to QUEUED', () => {
    expect(ALL.filter((s) => TRANSITIONS[s].includes('RETRY_WAIT'))).toEqual(['ASSIGNED', 'RUNNING', 'PROGRESSING']);
    expect(TRANSITIONS.RETRY_WAIT).toEqual(['QUEUED', 'FAILED', 'CANCELLED']);
  });
});

describe('derived from the stored history', () => {
  const t = (seq: number, from: JobState | null, to: JobState, at: string, attempt: number): Transition => ({ seq, from, to, at, reason: 'r', attempt });
  const history: Transition[] = [
    t(1, null, 'CREATED', '2026-11-29T10:00:00.000Z', 0),
    t(2, 'CREATED', 'VALIDATED', '2026-11-29T10:00:00.500Z', 0),
    t(3, 'VALIDATED', 'QUEUED', '2026-11-29T10:00:01.000Z', 0),
    t(4, 'QUEUED', 'ASSIGNED', '2026-11-29T10:00:04.000Z', 0),
    t(5, 'ASSIGNED', 'RUNNING', '2026-11-29T10:00:04.250Z', 1),
    t(6, 'RUNNING', 'RETRY_WAIT', '2026-11-29T10:00:10.000Z', 1),
    t(7, 'RETRY_WAIT', 'QUEUED', '2026-11-29T10:00:20.000Z', 1),
    t(8, 'QUEUED', 'ASSIGNED', '2026-11-29T10:00:21.000Z', 1),
    t(9, 'ASSIGNED', 'RUNNING', '2026-11-29T10:00:21.000Z', 2),
    t(10, 'RUNNING', 'PROGRESSING', '2026-11-29T10:00:22.000Z', 2),
    t(11, 'PROGRESSING', 'COMPLETED', '2026-11-29T10:01:22.000Z', 2),
  ];

  it('gives each visit its duration and sums them per state', () => {
    const spans = spansOf(history);
    expect(spans.map((s) => s.seconds)).toEqual([0.5, 0.5, 3, 0.25, 5.75, 10, 1, 0, 1, 60, 0]);
    expect(secondsByState(spans)).toEqual({ CREATED: 0.5, VALIDATED: 0.5, QUEUED: 4, ASSIGNED: 0.25, RUNNING: 6.75, RETRY_WAIT: 10, PROGRESSING: 60, COMPLETED: 0 });
    expect(spans.at(-1)?.left_at).toBe('2026-11-29T10:01:22.000Z');
  });

  it('counts attempts as entries into RUNNING', () => {
    expect(attemptsOf(history)).toBe(2);
  });

  it('measures the open state up to now', () => {
    const open = history.slice(0, 3);
    const spans = spansOf(open, new Date('2026-11-29T10:00:03.000Z'));
    expect(spans.at(-1)).toMatchObject({ state: 'QUEUED', left_at: null, seconds: 2 });
  });

  it('backs off fixed or exponentially, capped', () => {
    const p = { backoff: 'exponential' as const, initial_delay_s: 10, max_delay_s: 60 };
    expect([1, 2, 3, 4].map((i) => backoffSeconds(p, i))).toEqual([10, 20, 40, 60]);
    expect([1, 2, 3].map((i) => backoffSeconds({ ...p, backoff: 'fixed' }, i))).toEqual([10, 10, 10]);
  });
});
