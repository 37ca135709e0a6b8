import { describe, expect, it } from 'vitest';
import { createAppStore } from '../../../renderer/store/store';
import { logEvent, progressEvent, stateEvent, summary } from './samples';

describe('jobs slice', () => {
  it('applies state and progress events to known jobs and reports unknown and ended ones', () => {
    const store = createAppStore();
    store.getState().upsertJobs([summary({ id: 'a' })]);
    const r = store.getState().applyEvents([
      stateEvent('a', 4, 'QUEUED', 'ASSIGNED', '2026-11-29T10:00:02.000Z'),
      stateEvent('a', 5, 'ASSIGNED', 'RUNNING', '2026-11-29T10:00:03.000Z'),
      progressEvent('a', 6, 10),
      progressEvent('a', 7, 35),
      stateEvent('b', 1, null, 'CREATED', '2026-11-29T10:00:03.000Z'),
    ]);
    expect(r).toEqual({ unknown: ['b'], ended: [] });
    const a = store.getState().jobs.a!;
    expect(a.state).toBe('RUNNING');
    expect(a.attempt).toBe(1);
    expect(a.last_progress?.percent).toBe(35);
    expect(store.getState().runningSince.a).toBe('2026-11-29T10:00:03.000Z');
    expect(store.getState().jobs.b).toBeUndefined();

    const end = store.getState().applyEvents([stateEvent('a', 8, 'PROGRESSING', 'COMPLETED', '2026-11-29T10:00:09.000Z')]);
    expect(end).toEqual({ unknown: [], ended: ['a'] });
    expect(store.getState().jobs.a!.state).toBe('COMPLETED');
  });

  it('keeps a snapshot that is newer than held events, and never leaves a terminal state', () => {
    const store = createAppStore();
    store.getState().upsertJobs([summary({ id: 'a', state: 'PROGRESSING', updated_at: '2026-11-29T10:00:05.000Z', last_progress: progressEvent('a', 9, 50) })]);
    store.getState().applyEvents([stateEvent('a', 5, 'ASSIGNED', 'RUNNING', '2026-11-29T10:00:03.000Z'), progressEvent('a', 8, 40)]);
    expect(store.getState().jobs.a!.state).toBe('PROGRESSING');
    expect(store.getState().jobs.a!.last_progress?.percent).toBe(50);

    store.getState().upsertJobs([summary({ id: 'c', state: 'CANCELLED', updated_at: '2026-11-29T10:00:05.000Z' })]);
    store.getState().applyEvents([stateEvent('c', 3, 'QUEUED', 'ASSIGNED', '2026-11-29T10:00:06.000Z')]);
    expect(store.getState().jobs.c!.state).toBe('CANCELLED');
  });

  it('does not let an older stored summary overwrite newer progress', () => {
    const store = createAppStore();
    store.getState().upsertJobs([summary({ id: 'a', state: 'PROGRESSING', last_progress: progressEvent('a', 20, 80) })]);
    store.getState().upsertJobs([summary({ id: 'a', state: 'PROGRESSING', last_progress: progressEvent('a', 12, 60) })]);
    expect(store.getState().jobs.a!.last_progress?.percent).toBe(80);
  });

  it('keeps a bounded log tail per job, in order, without duplicates', () => {
    const store = createAppStore();
    store.getState().setLogs('a', [logEvent('a', 1, 'one'), logEvent('a', 2, 'two')]);
    const many = Array.from({ length: 60 }, (_, i) => logEvent('a', i + 1, `line ${i + 1}`));
    store.getState().applyEvents(many);
    const tail = store.getState().logs.a!;
    expect(tail).toHaveLength(50);
    expect(tail[0]!.message).toBe('line 11');
    expect(tail.at(-1)!.message).toBe('line 60');
  });

  it('merges history queries and pages', () => {
    const store = createAppStore();
    store.getState().setHistoryQuery({ search: 'web01' });
    store.getState().setHistoryQuery({ state: 'FAILED' });
    store.getState().setHistory({ ids: ['x'], total: 3, nextBefore: '1:x' });
    expect(store.getState().history).toMatchObject({ query: { search: 'web01', state: 'FAILED', operation: '' }, ids: ['x'], total: 3, nextBefore: '1:x' });
  });
});

describe('builder, settings and ui slices', () => {
  it('adds disks once, removes them, and clears a stale submit error on change', () => {
    const store = createAppStore();
    const s = () => store.getState();
    s().addDisks(['/vm/a.vmdk', '/vm/b.vmdk', '/vm/a.vmdk']);
    expect(s().draft.disks).toEqual(['/vm/a.vmdk', '/vm/b.vmdk']);
    s().setSubmitting(false, { code: 'no_space', message: 'm', hint: 'h', kind: 'environment' });
    expect(s().submitError?.code).toBe('no_space');
    s().removeDisk('/vm/a.vmdk');
    expect(s().draft.disks).toEqual(['/vm/b.vmdk']);
    expect(s().submitError).toBeNull();
    s().setOrigin({ finding: 'f', title: 't', inspectJob: 'j', planned: true });
    s().resetDraft({ operation: 'convert', format: 'raw' });
    expect(s().draft).toMatchObject({ operation: 'convert', format: 'raw', disks: [] });
    expect(s().origin).toBeNull();
  });

  it('records settings and their status', () => {
    const store = createAppStore();
    store.getState().setSettingsStatus('saving');
    store.getState().setSettings({ data_dir: '/d', scratch_dir: '/d/scratch', concurrency: 2, default_format: 'qcow2', default_verify: 'compare', runner_concurrency: 1, updated_at: null });
    expect(store.getState()).toMatchObject({ settingsStatus: 'ready', settings: { concurrency: 2, default_verify: 'compare' } });
  });

  it('keeps the four newest notices and dismisses by id', () => {
    const store = createAppStore();
    for (let i = 0; i < 6; i++) store.getState().notify({ kind: 'info', text: `n${i}` });
    const notices = store.getState().notices;
    expect(notices.map((n) => n.text)).toEqual(['n2', 'n3', 'n4', 'n5']);
    store.getState().dismiss(notices[0]!.id);
    expect(store.getState().notices.map((n) => n.text)).toEqual(['n3', 'n4', 'n5']);
  });
});
