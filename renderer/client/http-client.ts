/**
 * The WorkerClient in a browser, over `h2k-worker serve`: `POST /api/<method>` for calls and
 * one EventSource on `/api/events` shared by every subscription (a browser allows only a few
 * connections per host). The token travels in the HttpOnly cookie the server set when the
 * printed URL was opened, so this code never sees it. EventSource resumes by itself with
 * Last-Event-ID; when the stream is refused (server restarted with a new token), the status
 * says so and calls fail with `unauthorized`.
 */
import { Envelope, type EventFilter, type MethodInput, type MethodName, type MethodOutput } from '../../shared/contract';
import { WorkerError } from '../../shared/errors';
import { WorkerEvent } from '../../shared/protocol';
import type { ConnectionStatus } from '../store/types';
import type { AppClient } from './types';

/** The EventSource shape used here (the DOM's fits). */
export interface EventSourceLike {
  readonly readyState: number;
  onopen: ((ev: Event) => unknown) | null;
  onmessage: ((ev: MessageEvent) => unknown) | null;
  onerror: ((ev: Event) => unknown) | null;
  close(): void;
}

export interface HttpClientOptions {
  /** Base of the API (default `/api/`). */
  base?: string;
  fetch?: typeof fetch;
  eventSource?: (url: string) => EventSourceLike;
  /** Milliseconds before a closed stream is opened again (default 2000). */
  retryMs?: number;
}

const CLOSED = 2;

export function httpClient(opts: HttpClientOptions = {}): AppClient {
  const base = opts.base ?? '/api/';
  const doFetch = opts.fetch ?? ((input: RequestInfo | URL, init?: RequestInit) => fetch(input, init));
  const openSource = opts.eventSource ?? ((url: string) => new EventSource(url, { withCredentials: true }));
  const listeners = new Set<{ filter: EventFilter; fn: (e: WorkerEvent) => void }>();
  const statusListeners = new Set<(s: ConnectionStatus) => void>();
  let status: ConnectionStatus = 'connecting';
  let source: EventSourceLike | null = null;
  let lastId: string | null = null;
  let retry: ReturnType<typeof setTimeout> | null = null;

  const setStatus = (s: ConnectionStatus) => {
    if (s === status) return;
    status = s;
    for (const l of statusListeners) l(s);
  };

  async function call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
    let res: Response;
    try {
      res = await doFetch(`${base}${method}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        credentials: 'same-origin',
        body: JSON.stringify(input ?? {}),
      });
    } catch (err) {
      throw new WorkerError('worker_unreachable', { detail: `the worker could not be reached (${err instanceof Error ? err.message : String(err)})` });
    }
    let body: unknown;
    try {
      body = await res.json();
    } catch {
      throw new WorkerError('internal', { detail: `${method}: HTTP ${res.status} without a JSON answer` });
    }
    const env = Envelope.safeParse(body);
    if (!env.success) throw new WorkerError('internal', { detail: `${method}: HTTP ${res.status}, malformed answer` });
    if (env.data.ok) return env.data.value as MethodOutput<M>;
    if (env.data.error.code === 'unauthorized') setStatus('unauthorized');
    throw WorkerError.fromInfo(env.data.error);
  }

  function dispatch(data: string): void {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return;
    }
    const r = WorkerEvent.safeParse(parsed);
    if (!r.success) return;
    for (const l of listeners) {
      if (l.filter.job_id && l.filter.job_id !== r.data.job_id) continue;
      l.fn(r.data);
    }
  }

  function open(): void {
    if (source || listeners.size === 0) return;
    const url = `${base}events${lastId ? `?after=${encodeURIComponent(lastId)}` : ''}`;
    const s = openSource(url);
    source = s;
    s.onopen = () => setStatus('open');
    s.onmessage = (ev) => {
      if (ev.lastEventId) lastId = ev.lastEventId;
      dispatch(String(ev.data));
    };
    s.onerror = () => {
      if (s.readyState !== CLOSED) {
        setStatus('reconnecting');
        return;
      }
      // Closed for good (refused): find out why, then try again later unless unauthorized.
      s.close();
      source = null;
      void call('worker.info', {}).then(
        () => setStatus('reconnecting'),
        () => undefined,
      );
      if (status !== 'unauthorized') setStatus('reconnecting');
      retry ??= setTimeout(() => {
        retry = null;
        if (status !== 'unauthorized') open();
      }, opts.retryMs ?? 2000);
    };
  }

  return {
    door: 'http',
    call,
    subscribe(filter, fn) {
      const l = { filter, fn };
      listeners.add(l);
      open();
      return () => {
        listeners.delete(l);
        if (listeners.size === 0 && source) {
          source.close();
          source = null;
        }
      };
    },
    onStatus(listener) {
      statusListeners.add(listener);
      listener(status);
      return () => statusListeners.delete(listener);
    },
  };
}
