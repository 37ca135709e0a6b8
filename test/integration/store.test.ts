import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { JobStore, DB_FILE } from '../../electron/store/store';
import { JobSpec } from '../../shared/protocol';
import { WorkerError } from '../../shared/errors';
import { tempDir } from '../support/helpers';

let dir: ReturnType<typeof tempDir>;
let store: JobStore;

const spec = (id: string, priority = 50) =>
  JobSpec.parse({ id, operation: 'convert', priority, params: { disks: [{ source: '/vms/a.vmdk', output: '/out/a.qcow2' }] } });

function newJob(id: string, priority = 50) {
  return store.createJob({ id, operation: 'convert', priority, title: `a.vmdk → a.qcow2 (${id})`, labels: { site: 'lab' }, submitted: { id }, spec: spec(id, priority) });
}

beforeEach(() => {
  dir = tempDir();
  store = JobStore.open(dir.path);
});
afterEach(() => {
  store.close();
  dir.cleanup();
});

describe('the store on a real SQLite file', () => {
  it('uses WAL and applies each migration once', () => {
    expect(store.db.pragma('journal_mode', { simple: true })).toBe('wal');
    expect(store.schemaVersion).toBeGreaterThanOrEqual(1);
    const v = store.schemaVersion;
    store.close();
    store = JobStore.open(dir.path);
    expect(store.schemaVersion).toBe(v);
    const tables = (store.db.prepare("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").all() as { name: string }[]).map((t) => t.name);
    expect(tables).toEqual(expect.arrayContaining(['capability_snapshots', 'events', 'jobs', 'partials', 'processes', 'results', 'runners', 'transitions']));
  });

  it('stores every transition with its time and reason, and refuses a move the table does not allow', () => {
    newJob('j1');
    store.transition('j1', 'VALIDATED', 'spec is valid');
    store.transition('j1', 'QUEUED', 'queued');
    expect(() => store.transition('j1', 'COMPLETED', 'skip ahead')).toThrow(WorkerError);
    try {
      store.transition('j1', 'COMPLETED', 'skip ahead');
    } catch (err) {
      expect((err as WorkerError).info.detail).toBe('QUEUED → COMPLETED is not an allowed transition');
    }
    expect(store.stateOf('j1')).toBe('QUEUED');
    const t = store.transitionsOf('j1');
    expect(t.map((x) => [x.from, x.to, x.reason])).toEqual([
      [null, 'CREATED', 'submitted'],
      ['CREATED', 'VALIDATED', 'spec is valid'],
      ['VALIDATED', 'QUEUED', 'queued'],
    ]);
    for (const x of t) expect(Date.parse(x.at)).toBeGreaterThan(Date.now() - 60_000);
  });

  it('a guarded transition does nothing when the job moved meanwhile', () => {
    newJob('j1');
    expect(store.transition('j1', 'CANCELLED', 'x', {}, ['QUEUED'])).toBeNull();
    expect(store.stateOf('j1')).toBe('CREATED');
  });

  it('refuses a duplicate id and an unknown job', () => {
    newJob('j1');
    expect(() => newJob('j1')).toThrow(/already exists/);
    expect(() => store.stateOf('nope')).toThrow(/No job with this id/);
  });

  it('numbers events gap-free per job, state events included, in commit order', () => {
    newJob('j1');
    store.transition('j1', 'VALIDATED', 'ok');
    for (let i = 0; i < 5; i++) store.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: `line ${i}` });
    store.transition('j1', 'QUEUED', 'q');
    store.appendEvent({ type: 'progress', job_id: 'j1', stage: 'copy', percent: 10, bytes_done: 1, bytes_total: 10, rate_bps: null, eta_s: null });
    store.flush();
    const ev = store.eventsOf('j1');
    expect(ev.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
    expect(ev.map((e) => e.type)).toEqual(['state', 'state', 'log', 'log', 'log', 'log', 'log', 'state', 'progress']);
    expect(store.eventsOf('j1', 7).map((e) => e.seq)).toEqual([8, 9]);
    expect(store.summary('j1').last_progress?.percent).toBe(10);
  });

  it('claims by priority, then age, atomically', () => {
    for (const [id, p] of [['low', 10], ['high', 90], ['mid', 50], ['high2', 90]] as const) {
      newJob(id, p);
      store.transition(id, 'VALIDATED', 'ok');
      store.transition(id, 'QUEUED', 'q');
    }
    const order = [store.claimNext(1), store.claimNext(1), store.claimNext(1), store.claimNext(1), store.claimNext(1)];
    expect(order).toEqual(['high', 'high2', 'mid', 'low', null]);
    expect(store.getRow('high')?.runner_id).toBe(1);
    expect(store.stateOf('low')).toBe('ASSIGNED');
  });

  it('pages newest first with filters, search and a cursor', () => {
    for (let i = 0; i < 7; i++) newJob(`job-${i}`);
    store.transition('job-3', 'CANCELLED', 'x');
    const p1 = store.list({ limit: 3 });
    expect(p1.total).toBe(7);
    expect(p1.jobs).toHaveLength(3);
    const p2 = store.list({ limit: 3, before: p1.next_before! });
    const p3 = store.list({ limit: 3, before: p2.next_before! });
    const ids = [...p1.jobs, ...p2.jobs, ...p3.jobs].map((j) => j.id);
    expect(new Set(ids).size).toBe(7);
    expect(p3.next_before).toBeNull();
    expect(store.list({ limit: 10, state: ['CANCELLED'] }).jobs.map((j) => j.id)).toEqual(['job-3']);
    expect(store.list({ limit: 10, search: '(job-5)' }).jobs.map((j) => j.id)).toEqual(['job-5']);
    expect(store.list({ limit: 10, search: '100%_' }).total).toBe(0);
  });

  it('derives per-state durations from the stored history', () => {
    newJob('j1');
    store.transition('j1', 'VALIDATED', 'ok');
    const d = store.detail('j1', new Date(Date.now() + 5000));
    expect(d.spans.map((s) => s.state)).toEqual(['CREATED', 'VALIDATED']);
    expect(d.spans[1]!.left_at).toBeNull();
    expect(d.seconds_by_state.VALIDATED).toBeGreaterThanOrEqual(4.9);
    expect(d.terminal).toBe(false);
    expect(d.spec?.operation).toBe('convert');
  });

  it('keeps what was committed when the process dies: another connection reads it all', () => {
    newJob('j1');
    store.transition('j1', 'VALIDATED', 'ok');
    store.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: 'hello' });
    store.flush();
    // A second, independent connection (another process would do the same) sees the commits.
    const other = new Database(join(dir.path, DB_FILE), { readonly: true });
    const n = (other.prepare('SELECT count(*) AS n FROM events WHERE job_id = ?').get('j1') as { n: number }).n;
    other.close();
    expect(n).toBe(3);
  });

  it('records tools and partial outputs per job', () => {
    newJob('j1');
    const runner = store.registerRunner(123, 456, 'host');
    const pid = store.recordProcess({ job_id: 'j1', runner_id: runner, pid: 999, pgid: 999, start_time: 42, command: 'qemu-img', args: ['convert', '--', '/a'] });
    store.addPartial('j1', '/out/.a.partial', 'file');
    expect(store.openProcesses('j1')).toMatchObject([{ pid: 999, args: ['convert', '--', '/a'] }]);
    store.endProcess(pid);
    expect(store.openProcesses('j1')).toEqual([]);
    expect(store.partialsOf('j1')).toEqual([{ job_id: 'j1', path: '/out/.a.partial', kind: 'file' }]);
    expect(store.lastRunner()).toMatchObject({ id: runner, pid: 123, start_time: 456 });
  });

  it('numbers events of one job written by two processes without collisions', () => {
    newJob('j1');
    // A second store on the same file stands for another process (a runner beside a door).
    const other = JobStore.open(dir.path);
    try {
      store.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: 'from A 1' });
      store.flush();
      other.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: 'from B 1' });
      other.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: 'from B 2' });
      store.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: 'from A 2' });
      other.flush();
      store.flush();
      other.transition('j1', 'VALIDATED', 'by B');
      store.appendEvent({ type: 'log', job_id: 'j1', level: 'info', message: 'from A 3' });
      store.flush();
    } finally {
      other.close();
    }
    const ev = store.eventsOf('j1');
    expect(ev.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
    expect(ev.map((e) => (e.type === 'log' ? e.message : `${e.type}:${e.type === 'state' ? e.to : ''}`))).toEqual([
      'state:CREATED', 'from A 1', 'from B 1', 'from B 2', 'from A 2', 'state:VALIDATED', 'from A 3',
    ]);
  });
});
