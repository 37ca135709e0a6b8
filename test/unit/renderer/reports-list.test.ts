import { describe, expect, it } from 'vitest';
import type { MethodInput } from '../../../shared/contract';
import type { JobDetail, JobSummary } from '../../../shared/protocol';
import type { AppClient } from '../../../renderer/client/types';
import { REPORTS_PAGE, createActions } from '../../../renderer/store/actions';
import { createAppStore } from '../../../renderer/store/store';
import { summary } from './samples';

/** Completed inspections i-1 (oldest) … i-N (newest), newest first, like jobs.list. */
function inspections(n: number): JobSummary[] {
  return Array.from({ length: n }, (_, k) => {
    const i = n - k;
    return summary({ id: `i-${i}`, operation: 'inspect', state: 'COMPLETED', title: `disk${i}.vmdk`, updated_at: new Date(Date.UTC(2026, 10, 29, 10, 0, i)).toISOString() });
  });
}

function pagedClient(all: JobSummary[]) {
  const lists: MethodInput<'jobs.list'>[] = [];
  const gets: string[] = [];
  const client = {
    door: 'http',
    call: async (method: string, input: unknown) => {
      if (method === 'jobs.list') {
        const i = input as MethodInput<'jobs.list'>;
        lists.push(i);
        const limit = i.limit ?? 50;
        const from = i.before ? all.findIndex((j) => j.id === i.before) + 1 : 0;
        const jobs = all.slice(from, from + limit);
        const more = from + limit < all.length;
        return { jobs, next_before: more ? jobs.at(-1)!.id : null, total: all.length };
      }
      if (method === 'jobs.get') {
        const id = (input as { id: string }).id;
        gets.push(id);
        const s = all.find((j) => j.id === id) ?? summary({ id, state: 'COMPLETED', operation: 'inspect' });
        const d: JobDetail = { summary: s, spec: null, submitted: {}, transitions: [], spans: [], seconds_by_state: {}, terminal: true, result: null };
        return d;
      }
      throw new Error(`unexpected ${method}`);
    },
    subscribe: () => () => undefined,
    onStatus: () => () => undefined,
  } as unknown as AppClient;
  return { client, lists, gets };
}

describe('the Reports list, paged from the worker', () => {
  it('asks for completed inspections a page at a time, and loads more with the cursor', async () => {
    const all = inspections(REPORTS_PAGE + 3);
    const fake = pagedClient(all);
    const store = createAppStore();
    const actions = createActions(fake.client, store, null);
    expect(store.getState().reports).toEqual({ ids: [], total: 0, nextBefore: null, loading: false, loaded: false, error: null });

    await actions.loadReports();
    expect(fake.lists[0]).toEqual({ operation: 'inspect', state: ['COMPLETED'], limit: REPORTS_PAGE });
    let r = store.getState().reports;
    expect(r).toMatchObject({ total: REPORTS_PAGE + 3, nextBefore: `i-4`, loaded: true, loading: false });
    expect(r.ids.length).toBe(REPORTS_PAGE);
    expect(r.ids[0]).toBe(`i-${REPORTS_PAGE + 3}`);
    expect(store.getState().jobs['i-4']?.title).toBe('disk4.vmdk');

    await actions.loadReports(true);
    expect(fake.lists[1]).toEqual({ operation: 'inspect', state: ['COMPLETED'], limit: REPORTS_PAGE, before: 'i-4' });
    r = store.getState().reports;
    expect(r.ids.slice(-3)).toEqual(['i-3', 'i-2', 'i-1']);
    expect(r.ids.length).toBe(REPORTS_PAGE + 3);
    expect(r.nextBefore).toBeNull();
    // Nothing more to load: no request.
    await actions.loadReports(true);
    expect(fake.lists.length).toBe(2);
  });

  it('keeps the error as data when the list cannot be read', async () => {
    const client = { door: 'http', call: () => Promise.reject(new Error('down')), subscribe: () => () => undefined, onStatus: () => () => undefined } as unknown as AppClient;
    const store = createAppStore();
    await createActions(client, store, null).loadReports();
    expect(store.getState().reports).toMatchObject({ loading: false, loaded: false, error: { code: 'internal' } });
  });

  it('puts a just-completed inspection at the top of a loaded list, once, and nothing else', () => {
    const store = createAppStore();
    const done = summary({ id: 'new', operation: 'inspect', state: 'COMPLETED' });
    store.getState().addReport(done);
    expect(store.getState().reports.ids).toEqual([]);
    store.getState().setReports({ ids: ['old'], total: 1, loaded: true });
    store.getState().addReport(done);
    store.getState().addReport(done);
    store.getState().addReport(summary({ id: 'conv', operation: 'convert', state: 'COMPLETED' }));
    store.getState().addReport(summary({ id: 'failed', operation: 'inspect', state: 'FAILED' }));
    expect(store.getState().reports).toMatchObject({ ids: ['new', 'old'], total: 2 });
  });

  it('fetches a finished job’s detail once for its card', async () => {
    const fake = pagedClient(inspections(1));
    const store = createAppStore();
    const actions = createActions(fake.client, store, null);
    actions.ensureDetail('i-1');
    actions.ensureDetail('i-1');
    await new Promise((r) => setTimeout(r, 10));
    actions.ensureDetail('i-1');
    expect(fake.gets).toEqual(['i-1']);
    expect(store.getState().details['i-1']?.summary.id).toBe('i-1');
  });
});
