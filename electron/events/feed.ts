/**
 * The event feed: fans the stored events out to subscribers (IPC, SSE, CLI --wait). It tails
 * the store's events table by global position, woken at once by commits in this process and
 * by a poll for commits of other processes (a runner elsewhere writing to the same folder), so
 * every door sees every job's events, in order, whoever executes it.
 */
import type { WorkerEvent } from '../../shared/protocol';
import type { EventFilter } from '../../shared/contract';
import type { JobStore } from '../store/store';

type Listener = { filter: EventFilter; fn: (e: WorkerEvent) => void };

export class EventFeed {
  private readonly listeners = new Set<Listener>();
  private position: number;
  private timer: NodeJS.Timeout | null = null;
  private readonly offCommit: () => void;
  private draining = false;

  /** `pollMs`: how often to look for other processes' commits (default 200 ms). */
  constructor(private readonly store: JobStore, pollMs = 200) {
    this.position = store.lastEventId();
    this.offCommit = store.onCommit(() => queueMicrotask(() => this.drain()));
    this.timer = setInterval(() => this.drain(), pollMs);
    this.timer.unref();
  }

  /** Receive events from now on; returns the unsubscribe function. */
  subscribe(filter: EventFilter, fn: (e: WorkerEvent) => void): () => void {
    const l: Listener = { filter, fn };
    this.listeners.add(l);
    return () => {
      this.listeners.delete(l);
    };
  }

  private drain(): void {
    if (this.draining) return;
    this.draining = true;
    try {
      for (;;) {
        const rows = this.store.tail(this.position, 1000);
        if (rows.length === 0) break;
        this.position = rows.at(-1)!.id;
        for (const { event } of rows) {
          for (const l of this.listeners) {
            if (l.filter.job_id && l.filter.job_id !== event.job_id) continue;
            try {
              l.fn(event);
            } catch {
              // A failing subscriber must not stop the others.
            }
          }
        }
      }
    } finally {
      this.draining = false;
    }
  }

  close(): void {
    this.offCommit();
    if (this.timer) clearInterval(this.timer);
    this.listeners.clear();
  }
}
