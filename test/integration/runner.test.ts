import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openWorker, type Worker } from '../../electron/worker/worker';
import { dispatch } from '../../electron/worker/local-client';
import { TEST_ONLY_OPERATIONS } from '../support/test-only-operations';
import { pidAlive, tempDir, waitFor } from '../support/helpers';
import type { JobSpecInput } from '../../shared/protocol';
import type { OperationRegistry } from '../../electron/engine/types';

let data: ReturnType<typeof tempDir>;
let cache: ReturnType<typeof tempDir>;
let out: ReturnType<typeof tempDir>;
let worker: Worker;

const slowSpec = (labels: Record<string, string>, extra: Partial<JobSpecInput> = {}): JobSpecInput =>
  ({
    operation: 'convert',
    labels,
    params: { disks: [{ source: '/nonexistent/source.vmdk', output: join(out.path, 'out.qcow2') }] },
    ...extra,
  }) as JobSpecInput;

beforeEach(() => {
  data = tempDir();
  cache = tempDir();
  out = tempDir();
  worker = openWorker({ dataDir: data.path, cacheDir: cache.path, operations: TEST_ONLY_OPERATIONS, runner: { pollMs: 25, graceMs: 300 } });
});
afterEach(async () => {
  await worker.close();
  for (const d of [data, cache, out]) d.cleanup();
});

const states = (id: string) => worker.store.transitionsOf(id).map((t) => t.to);

