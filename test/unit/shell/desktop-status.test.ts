import { describe, expect, it } from 'vitest';
import type { JobDetail, WorkerEvent } from '../../../shared/protocol';
import { attachDesktopStatus, notificationFor, taskbarProgress } from '../../../electron/shell/desktop-status';

function detail(state: 'COMPLETED' | 'FAILED' | 'PROGRESSING', runSeconds: number): JobDetail {
  return {
    summary: {
      id: 'j',
      operation: 'convert',
      state,
      priority: 50,
      labels: {},
      title: 'web01.vmdk → web01.qcow2',
      created_at: '2026-11-29T10:00:00.000Z',
      updated_at: '2026-11-29T10:05:00.000Z',
      attempt: 1,
      cancel_requested: false,
      not_before: null,
      last_progress: null,
      error: state === 'FAILED' ? { code: 'no_space', message: 'Not enough free space at the destination.', hint: 'h', kind: 'environment' } : null,
    },
    spec: null,
    submitted: {},
    transitions: [],
    spans: [
      { state: 'QUEUED', entered_at: '2026-11-29T10:00:00.000Z', left_at: '2026-11-29T10:00:01.000Z', seconds: 100, attempt: 0 },
      { state: 'RUNNING', entered_at: '2026-11-29T10:00:01.000Z', left_at: '2026-11-29T10:00:02.000Z', seconds: 1, attempt: 1 },
      { state: 'PROGRESSING', entered_at: '2026-11-29T10:00:02.000Z', left_at: null, seconds: runSeconds - 1, attempt: 1 },
    ],
    seconds_by_state: {},
    terminal: state !== 'PROGRESSING',
    result: null,
  };
}

describe('desktop status', () => {
  it('shows the mean progress of the active jobs on the taskbar, none when idle', () => {
    expect(taskbarProgress([])).toBe(-1);
    expect(taskbarProgress([0])).toBe(0);
    expect(taskbarProgress([20, 60])).toBe(0.4);
  });

  it('notifies when a long job ends (run time only, queueing does not count)', () => {
    expect(notificationFor(detail('COMPLETED', 10))).toBeNull();
    expect(notificationFor(detail('PROGRESSING', 300))).toBeNull();
    expect(notificationFor(detail('COMPLETED', 185))).toEqual({ title: 'convert finished', body: 'web01.vmdk → web01.qcow2\nafter 3 min 05 s' });
    expect(notificationFor(detail('FAILED', 40))).toEqual({ title: 'convert failed', body: 'web01.vmdk → web01.qcow2\nNot enough free space at the destination.' });
  });

  it('follows the feed: progress to the taskbar, a notification when unfocused', async () => {
    let push: (e: WorkerEvent) => void = () => undefined;
    const progress: number[] = [];
    const notes: string[] = [];
    let focused = false;
    const stop = attachDesktopStatus({
      subscribe: (fn) => ((push = fn), () => undefined),
      getDetail: async () => detail('COMPLETED', 60),
      setProgress: (f) => progress.push(f),
      notify: (t) => notes.push(t),
      isFocused: () => focused,
    });
    const at = '2026-11-29T10:00:00.000Z';
    push({ type: 'state', job_id: 'j', seq: 5, at, from: 'ASSIGNED', to: 'RUNNING', reason: '', attempt: 1 });
    push({ type: 'progress', job_id: 'j', seq: 6, at, stage: 'copy', percent: 50, bytes_done: null, bytes_total: null, rate_bps: null, eta_s: null });
    push({ type: 'progress', job_id: 'j', seq: 7, at, stage: 'copy', percent: 50.1, bytes_done: null, bytes_total: null, rate_bps: null, eta_s: null });
    push({ type: 'state', job_id: 'j', seq: 8, at, from: 'PROGRESSING', to: 'COMPLETED', reason: '', attempt: 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(progress).toEqual([0, 0.5, -1]);
    expect(notes).toEqual(['convert finished']);
    focused = true;
    push({ type: 'state', job_id: 'k', seq: 8, at, from: 'PROGRESSING', to: 'FAILED', reason: '', attempt: 1 });
    await new Promise((r) => setTimeout(r, 10));
    expect(notes).toHaveLength(1);
    stop();
    expect(progress.at(-1)).toBe(-1);
  });
});
