/**
 * What the desktop shows of running jobs outside the window: the combined progress on the
 * taskbar icon (win.setProgressBar) and a notification when a long job ends. It listens to the
 * event feed like any other door; the pure parts decide what to show.
 */
import { isActive, isTerminal, type JobDetail, type JobState, type WorkerEvent } from '../../shared/protocol';
import { formatDuration } from '../../shared/format';

/** Jobs that ran at least this long are worth a notification when they end. */
export const LONG_JOB_SECONDS = 30;

/**
 * The taskbar fraction for the active jobs' percents: their mean, in 0..1; -1 (no bar) when
 * nothing runs. Electron shows 0 as an empty bar, so a job that just started shows one.
 */
export function taskbarProgress(percents: readonly number[]): number {
  if (percents.length === 0) return -1;
  const mean = percents.reduce((a, b) => a + b, 0) / percents.length;
  return Math.min(1, Math.max(0, mean / 100));
}

/** The notification for a job that ended, or null when it was short (or not ended). */
export function notificationFor(d: JobDetail, minSeconds = LONG_JOB_SECONDS): { title: string; body: string } | null {
  if (!d.terminal) return null;
  const ran = d.spans.filter((s) => s.state === 'RUNNING' || s.state === 'PROGRESSING').reduce((a, s) => a + s.seconds, 0);
  if (ran < minSeconds) return null;
  const s = d.summary;
  const verb = s.state === 'COMPLETED' ? 'finished' : s.state === 'CANCELLED' ? 'was cancelled' : 'failed';
  const body = s.state === 'FAILED' && s.error ? `${s.title}\n${s.error.message}` : `${s.title}\nafter ${formatDuration(ran)}`;
  return { title: `${s.operation} ${verb}`, body };
}

export interface DesktopStatusDeps {
  subscribe(fn: (e: WorkerEvent) => void): () => void;
  getDetail(id: string): Promise<JobDetail>;
  setProgress(fraction: number): void;
  notify(title: string, body: string): void;
  /** Only notify when the window does not have the user's attention. */
  isFocused(): boolean;
}

/** Follow the feed; returns the function that stops following. */
export function attachDesktopStatus(deps: DesktopStatusDeps): () => void {
  const percents = new Map<string, number>();
  let last = -2;
  const update = () => {
    const p = taskbarProgress([...percents.values()]);
    if (Math.abs(p - last) < 0.005 && !(p === -1 && last !== -1)) return;
    last = p;
    deps.setProgress(p);
  };
  const off = deps.subscribe((e) => {
    if (e.type === 'progress') {
      percents.set(e.job_id, e.percent);
      update();
    } else if (e.type === 'state') {
      const to: JobState = e.to;
      if (isActive(to) && !percents.has(e.job_id)) percents.set(e.job_id, 0);
      if (isTerminal(to)) {
        percents.delete(e.job_id);
        if (!deps.isFocused()) {
          void deps.getDetail(e.job_id).then(
            (d) => {
              const n = notificationFor(d);
              if (n) deps.notify(n.title, n.body);
            },
            () => undefined,
          );
        }
      }
      update();
    }
  });
  return () => {
    off();
    deps.setProgress(-1);
  };
}