describe('the runner executes jobs through the state machine', () => {
  it('keeps the last progress of each stage and the first of the next, however quickly they follow', async () => {
    await worker.close();
    // A test-only operation that reports faster than the store's 10 events/s: its stages end and
    // begin within a few milliseconds.
    const stages: OperationRegistry = {
      convert: async (ctx) => {
        for (const [stage, from] of [['copy', 0], ['verify', 50]] as const) {
          for (let p = 0; p <= 50; p += 5) ctx.progress({ stage, percent: from + p * 0.98, bytes_done: p, bytes_total: 50 });
        }
        ctx.progress({ stage: 'done', percent: 100 });
        return { artifacts: [], payload: { test_only: true }, bytes_processed: 50 };
      },
    };
    worker = openWorker({ dataDir: data.path, cacheDir: cache.path, operations: stages, runner: { pollMs: 25 } });
    worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}) });
    await waitFor(() => worker.store.stateOf(job.id) === 'COMPLETED', 'COMPLETED');
    const progress = worker.store.eventsOf(job.id).filter((e) => e.type === 'progress');
    const last = (stage: string) => progress.filter((e) => e.stage === stage).at(-1);
    const first = (stage: string) => progress.find((e) => e.stage === stage);
    expect(last('copy')).toMatchObject({ percent: 49, bytes_done: 50, bytes_total: 50 });
    expect(first('verify')).toMatchObject({ percent: 50, bytes_done: 0 });
    expect(last('verify')).toMatchObject({ percent: 99, bytes_done: 50 });
    expect(progress.at(-1)).toMatchObject({ stage: 'done', percent: 100 });
    // Throttled all the same: far fewer than the 23 reported.
    expect(progress.length).toBeLessThan(10);
  });

  it('walks a job through every state to COMPLETED, with result and metrics', async () => {
    worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({ test_sleep_s: '0.3' }) });
    expect(job.state).toBe('QUEUED');
    await waitFor(() => worker.store.stateOf(job.id) === 'COMPLETED', 'COMPLETED');
    expect(states(job.id)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'COMPLETED']);
    const d = await dispatch(worker.service, 'jobs.get', { id: job.id });
    expect(d.result?.outcome).toBe('completed');
    expect(d.result?.metrics.attempts).toBe(1);
    expect(d.result?.metrics.run_s).toBeGreaterThanOrEqual(0.3);
    expect(d.seconds_by_state.PROGRESSING).toBeGreaterThanOrEqual(0.25);
    expect(d.summary.last_progress?.percent).toBe(100);
    expect(worker.store.partialsOf(job.id)).toEqual([]);
    expect(readdirSync(out.path)).toEqual(['out.qcow2']);
  });

  it('retries a transient failure through RETRY_WAIT, then completes', async () => {
    worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', {
      spec: slowSpec({ test_sleep_s: '0.1', test_fail_attempts: '1' }, { retry: { max_attempts: 2, backoff: 'fixed', initial_delay_s: 0.2, max_delay_s: 1 } }),
    });
    await waitFor(() => worker.store.stateOf(job.id) === 'COMPLETED', 'COMPLETED after a retry');
    expect(states(job.id)).toEqual([
      'CREATED', 'VALIDATED', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'RETRY_WAIT', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'COMPLETED',
    ]);
    const t = worker.store.transitionsOf(job.id);
    const wait = t.find((x) => x.to === 'RETRY_WAIT')!;
    expect(wait.reason).toBe('attempt 1 of 2 ended with tool_failed; retrying in 0.2 s');
    const back = t[t.indexOf(wait) + 1]!;
    expect(Date.parse(back.at) - Date.parse(wait.at)).toBeGreaterThanOrEqual(180);
    expect(worker.store.result(job.id)?.metrics.attempts).toBe(2);
    // The partial of the failed attempt was removed; the second attempt's output is in place.
    expect(readdirSync(out.path)).toEqual(['out.qcow2']);
  });

  it('fails for good when attempts run out', async () => {
    worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({ test_fail_attempts: '5' }, { retry: { max_attempts: 2, initial_delay_s: 0 } }) });
    await waitFor(() => worker.store.stateOf(job.id) === 'FAILED', 'FAILED');
    expect(states(job.id).filter((s) => s === 'RETRY_WAIT')).toHaveLength(1);
    expect(worker.store.summary(job.id).error?.code).toBe('tool_failed');
  });

  it('stops a job at its timeout, killing its tool and removing its partial output', async () => {
    worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}, { timeout_s: 1 }) });
    const proc = await waitFor(() => worker.store.db.prepare('SELECT pid FROM processes WHERE job_id = ?').get(job.id) as { pid: number } | undefined, 'the tool');
    await waitFor(() => worker.store.stateOf(job.id) === 'FAILED', 'FAILED by timeout', 10_000);
    expect(worker.store.summary(job.id).error?.code).toBe('timeout');
    expect(pidAlive(proc.pid)).toBe(false);
    expect(readdirSync(out.path)).toEqual([]);
  });

  it('cancels a running job: tool killed, partial removed, CANCELLED', async () => {
    worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}) });
    const proc = await waitFor(() => worker.store.db.prepare('SELECT pid FROM processes WHERE job_id = ?').get(job.id) as { pid: number } | undefined, 'the tool');
    expect(readdirSync(out.path)).toHaveLength(1);
    const after = await dispatch(worker.service, 'jobs.cancel', { id: job.id });
    expect(after.cancel_requested).toBe(true);
    await waitFor(() => worker.store.stateOf(job.id) === 'CANCELLED', 'CANCELLED', 10_000);
    expect(pidAlive(proc.pid)).toBe(false);
    expect(readdirSync(out.path)).toEqual([]);
    expect(worker.store.result(job.id)?.outcome).toBe('cancelled');
    await expect(dispatch(worker.service, 'jobs.cancel', { id: job.id })).rejects.toMatchObject({ info: { code: 'already_terminal' } });
  });

  it('cancels a queued job at once, without a runner', async () => {
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}) });
    const c = await dispatch(worker.service, 'jobs.cancel', { id: job.id });
    expect(c.state).toBe('CANCELLED');
    expect(states(job.id)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'CANCELLED']);
  });

  it('records an invalid spec as FAILED with the field errors, and answers validation_failed', async () => {
    const bad = { operation: 'convert', params: { disks: [{ source: 'relative.vmdk', output: '/x' }] } };
    const err = await dispatch(worker.service, 'jobs.submit', { spec: bad }).catch((e: unknown) => e);
    expect(err).toMatchObject({ info: { code: 'validation_failed', fields: [{ path: 'params.disks.0.source', message: 'an absolute path (starting with "/") is expected' }] } });
    const list = await dispatch(worker.service, 'jobs.list', { state: ['FAILED'] });
    expect(list.jobs).toHaveLength(1);
    expect(states(list.jobs[0]!.id)).toEqual(['CREATED', 'FAILED']);
    expect(list.jobs[0]!.error?.fields?.[0]?.path).toBe('params.disks.0.source');
  });

  it('fails an operation this worker does not implement at once, with not_implemented', async () => {
    const job = await dispatch(worker.service, 'jobs.submit', { spec: { operation: 'fs_repair', params: { disks: ['/x.qcow2'] } } });
    expect(job.state).toBe('FAILED');
    expect(job.error?.code).toBe('not_implemented');
    expect(states(job.id)).toEqual(['CREATED', 'VALIDATED', 'FAILED']);
  });

  it('stops cleanly: running jobs end interrupted and nothing is left running', async () => {
    const runner = worker.startRunner();
    const job = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}) });
    const proc = await waitFor(() => worker.store.db.prepare('SELECT pid FROM processes WHERE job_id = ?').get(job.id) as { pid: number } | undefined, 'the tool');
    await runner.stop('test stop');
    expect(worker.store.stateOf(job.id)).toBe('FAILED');
    expect(worker.store.summary(job.id).error).toMatchObject({ code: 'interrupted', detail: 'test stop' });
    expect(pidAlive(proc.pid)).toBe(false);
    expect(existsSync(join(out.path, 'out.qcow2'))).toBe(false);
    expect(readdirSync(out.path)).toEqual([]);
    expect(worker.store.lastRunner()).toBeNull();
  });

  it('applies a concurrency change from the stored settings at once', async () => {
    worker.startRunner();
    const a = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}) });
    const b = await dispatch(worker.service, 'jobs.submit', { spec: slowSpec({}) });
    await waitFor(() => worker.store.stateOf(a.id) === 'PROGRESSING', 'the first job running');
    await new Promise((r) => setTimeout(r, 300));
    expect(worker.store.stateOf(b.id)).toBe('QUEUED');
    const s = await dispatch(worker.service, 'settings.set', { concurrency: 2 });
    expect(s.concurrency).toBe(2);
    await waitFor(() => worker.store.stateOf(b.id) === 'PROGRESSING', 'the second job running beside the first');
    expect((await dispatch(worker.service, 'settings.get', {})).runner_concurrency).toBe(2);
    for (const id of [a.id, b.id]) await dispatch(worker.service, 'jobs.cancel', { id });
    await waitFor(() => worker.store.stateOf(b.id) === 'CANCELLED', 'cancelled');
  });
});
