// A runner killed with SIGKILL at several points, and the next runner's recovery; two runners
// on one data folder. Runners are real child processes over a real SQLite file; the tool is
// a real `sleep` in its own process group (the test-only slow operation).
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { openWorker, type Worker } from '../../electron/worker/worker';
import { dispatch } from '../../electron/worker/local-client';
import { DOORBELL_FILE } from '../../electron/worker/doorbell';
import { TEST_ONLY_OPERATIONS } from '../support/test-only-operations';
import { execa } from 'execa';
import { REPO, pidAlive, startTestOnlyRunner, tempDir, waitFor } from '../support/helpers';
import type { JobSpecInput } from '../../shared/protocol';

let data: ReturnType<typeof tempDir>;
let cache: ReturnType<typeof tempDir>;
let out: ReturnType<typeof tempDir>;
let door: Worker;
const children: { kill: (s?: NodeJS.Signals) => boolean }[] = [];

beforeEach(() => {
  data = tempDir();
  cache = tempDir();
  out = tempDir();
  // The door: writes specs and reads state, never runs jobs (like the CLI or the app's UI).
  door = openWorker({ dataDir: data.path, cacheDir: cache.path, operations: TEST_ONLY_OPERATIONS });
});
afterEach(async () => {
  for (const c of children.splice(0)) c.kill('SIGKILL');
  await door.close();
  for (const d of [data, cache, out]) d.cleanup();
});

const spec = (extra: Partial<JobSpecInput> = {}, labels: Record<string, string> = {}): JobSpecInput =>
  ({ operation: 'convert', labels, params: { disks: [{ source: '/nonexistent/in.vmdk', output: join(out.path, 'out.qcow2') }] }, ...extra }) as JobSpecInput;

const states = (id: string) => door.store.transitionsOf(id).map((t) => t.to);

async function runner(env: Record<string, string> = {}) {
  const r = await startTestOnlyRunner(data.path, cache.path, env);
  children.push(r.child);
  return r;
}

describe('a runner killed with SIGKILL', () => {
  it('while its tool runs: the next runner kills the orphaned tool, removes the partial output, fails the job interrupted', async () => {
    const a = await runner();
    expect(a.line).toMatch(/^ready \d+$/);
    const job = await dispatch(door.service, 'jobs.submit', { spec: spec() });
    const tool = await waitFor(
      () => door.store.db.prepare('SELECT pid, pgid FROM processes WHERE job_id = ?').get(job.id) as { pid: number; pgid: number } | undefined,
      'the tool to be recorded',
    );
    await waitFor(() => door.store.stateOf(job.id) === 'PROGRESSING', 'PROGRESSING');
    // Progress events are written in batches: wait until the first one is committed, since the
    // claim below is about what was committed before the kill.
    await waitFor(() => door.store.eventsOf(job.id).some((e) => e.type === 'progress'), 'the first progress event to be committed');
    const partial = readdirSync(out.path);
    expect(partial).toEqual([`out.qcow2.h2k-partial-${job.id}`]);

    a.child.kill('SIGKILL');
    await a.child.catch(() => undefined);
    // Nothing committed is lost; the orphan and the partial output are still there.
    expect(states(job.id)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING']);
    expect(door.store.eventsOf(job.id).filter((e) => e.type === 'progress')).toHaveLength(1);
    expect(pidAlive(tool.pid)).toBe(true);
    expect(existsSync(join(out.path, partial[0]!))).toBe(true);

    const b = await runner();
    await waitFor(() => door.store.stateOf(job.id) === 'FAILED', 'FAILED after recovery');
    expect(pidAlive(tool.pid)).toBe(false);
    expect(readdirSync(out.path)).toEqual([]);
    const d = await dispatch(door.service, 'jobs.get', { id: job.id });
    expect(d.summary.error?.code).toBe('interrupted');
    expect(d.summary.error?.detail).toBe('runner died while the job was PROGRESSING; killed 1 orphaned tool(s), removed 1 partial output(s)');
    expect(d.result?.outcome).toBe('failed');
    expect(states(job.id).at(-1)).toBe('FAILED');
    b.child.kill('SIGTERM');
    await b.child;
  });

  it('with no runner after it: the next CLI command that looks (status) recovers the job on its way in', async () => {
    const a = await runner();
    const job = await dispatch(door.service, 'jobs.submit', { spec: spec() });
    const tool = await waitFor(
      () => door.store.db.prepare('SELECT pid FROM processes WHERE job_id = ?').get(job.id) as { pid: number } | undefined,
      'the tool to be recorded',
    );
    await waitFor(() => door.store.stateOf(job.id) === 'PROGRESSING', 'PROGRESSING');
    a.child.kill('SIGKILL');
    await a.child.catch(() => undefined);
    expect(door.store.stateOf(job.id)).toBe('PROGRESSING');
    expect(pidAlive(tool.pid)).toBe(true);

    // A command that only looks: it takes the free lock for a moment, ends the orphan, lets go.
    const st = await execa(process.execPath, [join(REPO, 'bin/h2k-worker.js'), 'status', job.id, '--json'], {
      reject: false,
      env: { H2K_DATA_DIR: data.path, H2K_CACHE_DIR: cache.path },
    });
    expect(st.exitCode).toBe(0);
    expect(st.stderr).toContain(`recovered job ${job.id}: runner died while the job was PROGRESSING; killed 1 orphaned tool(s), removed 1 partial output(s)`);
    const shown = JSON.parse(st.stdout) as { summary: { state: string; error?: { code: string } } };
    expect(shown.summary.state).toBe('FAILED');
    expect(shown.summary.error?.code).toBe('interrupted');
    expect(pidAlive(tool.pid)).toBe(false);
    expect(readdirSync(out.path)).toEqual([]);

    // With a live runner, a look changes nothing that runner owns.
    const b = await runner();
    const held = await dispatch(door.service, 'jobs.submit', { spec: spec() });
    await waitFor(() => door.store.stateOf(held.id) === 'PROGRESSING', 'PROGRESSING on the live runner');
    const list = await execa(process.execPath, [join(REPO, 'bin/h2k-worker.js'), 'list', '--json'], { reject: false, env: { H2K_DATA_DIR: data.path, H2K_CACHE_DIR: cache.path } });
    expect(list.exitCode).toBe(0);
    expect(list.stderr).not.toContain('recovered job');
    expect(door.store.stateOf(held.id)).toBe('PROGRESSING');
    b.child.kill('SIGTERM');
    await b.child;
  });

  it('after claiming, before starting: the job is requeued when its retry policy allows, and then completes', async () => {
    const a = await runner({ H2K_TEST_ONLY_HOLD_AFTER_CLAIM_MS: '60000' });
    const job = await dispatch(door.service, 'jobs.submit', {
      spec: spec({ retry: { max_attempts: 2, backoff: 'fixed', initial_delay_s: 0, max_delay_s: 0 } }, { test_sleep_s: '0.2' }),
    });
    await waitFor(() => door.store.stateOf(job.id) === 'ASSIGNED', 'ASSIGNED');
    a.child.kill('SIGKILL');
    await a.child.catch(() => undefined);
    expect(door.store.stateOf(job.id)).toBe('ASSIGNED');

    const b = await runner();
    await waitFor(() => door.store.stateOf(job.id) === 'COMPLETED', 'COMPLETED on the next runner');
    expect(states(job.id)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'ASSIGNED', 'RETRY_WAIT', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'COMPLETED']);
    const wait = door.store.transitionsOf(job.id).find((t) => t.to === 'RETRY_WAIT');
    expect(wait?.reason).toBe('attempt 1 of 2 ended with interrupted; retrying in 0 s');
    expect(readdirSync(out.path)).toEqual(['out.qcow2']);
    b.child.kill('SIGTERM');
    await b.child;
  });

  it('after claiming, with the default policy: FAILED interrupted', async () => {
    const a = await runner({ H2K_TEST_ONLY_HOLD_AFTER_CLAIM_MS: '60000' });
    const job = await dispatch(door.service, 'jobs.submit', { spec: spec() });
    await waitFor(() => door.store.stateOf(job.id) === 'ASSIGNED', 'ASSIGNED');
    a.child.kill('SIGKILL');
    await a.child.catch(() => undefined);
    const b = await runner();
    await waitFor(() => door.store.stateOf(job.id) === 'FAILED', 'FAILED');
    expect(door.store.summary(job.id).error?.detail).toBe('runner died while the job was ASSIGNED; killed 0 orphaned tool(s), removed 0 partial output(s)');
    b.child.kill('SIGTERM');
    await b.child;
  });
});

