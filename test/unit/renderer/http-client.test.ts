import { describe, expect, it } from 'vitest';
import { WorkerError, errorInfo } from '../../../shared/errors';
import type { WorkerEvent } from '../../../shared/protocol';
import { httpClient, type EventSourceLike } from '../../../renderer/client/http-client';
import type { ConnectionStatus } from '../../../renderer/store/types';
import { progressEvent, summary } from './samples';

/** A stand-in EventSource the test drives. */
class FakeEventSource implements EventSourceLike {
  readyState = 0;
  onopen: ((ev: Event) => unknown) | null = null;
  onmessage: ((ev: MessageEvent) => unknown) | null = null;
  onerror: ((ev: Event) => unknown) | null = null;
  closed = false;
  constructor(readonly url: string) {}
  open() {
    this.readyState = 1;
    this.onopen?.(new Event('open'));
  }
  push(id: number, e: WorkerEvent | string) {
    this.onmessage?.({ data: typeof e === 'string' ? e : JSON.stringify(e), lastEventId: String(id) } as MessageEvent);
  }
  fail(closed: boolean) {
    this.readyState = closed ? 2 : 0;
    this.onerror?.(new Event('error'));
  }
  close() {
    this.closed = true;
    this.readyState = 2;
  }
}

function json(status: number, body: unknown): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json' } });
}

describe('HTTP client', () => {
  it('posts each call to /api/<method> and unwraps the envelope', async () => {
    const seen: { url: string; init: RequestInit | undefined }[] = [];
    const client = httpClient({
      fetch: async (url, init) => {
        seen.push({ url: String(url), init });
        return json(200, { ok: true, value: summary({ id: 'x' }) });
      },
    });
    const job = await client.call('jobs.get', { id: 'x' });
    expect(job).toMatchObject({ id: 'x' });
    expect(seen[0]!.url).toBe('/api/jobs.get');
    expect(seen[0]!.init).toMatchObject({ method: 'POST', credentials: 'same-origin', body: '{"id":"x"}' });
  });

  it('rejects with a WorkerError carrying the ErrorInfo, and notices a refused token', async () => {
    const statuses: ConnectionStatus[] = [];
    const client = httpClient({
      fetch: async (url) =>
        String(url).endsWith('jobs.get') ? json(404, { ok: false, error: errorInfo('not_found', { detail: 'x' }) }) : json(401, { ok: false, error: errorInfo('unauthorized') }),
    });
    client.onStatus((s) => statuses.push(s));
    const err = await client.call('jobs.get', { id: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).info).toMatchObject({ code: 'not_found', detail: 'x', hint: 'List jobs with `h2k-worker list` to find the id.' });
    await client.call('worker.info', {}).catch(() => undefined);
    expect(statuses).toEqual(['connecting', 'unauthorized']);
  });

  it('says so when the worker cannot be reached or answers without JSON', async () => {
    const down = httpClient({ fetch: async () => Promise.reject(new TypeError('Failed to fetch')) });
    await expect(down.call('worker.info', {})).rejects.toMatchObject({ info: { code: 'worker_unreachable', detail: expect.stringContaining('could not be reached') } });
    const html = httpClient({ fetch: async () => new Response('<html>', { status: 502 }) });
    await expect(html.call('worker.info', {})).rejects.toMatchObject({ info: { code: 'internal', detail: 'worker.info: HTTP 502 without a JSON answer' } });
  });

  it('shares one event stream between subscriptions, filters by job, and closes it with the last one', () => {
    const sources: FakeEventSource[] = [];
    const client = httpClient({ fetch: async () => json(200, { ok: true, value: {} }), eventSource: (u) => (sources.push(new FakeEventSource(u)), sources.at(-1)!) });
    const all: WorkerEvent[] = [];
    const onlyB: WorkerEvent[] = [];
    const offAll = client.subscribe({}, (e) => all.push(e));
    const offB = client.subscribe({ job_id: 'b' }, (e) => onlyB.push(e));
    expect(sources).toHaveLength(1);
    expect(sources[0]!.url).toBe('/api/events');
    sources[0]!.open();
    sources[0]!.push(7, progressEvent('a', 3, 10));
    sources[0]!.push(8, progressEvent('b', 4, 20));
    sources[0]!.push(9, '{"not":"an event"}');
    expect(all.map((e) => e.job_id)).toEqual(['a', 'b']);
    expect(onlyB.map((e) => e.job_id)).toEqual(['b']);
    offAll();
    expect(sources[0]!.closed).toBe(false);
    offB();
    expect(sources[0]!.closed).toBe(true);
  });

  it('opens the stream again after the last event id when it was closed', async () => {
    const sources: FakeEventSource[] = [];
    const statuses: ConnectionStatus[] = [];
    const client = httpClient({
      fetch: async () => json(200, { ok: true, value: {} }),
      eventSource: (u) => (sources.push(new FakeEventSource(u)), sources.at(-1)!),
      retryMs: 10,
    });
    client.onStatus((s) => statuses.push(s));
    client.subscribe({}, () => undefined);
    sources[0]!.open();
    sources[0]!.push(41, progressEvent('a', 3, 10));
    sources[0]!.fail(false);
    expect(sources).toHaveLength(1);
    sources[0]!.fail(true);
    await new Promise((r) => setTimeout(r, 40));
    expect(sources).toHaveLength(2);
    expect(sources[1]!.url).toBe('/api/events?after=41');
    sources[1]!.open();
    expect(statuses).toEqual(['connecting', 'open', 'reconnecting', 'open']);
  });
});
