import { describe, expect, it } from 'vitest';
import type { MethodInput, MethodName, MethodOutput } from '../../../shared/contract';
import { WorkerError } from '../../../shared/errors';
import type { JobDetail, WorkerEvent } from '../../../shared/protocol';
import type { AppClient } from '../../../renderer/client/types';
import { EVENT_BATCH_MS, createActions } from '../../../renderer/store/actions';
import { createAppStore } from '../../../renderer/store/store';
import type { ConnectionStatus } from '../../../renderer/store/types';
import { progressEvent, stateEvent, summary } from './samples';

type Answers = { [M in MethodName]?: (input: MethodInput<M>) => MethodOutput<M> | Promise<MethodOutput<M>> };

/** A client over canned answers; events are pushed by the test. */
function fakeClient(answers: Answers) {
  let push: ((e: WorkerEvent) => void) | null = null;
  const calls: { method: string; input: unknown }[] = [];
  const client: AppClient = {
    door: 'http',
    async call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
      calls.push({ method, input });
      const a = answers[method] as ((i: MethodInput<M>) => MethodOutput<M>) | undefined;
      if (!a) throw new WorkerError('not_implemented', { detail: method });
      return a(input);
    },
    subscribe(_filter, fn) {
      push = fn;
      return () => (push = null);
    },
    onStatus(l: (s: ConnectionStatus) => void) {
      l('open');
      return () => undefined;
    },
  };
  return { client, calls, push: (e: WorkerEvent) => push?.(e) };
}

function detailOf(id: string, state: JobDetail['summary']['state']): JobDetail {
  return {
    summary: summary({ id, state, updated_at: '2026-11-29T10:00:20.000Z' }),
    spec: null,
    submitted: {},
    transitions: [{ seq: 1, from: null, to: 'CREATED', at: '2026-11-29T10:00:00.000Z', reason: 'submitted', attempt: 0 }],
    spans: [],
    seconds_by_state: {},
    terminal: state === 'COMPLETED',
    result: null,
  };
}

const settings = { data_dir: '/d', scratch_dir: '/d/s', concurrency: 1, default_format: 'raw' as const, default_verify: 'compare' as const, runner_concurrency: 1, updated_at: null };
const info = { name: 'hyper2kvm-workbench' as const, version: '0', protocol: 'hyper2kvm.worker/v1' as const, data_dir: '/d', runner: null };

describe('actions (the client calling store actions, outside React)', () => {
  it('holds events until the snapshot is in, then applies only what is newer', async () => {
    let release: () => void = () => undefined;
    const gate = new Promise<void>((r) => (release = r));
    const fake = fakeClient({
      'jobs.list': async (i) => {
        await gate;
        const live = i.state !== undefined;
        return { jobs: live ? [summary({ id: 'a', state: 'QUEUED', updated_at: '2026-11-29T10:00:01.000Z' })] : [], next_before: null, total: live ? 1 : 0 };
      },
      'worker.info': () => info,
      'settings.get': () => settings,
      'capabilities.get': () => Promise.reject(new WorkerError('tool_missing')),
      'jobs.get': (i) => detailOf(i.id, 'QUEUED'),
    });
    const store = createAppStore();
    const actions = createActions(fake.client, store, null);
    const booting = actions.boot();
    // Events arrive while the snapshot is still loading: held, not applied to a store without the job.
    fake.push(stateEvent('a', 4, 'QUEUED', 'ASSIGNED', '2026-11-29T10:00:02.000Z'));
    fake.push(stateEvent('a', 5, 'ASSIGNED', 'RUNNING', '2026-11-29T10:00:03.000Z'));
    expect(store.getState().jobs.a).toBeUndefined();
    release();
    await booting;
    expect(store.getState().snapshotLoaded).toBe(true);
    expect(store.getState().jobs.a?.state).toBe('RUNNING');
    expect(store.getState().draft).toMatchObject({ format: 'raw', verify: 'compare' });
    // Live events are batched.
    fake.push(progressEvent('a', 6, 25, '2026-11-29T10:00:04.000Z'));
    expect(store.getState().jobs.a?.last_progress).toBeNull();
    await new Promise((r) => setTimeout(r, EVENT_BATCH_MS + 20));
    expect(store.getState().jobs.a?.last_progress?.percent).toBe(25);
  });

  it('fetches a job it sees for the first time and puts it at the top of the history', async () => {
    const fake = fakeClient({
      'jobs.list': () => ({ jobs: [], next_before: null, total: 0 }),
      'worker.info': () => info,
      'settings.get': () => settings,
      'capabilities.get': () => Promise.reject(new WorkerError('tool_missing')),
      'jobs.get': (i) => detailOf(i.id, 'QUEUED'),
    });
    const store = createAppStore();
    const actions = createActions(fake.client, store, null);
    await actions.boot();
    fake.push(stateEvent('new-job', 1, null, 'CREATED', '2026-11-29T10:00:02.000Z'));
    await new Promise((r) => setTimeout(r, EVENT_BATCH_MS + 30));
    expect(store.getState().jobs['new-job']?.state).toBe('QUEUED');
    expect(store.getState().history.ids[0]).toBe('new-job');
    expect(fake.calls.filter((c) => c.method === 'jobs.get')).toEqual([{ method: 'jobs.get', input: { id: 'new-job' } }]);
  });

  it('submits the draft as the builder shows it, and keeps an error as data for the form', async () => {
    const fake = fakeClient({
      'jobs.submit': (i) => {
        const spec = i.spec as { params: { disks: { output: string }[] } };
        if (spec.params.disks[0]!.output.startsWith('/full')) throw new WorkerError('no_space', { detail: 'needs 2 GiB, 1 GiB free' });
        return summary({ id: 'j1', state: 'QUEUED' });
      },
    });
    const store = createAppStore();
    const actions = createActions(fake.client, store, null);
    actions.addDisks(['/vm/a.vmdk']);
    actions.setDraft({ operation: 'convert', dest: '/full' });
    expect(await actions.submitDraft()).toBeNull();
    expect(store.getState().submitError).toMatchObject({ code: 'no_space', detail: 'needs 2 GiB, 1 GiB free' });
    actions.setDraft({ dest: '/out' });
    const job = await actions.submitDraft();
    expect(job?.id).toBe('j1');
    expect(fake.calls.filter((c) => c.method === 'jobs.submit').at(-1)?.input).toEqual({
      spec: {
        operation: 'convert',
        priority: 50,
        params: { disks: [{ source: '/vm/a.vmdk', output: '/out/a.qcow2' }], format: 'qcow2', verify: 'none', overwrite: false, sha256: false, qcow2: { compression: 'none' } },
      },
    });
    expect(store.getState()).toMatchObject({ focusJob: 'j1', route: { view: 'progress' }, submitError: null });
  });
});
