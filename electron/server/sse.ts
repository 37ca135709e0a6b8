/**
 * Server-sent events from the store. Two kinds of stream:
 * - one job's (`job_id` given): its stored events after a sequence number, then live from the
 *   event feed; event ids are the job's sequence numbers;
 * - every job's: the store's events table tailed from a global position, woken by the feed;
 *   event ids are those positions, so a client that reconnects with Last-Event-ID (EventSource
 *   does so by itself) misses nothing, even across a server restart.
 * A comment line goes out as a heartbeat, so proxies and the client see the stream alive.
 */
import type { ServerResponse } from 'node:http';
import type { WorkerEvent } from '../../shared/protocol';
import type { EventFeed } from '../events/feed';
import type { JobStore } from '../store/store';

export interface StreamOptions {
  store: JobStore;
  feed: EventFeed;
  /** Milliseconds between heartbeat comments. */
  heartbeatMs: number;
}

export interface StreamRequest {
  jobId: string | null;
  /** Resume after this id: a sequence number for a job's stream, a global position otherwise. */
  after: number | null;
}

/** One open stream; `close()` ends it from the server's side. */
export interface OpenStream {
  close(): void;
}

/** The SSE frame of one event. Newlines cannot occur in JSON.stringify output, so one data line. */
export function frame(id: number, event: WorkerEvent): string {
  return `id: ${id}\ndata: ${JSON.stringify(event)}\n\n`;
}

/** Parse `after` or Last-Event-ID: a non-negative whole number, else null. */
export function parseResumeId(v: unknown): number | null {
  if (typeof v !== 'string' || !/^\d{1,15}$/.test(v)) return null;
  return Number(v);
}

/**
 * Stream events to `res` (headers already sent by the caller) until the client leaves or
 * `close()` is called. `onEnd` runs once either way.
 */
export function openStream(opts: StreamOptions, req: StreamRequest, res: ServerResponse, onEnd: () => void): OpenStream {
  let ended = false;
  let waitingForDrain = false;
  const write = (chunk: string): void => {
    if (ended) return;
    if (!res.write(chunk) && !waitingForDrain) {
      waitingForDrain = true;
      res.once('drain', () => {
        waitingForDrain = false;
        pump();
      });
    }
  };
  res.write('retry: 2000\n\n');

  let pump: () => void;
  let unsubscribe: () => void;

  if (req.jobId !== null) {
    // One job: replay the stored events, then forward live ones past the last sequence sent.
    const jobId = req.jobId;
    let seq = req.after ?? 0;
    let replaying = true;
    const pending: WorkerEvent[] = [];
    const send = (e: WorkerEvent): void => {
      if (e.seq <= seq) return;
      seq = e.seq;
      write(frame(e.seq, e));
    };
    unsubscribe = opts.feed.subscribe({ job_id: jobId }, (e) => (replaying ? pending.push(e) : send(e)));
    pump = () => undefined;
    for (;;) {
      const batch = opts.store.eventsOf(jobId, seq, 1000);
      if (batch.length === 0) break;
      for (const e of batch) send(e);
    }
    replaying = false;
    for (const e of pending) send(e);
  } else {
    // Every job: tail the store by global position; the feed only says when to look.
    let position = req.after ?? opts.store.lastEventId();
    let scheduled = false;
    pump = () => {
      scheduled = false;
      while (!ended && !waitingForDrain) {
        const rows = opts.store.tail(position, 500);
        if (rows.length === 0) break;
        for (const row of rows) {
          position = row.id;
          write(frame(row.id, row.event));
        }
      }
    };
    unsubscribe = opts.feed.subscribe({}, () => {
      if (scheduled) return;
      scheduled = true;
      setImmediate(pump);
    });
    pump();
  }

  const heartbeat = setInterval(() => write(`: heartbeat ${new Date().toISOString()}\n\n`), opts.heartbeatMs);
  heartbeat.unref();

  const end = (): void => {
    if (ended) return;
    ended = true;
    clearInterval(heartbeat);
    unsubscribe();
    res.end();
    onEnd();
  };
  res.on('close', end);
  return { close: end };
}
