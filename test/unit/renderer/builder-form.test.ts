import { describe, expect, it } from 'vitest';
import { DRAFT_DEFAULTS, FIELD_ORDER, checkDraft, draftAfterSubmit, fieldsOfPatch, firstErrorField, visibleErrors } from '../../../renderer/lib/builder';
import type { AppClient } from '../../../renderer/client/types';
import { createActions, jobCardId } from '../../../renderer/store/actions';
import { createAppStore } from '../../../renderer/store/store';
import { summary } from './samples';

describe('builder form: which errors show, where focus goes, what stays after a submit', () => {
  it('maps a draft change to the fields it touches', () => {
    expect(fieldsOfPatch({ disks: ['/a'] })).toEqual(['disks']);
    expect(fieldsOfPatch({ rateLimitMiBps: 'x', dest: '/o' })).toEqual(['rate', 'dest']);
    expect(fieldsOfPatch({ guest: false, diskBus: 'sata', format: 'raw' })).toEqual(['options']);
    expect(fieldsOfPatch({ operation: 'convert', priority: 3 })).toEqual(['operation', 'priority']);
    expect(fieldsOfPatch({ labels: { a: 'b' }, repairParams: {} })).toEqual([]);
  });

  it('shows a field’s errors only once touched, and all after a submit was tried', () => {
    const check = checkDraft({ ...DRAFT_DEFAULTS, operation: 'convert', rateLimitMiBps: 'fast' });
    expect(Object.keys(check.errors).sort()).toEqual(['disks', 'rate']);
    expect(visibleErrors(check.errors, [], false)).toEqual({});
    expect(visibleErrors(check.errors, ['rate', 'priority'], false)).toEqual({ rate: ['a positive number of MiB/s, or empty for no limit'] });
    expect(visibleErrors(check.errors, [], true)).toBe(check.errors);
  });

  it('finds the first field in error in form order', () => {
    expect(FIELD_ORDER).toEqual(['disks', 'operation', 'options', 'rate', 'dest', 'priority', 'form']);
    expect(firstErrorField({ dest: ['x'], rate: ['y'] })).toBe('rate');
    expect(firstErrorField({ priority: ['x'], disks: ['y'] })).toBe('disks');
    expect(firstErrorField({ rate: [] })).toBeNull();
    expect(firstErrorField({})).toBeNull();
  });

  it('clears the disks and a finding’s repair after a submit, keeping the chosen options', () => {
    const convert = { ...DRAFT_DEFAULTS, operation: 'convert' as const, disks: ['/vm/a.vmdk'], dest: '/out', format: 'raw' as const, verify: 'compare' as const, rateLimitMiBps: '10', priority: 70, labels: { finding: 'f' } };
    expect(draftAfterSubmit(convert)).toEqual({ ...convert, disks: [], labels: {}, repairParams: null });
    const repair = { ...DRAFT_DEFAULTS, operation: 'offline_fix' as const, disks: ['/out/a.qcow2'], repairParams: { fixes: ['fstab_by_uuid'] }, labels: { finding: 'fstab' } };
    expect(draftAfterSubmit(repair)).toMatchObject({ operation: 'inspect', disks: [], repairParams: null, labels: {} });
  });
});

describe('builder form through the actions and the store', () => {
  function setup(submit: () => ReturnType<typeof summary>) {
    const calls: string[] = [];
    const client = {
      door: 'http',
      call: async (method: string) => {
        calls.push(method);
        if (method === 'jobs.submit') return submit();
        throw new Error(`unexpected ${method}`);
      },
      subscribe: () => () => undefined,
      onStatus: () => () => undefined,
    } as unknown as AppClient;
    const store = createAppStore();
    return { store, calls, actions: createActions(client, store, null) };
  }

  it('touches fields on change and on blur; a refused submit shows everything and sends nothing', async () => {
    const { store, actions, calls } = setup(() => summary({ id: 'never' }));
    expect(store.getState()).toMatchObject({ touched: [], attempted: false });
    actions.setDraft({ dest: '/out' });
    actions.touchField('priority');
    actions.touchField('priority');
    expect(store.getState().touched).toEqual(['dest', 'priority']);
    expect(await actions.submitDraft()).toBeNull();
    expect(store.getState().attempted).toBe(true);
    expect(calls).toEqual([]);
  });

  it('after a successful submit: the form is cleared for the next job and focus is asked for the job’s card', async () => {
    const { store, actions } = setup(() => summary({ id: 'j7', state: 'QUEUED' }));
    actions.addDisks(['/vm/a.vmdk']);
    actions.setDraft({ operation: 'convert', dest: '/out', format: 'raw' });
    expect(store.getState().touched).toEqual(['disks', 'operation', 'dest', 'options']);
    const job = await actions.submitDraft();
    expect(job?.id).toBe('j7');
    const s = store.getState();
    expect(s.draft).toMatchObject({ operation: 'convert', disks: [], dest: '/out', format: 'raw' });
    expect(s).toMatchObject({ touched: [], attempted: false, origin: null, focusTarget: 'job-card-j7', route: { view: 'progress' } });
    expect(jobCardId('j7')).toBe('job-card-j7');
    // The target is handed out once.
    expect(actions.takeFocusTarget()).toBe('job-card-j7');
    expect(actions.takeFocusTarget()).toBeNull();
  });
});
