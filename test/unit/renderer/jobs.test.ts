import { describe, expect, it } from 'vitest';
import type { JobDetail } from '../../../shared/protocol';
import { ERROR_CATALOGUE, errorInfo } from '../../../shared/errors';
import { jobElapsed, jobEnding } from '../../../renderer/lib/jobs';
import { summary } from './samples';

const t = (s: number) => `2026-11-29T10:00:${String(s).padStart(2, '0')}.000Z`;
const now = Date.parse(t(50));

function detail(over: { run_s?: number | null; transitions?: JobDetail['transitions'] }): Pick<JobDetail, 'transitions' | 'result'> {
  return {
    transitions: over.transitions ?? [],
    result:
      over.run_s === undefined
        ? null
        : {
            protocol: 'hyper2kvm.worker/v1',
            job_id: 'a',
            operation: 'convert',
            outcome: 'completed',
            finished_at: t(30),
            artifacts: [],
            metrics: { queued_s: 1, run_s: over.run_s, total_s: 30, attempts: 1, bytes_processed: null, throughput_bps: null, stages: {} },
            error: null,
            payload: null,
          },
  };
}

describe('jobElapsed: a card’s elapsed time, live or from what is stored', () => {
  const done = summary({ id: 'a', state: 'COMPLETED', created_at: t(0), updated_at: t(30) });

  it('counts a running job from its latest RUNNING', () => {
    expect(jobElapsed({ job: summary({ state: 'PROGRESSING' }), runningSince: t(20), now })).toBe(30);
    expect(jobElapsed({ job: summary({ state: 'QUEUED' }), runningSince: null, now })).toBeNull();
  });

  it('takes a finished job’s run time from its result, else its transitions, else what was seen, else the summary', () => {
    expect(jobElapsed({ job: done, detail: detail({ run_s: 12.5 }), runningSince: t(1), now })).toBe(12.5);
    const transitions: JobDetail['transitions'] = [
      { seq: 1, from: null, to: 'CREATED', at: t(0), reason: 'submitted', attempt: 0 },
      { seq: 5, from: 'ASSIGNED', to: 'RUNNING', at: t(4), reason: 'started', attempt: 1 },
      { seq: 9, from: 'PROGRESSING', to: 'COMPLETED', at: t(24), reason: 'done', attempt: 1 },
    ];
    expect(jobElapsed({ job: done, detail: detail({ run_s: null, transitions }), now })).toBe(20);
    // After a reload, nothing live is known: the stored detail still gives the same figure.
    expect(jobElapsed({ job: done, detail: detail({ transitions }), runningSince: undefined, now })).toBe(20);
    expect(jobElapsed({ job: done, runningSince: t(10), now })).toBe(20);
    expect(jobElapsed({ job: done, now })).toBe(30);
  });
});

describe('jobEnding: how a finished job reads', () => {
  it('is null while the job has not ended, ok when completed', () => {
    expect(jobEnding(summary({ state: 'PROGRESSING' }))).toBeNull();
    expect(jobEnding(summary({ state: 'COMPLETED' }))).toEqual({ tone: 'ok', text: 'Completed', hint: null });
  });

  it('reads a cancel as neutral, with the hint; a failure as an error', () => {
    const cancelled = summary({ state: 'CANCELLED', cancel_requested: true, error: errorInfo('cancelled') });
    expect(jobEnding(cancelled)).toEqual({ tone: 'neutral', text: 'Cancelled on request', hint: ERROR_CATALOGUE.cancelled.hint });
    expect(jobEnding(summary({ state: 'CANCELLED' }))).toEqual({ tone: 'neutral', text: 'Cancelled on request', hint: null });
    const byShutdown = summary({ state: 'CANCELLED', error: errorInfo('interrupted', { message: 'The runner stopped.', hint: 'Re-run it.' }) });
    expect(jobEnding(byShutdown)).toEqual({ tone: 'neutral', text: 'Cancelled: The runner stopped.', hint: 'Re-run it.' });
    const failed = summary({ state: 'FAILED', error: errorInfo('no_space') });
    expect(jobEnding(failed)).toEqual({ tone: 'error', text: ERROR_CATALOGUE.no_space.message, hint: ERROR_CATALOGUE.no_space.hint });
    expect(jobEnding(summary({ state: 'FAILED' }))).toEqual({ tone: 'error', text: 'Failed', hint: null });
  });
});