describe('one runner per data folder', () => {
  it('refuses a second runner while the first lives, and accepts one after the first was killed', async () => {
    const a = await runner();
    const second = await runner();
    expect(second.line).toMatch(/^refused /);
    const info = JSON.parse(second.line.slice('refused '.length)) as { code: string; detail: string };
    expect(info.code).toBe('runner_busy');
    expect(info.detail).toMatch(new RegExp(`held by runner pid ${a.child.pid} on `));
    expect((await second.child).exitCode).toBe(4);

    a.child.kill('SIGKILL');
    await a.child.catch(() => undefined);
    const c = await runner();
    expect(c.line).toMatch(/^ready \d+$/);
    c.child.kill('SIGTERM');
    const end = await c.child;
    expect(c.output()).toContain('test-only runner: SIGTERM, stopping');
    expect(end.exitCode).toBe(0);
  });

  it('a door in another process wakes the runner through the doorbell, without waiting for its poll', async () => {
    // A poll of 10 minutes: only the doorbell can start and stop the job within the waits below.
    const a = await runner({ H2K_TEST_ONLY_POLL_MS: '600000' });
    expect(a.line).toMatch(/^ready \d+$/);
    // The runner looked at the queue once on start; this job arrives after that.
    const job = await dispatch(door.service, 'jobs.submit', { spec: spec({}, { test_sleep_s: '30' }) });
    await waitFor(() => door.store.stateOf(job.id) === 'PROGRESSING', 'PROGRESSING, woken by the doorbell', 20_000);
    expect(existsSync(join(data.path, DOORBELL_FILE))).toBe(true);
    await dispatch(door.service, 'jobs.cancel', { id: job.id });
    await waitFor(() => door.store.stateOf(job.id) === 'CANCELLED', 'CANCELLED, woken by the doorbell', 20_000);
    a.child.kill('SIGTERM');
    await a.child;
  });

  it('a door in the same process as a runner sees the runner through worker.info', async () => {
    const a = await runner();
    const info = await dispatch(door.service, 'worker.info', {});
    expect(info.runner).toMatchObject({ pid: a.child.pid, alive: true });
    a.child.kill('SIGKILL');
    await a.child.catch(() => undefined);
    expect((await dispatch(door.service, 'worker.info', {})).runner).toMatchObject({ pid: a.child.pid, alive: false });
  });
});
