/**
 * The REST + SSE server over a real worker (real SQLite store, a real runner executing the
 * test-only slow operation as convert, which runs a real `sleep` and writes a real partial
 * file), reached over real HTTP on loopback: the guards (token, cookie, Host, Origin), the
 * envelope and status codes, the file picker's confinement to its roots, settings, the event
 * stream with resume, the report export and the OpenAPI document.
 */
import { mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import { join } from 'node:path';
import { Ajv2020 } from 'ajv/dist/2020.js';
import addFormats from 'ajv-formats';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES } from '../../shared/contract';
import { type JobSummary, type WorkerEvent } from '../../shared/protocol';
import { startServer, type RunningServer } from '../../electron/server/server';
import { openWorker, type Worker } from '../../electron/worker/worker';
import { TEST_ONLY_OPERATIONS } from '../support/test-only-operations';
import { tempDir, waitFor } from '../support/helpers';

let dir: ReturnType<typeof tempDir>;
let worker: Worker;
let server: RunningServer;
let root: string;

beforeAll(async () => {
  dir = tempDir('h2k-server-');
  root = join(dir.path, 'vms');
  mkdirSync(join(root, 'web01'), { recursive: true });
  mkdirSync(join(root, '.hidden-dir'));
  mkdirSync(join(dir.path, 'outside'));
  writeFileSync(join(root, 'web01', 'web01.vmdk'), 'descriptor');
  writeFileSync(join(root, 'web01', 'web01-flat.vmdk'), Buffer.alloc(4096));
  writeFileSync(join(root, 'web01', 'web01.ova'), '');
  writeFileSync(join(root, 'web01', 'notes.txt'), 'hello');
  writeFileSync(join(root, '.hidden'), '');
  writeFileSync(join(dir.path, 'outside', 'secret.vmdk'), 'x');
  symlinkSync(join(dir.path, 'outside'), join(root, 'link-out'));
  symlinkSync(join(root, 'web01'), join(root, 'link-in'));
  worker = openWorker({
    dataDir: join(dir.path, 'data'),
    operations: TEST_ONLY_OPERATIONS,
    runner: { pollMs: 50, graceMs: 500 },
  });
  worker.startRunner();
  server = await startServer({ worker, roots: [root], port: 0, heartbeatMs: 150, rendererDir: null });
});

afterAll(async () => {
  await server?.close();
  await worker?.close();
  dir?.cleanup();
});

const auth = () => ({ authorization: `Bearer ${server.token}`, 'content-type': 'application/json' });

async function api(method: string, body: unknown, headers: Record<string, string> = auth()): Promise<{ status: number; body: { ok: boolean; value?: unknown; error?: Record<string, unknown> } }> {
  const res = await fetch(`${server.origin}/api/${method}`, { method: 'POST', headers, body: JSON.stringify(body) });
  return { status: res.status, body: (await res.json()) as { ok: boolean; value?: unknown; error?: Record<string, unknown> } };
}

/** A raw request with any Host header (fetch does not let a caller set Host). */
function raw(path: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: server.port, path, method, headers }, (res) => {
      let text = '';
      res.on('data', (d: Buffer) => (text += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text }));
    });
    req.on('error', reject);
    if (body) req.write(body);
    req.end();
  });
}

/** Read server-sent events until `done` says enough (or the time is up). */
async function readEvents(
  url: string,
  headers: Record<string, string>,
  done: (events: { id: string; event: WorkerEvent }[], comments: string[]) => boolean,
  timeoutMs = 15_000,
): Promise<{ status: number; events: { id: string; event: WorkerEvent }[]; comments: string[] }> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(), timeoutMs);
  const res = await fetch(url, { headers, signal: ac.signal });
  const events: { id: string; event: WorkerEvent }[] = [];
  const comments: string[] = [];
  if (res.status !== 200 || !res.body) {
    clearTimeout(timer);
    return { status: res.status, events, comments };
  }
  const reader = res.body.getReader();
  const dec = new TextDecoder();
  let buf = '';
  try {
    while (!done(events, comments)) {
      const { value, done: end } = await reader.read();
      if (end) break;
      buf += dec.decode(value, { stream: true });
      let sep: number;
      while ((sep = buf.indexOf('\n\n')) >= 0) {
        const block = buf.slice(0, sep);
        buf = buf.slice(sep + 2);
        let id = '';
        let data = '';
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) comments.push(line);
          else if (line.startsWith('id: ')) id = line.slice(4);
          else if (line.startsWith('data: ')) data += line.slice(6);
        }
        if (data) events.push({ id, event: JSON.parse(data) as WorkerEvent });
      }
    }
  } catch (err) {
    if (!ac.signal.aborted) throw err;
  } finally {
    clearTimeout(timer);
    ac.abort();
  }
  return { status: res.status, events, comments };
}

function slowSpec(name: string, sleep = '30'): unknown {
  return {
    operation: 'convert',
    labels: { test_sleep_s: sleep },
    params: { disks: [{ source: join(root, 'web01', 'web01.vmdk'), output: join(dir.path, `${name}.qcow2`) }] },
  };
}

describe('guards', () => {
  it('refuses a request without the token, or with another token, before any handler runs', async () => {
    const none = await api('worker.info', {}, { 'content-type': 'application/json' });
    expect(none.status).toBe(401);
    expect(none.body).toEqual({
      ok: false,
      error: { code: 'unauthorized', kind: 'user', message: 'The request has no valid token.', hint: 'Open the URL that `h2k-worker serve` printed; it carries the token.' },
    });
    const wrong = await api('worker.info', {}, { authorization: `Bearer ${'A'.repeat(43)}`, 'content-type': 'application/json' });
    expect(wrong.status).toBe(401);
    const res = await raw('/api/events', {});
    expect(res.status).toBe(401);
    expect(res.headers['www-authenticate']).toBe('Bearer');
    expect(server.token).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('asks for the token whatever the spelling of the path', async () => {
    for (const path of ['/%61pi/worker.info', '/api/worker%2Einfo', '/api//worker.info', '/x/../api/worker.info', '/api/no.such.method', '/nowhere']) {
      const r = await raw(path, { host: `127.0.0.1:${server.port}`, 'content-type': 'application/json' }, 'POST', '{}');
      expect(r.status, path).toBe(401);
    }
    expect((await raw('/%61pi/events', { host: `127.0.0.1:${server.port}` })).status).toBe(401);
  });

  it('refuses a foreign Origin even with the token, and accepts its own', async () => {
    for (const origin of ['http://evil.example', `http://127.0.0.1:${server.port + 1}`, 'null']) {
      const r = await api('worker.info', {}, { ...auth(), origin });
      expect(r.status, origin).toBe(403);
      expect(r.body.error).toMatchObject({ code: 'forbidden_origin', message: 'The request came from another web page or host name.' });
    }
    expect((await api('worker.info', {}, { ...auth(), origin: server.origin })).status).toBe(200);
  });

  it('refuses a Host that is not this server (DNS rebinding), whatever the token', async () => {
    const bad = await raw('/api/worker.info', { host: `attacker.example:${server.port}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, 'POST', '{}');
    expect(bad.status).toBe(403);
    expect(JSON.parse(bad.text)).toMatchObject({ ok: false, error: { code: 'forbidden_origin' } });
    const page = await raw('/', { host: `attacker.example:${server.port}` });
    expect(page.status).toBe(403);
    const ok = await raw('/api/worker.info', { host: `localhost:${server.port}`, authorization: `Bearer ${server.token}`, 'content-type': 'application/json' }, 'POST', '{}');
    expect(ok.status).toBe(200);
  });

  it('swaps the printed URL\'s token for an HttpOnly, SameSite=Strict cookie and drops it from the address', async () => {
    const r = await raw(`/?token=${server.token}`, { host: `127.0.0.1:${server.port}` });
    expect(r.status).toBe(303);
    expect(r.headers.location).toBe('/');
    expect(r.headers['set-cookie']).toEqual([`h2k_token_${server.port}=${server.token}; Path=/; HttpOnly; SameSite=Strict`]);
    expect(r.headers['cache-control']).toBe('no-store');
    const cookie = `h2k_token_${server.port}=${server.token}`;
    expect((await api('worker.info', {}, { cookie, 'content-type': 'application/json' })).status).toBe(200);
    // A cookie named for another port (another server on this host) is not ours.
    expect((await api('worker.info', {}, { cookie: `h2k_token_${server.port + 1}=${server.token}`, 'content-type': 'application/json' })).status).toBe(401);
    const stale = await raw('/?token=stale', { host: `127.0.0.1:${server.port}` });
    expect(stale.status).toBe(401);
    expect(stale.text).toContain('The request has no valid token.');
    expect(stale.headers['set-cookie']).toBeUndefined();
  });

  it('refuses a form-style (text/plain) POST, so a page cannot send one without a preflight', async () => {
    const r = await raw('/api/settings.set', { host: `127.0.0.1:${server.port}`, authorization: `Bearer ${server.token}`, 'content-type': 'text/plain' }, 'POST', '{"concurrency":8}');
    expect(r.status).toBe(415);
    expect(JSON.parse(r.text)).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect(((await api('settings.get', {})).body.value as { concurrency: number }).concurrency).toBe(1);
  });

  it('will not listen beyond loopback', async () => {
    for (const host of ['0.0.0.0', '192.168.1.10', '::', 'example.com']) {
      await expect(startServer({ worker, roots: [root], host, port: 0 })).rejects.toMatchObject({ info: { code: 'host_not_loopback', detail: expect.stringContaining('loopback') } });
    }
  });

  it('says so when its port is taken, instead of an internal error', async () => {
    await expect(startServer({ worker, roots: [root], port: server.port })).rejects.toMatchObject({
      info: { code: 'port_in_use', kind: 'environment', detail: `127.0.0.1 port ${server.port} is taken (another h2k-worker serve, or another program)` },
    });
    // The server that holds the port is unharmed.
    expect((await api('settings.get', {})).status).toBe(200);
  });

  it('sends the CSP and the other protective headers', async () => {
    const r = await raw('/', { host: `127.0.0.1:${server.port}` });
    expect(r.headers['content-security-policy']).toContain("script-src 'self'");
    expect(r.headers['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(r.headers['x-frame-options']).toBe('DENY');
    expect(r.headers['referrer-policy']).toBe('no-referrer');
  });
});

describe('the contract over HTTP', () => {
  it('answers with the envelope and a status code by error', async () => {
    expect(await api('jobs.get', { id: 'missing' })).toMatchObject({ status: 404, body: { ok: false, error: { code: 'not_found', detail: 'missing' } } });
    expect(await api('jobs.get', { id: '../x' })).toMatchObject({ status: 400, body: { ok: false, error: { code: 'bad_request', fields: [{ path: 'id' }] } } });
    expect(await api('jobs.submit', { spec: { operation: 'convert', params: {} } })).toMatchObject({ status: 422, body: { ok: false, error: { code: 'validation_failed' } } });
    expect(await api('no.such', {})).toMatchObject({ status: 404, body: { ok: false, error: { code: 'bad_request' } } });
    expect(await api('jobs.list', { limit: 5 })).toMatchObject({ status: 200, body: { ok: true, value: { next_before: null } } });
  });

  it('publishes an OpenAPI 3.1 document with every method, its schemas valid JSON Schema 2020-12', async () => {
    const res = await fetch(`${server.origin}/api/openapi.json`, { headers: auth() });
    const doc = (await res.json()) as { openapi: string; paths: Record<string, { post?: { requestBody: { content: { 'application/json': { schema: object } } }; responses: Record<string, { content?: { 'application/json'?: { schema: object } } }> } }> };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths).filter((p) => doc.paths[p]!.post).sort()).toEqual(METHOD_NAMES.map((m) => `/api/${m}`).sort());
    const ajv = new Ajv2020({ strict: false, allErrors: true });
    addFormats.default(ajv);
    ajv.addSchema(doc as object, 'openapi');
    for (const m of METHOD_NAMES) {
      const op = doc.paths[`/api/${m}`]!.post!;
      expect(ajv.validateSchema(op.requestBody.content['application/json'].schema), `${m} input`).toBe(true);
      expect(ajv.validateSchema(op.responses['200']!.content!['application/json']!.schema), `${m} output`).toBe(true);
    }
    // The settings schema really describes what the server answers.
    const validate = ajv.compile({ $ref: 'openapi#/paths/~1api~1settings.get/post/responses/200/content/application~1json/schema' });
    expect(validate((await api('settings.get', {})).body)).toBe(true);
  });
});

describe('file picker, confined to the roots', () => {
  it('lists a folder: folders first, kinds by extension, no hidden names, links resolved inside the roots only', async () => {
    const r = await api('fs.list', { path: root });
    expect(r.status).toBe(200);
    const v = r.body.value as { path: string; root: string; parent: string | null; entries: { name: string; path: string; type: string; symlink: boolean }[]; free_bytes: number };
    expect(v).toMatchObject({ path: root, root, parent: null });
    expect(v.free_bytes).toBeGreaterThan(0);
    expect(v.entries.map((e) => [e.name, e.type, e.symlink, e.path])).toEqual([
      ['link-in', 'dir', true, join(root, 'web01')],
      ['web01', 'dir', false, join(root, 'web01')],
    ]);
    const sub = (await api('fs.list', { path: join(root, 'web01') })).body.value as { parent: string; entries: { name: string; kind: string | null; size_bytes: number | null }[] };
    expect(sub.parent).toBe(root);
    expect(sub.entries.map((e) => [e.name, e.kind, e.size_bytes])).toEqual([
      ['notes.txt', null, 5],
      ['web01-flat.vmdk', 'extent', 4096],
      ['web01.ova', 'package', 0],
      ['web01.vmdk', 'disk', 10],
    ]);
    const hidden = (await api('fs.list', { path: root, hidden: true })).body.value as { entries: { name: string }[] };
    expect(hidden.entries.map((e) => e.name)).toEqual(['.hidden-dir', 'link-in', 'web01', '.hidden']);
  });

  it('refuses anything outside, after resolving symlinks and dot-dots, without saying whether it exists', async () => {
    for (const path of ['/etc', join(root, '..', 'outside'), join(root, 'link-out'), join(root, 'link-out', 'secret.vmdk'), '/no/such/folder', join(root, 'web01', '..', '..')]) {
      const r = await api('fs.list', { path });
      expect(r.status, path).toBe(403);
      expect(r.body.error, path).toMatchObject({ code: 'path_outside_roots', message: 'That folder is outside the folders this server may show.' });
    }
    expect(await api('fs.list', { path: join(root, 'nope') })).toMatchObject({ status: 400, body: { error: { code: 'bad_request', detail: `no such folder: ${join(root, 'nope')}` } } });
    expect(await api('fs.list', { path: join(root, 'web01', 'web01.vmdk') })).toMatchObject({ status: 400, body: { error: { detail: expect.stringContaining('not a folder') } } });
    expect(await api('fs.list', { path: 'relative' })).toMatchObject({ status: 400, body: { error: { fields: [{ path: 'path' }] } } });
    expect((await api('fs.roots', {})).body.value).toMatchObject({ roots: [{ path: root }] });
  });
});

describe('settings', () => {
  it('are stored in the data folder and validated', async () => {
    const before = (await api('settings.get', {})).body.value as Record<string, unknown>;
    expect(before).toMatchObject({ data_dir: join(dir.path, 'data'), scratch_dir: join(dir.path, 'data', 'scratch'), concurrency: 1, default_format: 'qcow2', default_verify: 'none', runner_concurrency: 1, updated_at: null });
    const set = await api('settings.set', { concurrency: 3, default_verify: 'compare' });
    expect(set.body.value).toMatchObject({ concurrency: 3, default_verify: 'compare', default_format: 'qcow2', runner_concurrency: 3 }); // the running runner takes the new value at once
    expect((await api('settings.set', { concurrency: 0 })).body.error).toMatchObject({ code: 'bad_request', fields: [{ path: 'concurrency' }] });
    expect((await api('settings.set', { data_dir: '/tmp' })).status).toBe(400);
    // Another process opening the folder reads them from the store.
    const again = openWorker({ dataDir: join(dir.path, 'data') });
    try {
      expect(await again.service['settings.get']({})).toMatchObject({ concurrency: 3, default_verify: 'compare', runner_concurrency: null });
    } finally {
      await again.close();
    }
    await api('settings.set', { concurrency: 1, default_verify: 'none' });
  });
});

describe('event stream', () => {
  it('replays a job\'s events, resumes after Last-Event-ID, streams live ones with heartbeats, and the report exports it', async () => {
    const job = (await api('jobs.submit', { spec: slowSpec('sse') })).body.value as JobSummary;
    expect(job.state).toBe('QUEUED');
    await waitFor(async () => ((await api('jobs.get', { id: job.id })).body.value as { summary: JobSummary }).summary.state === 'PROGRESSING', 'job progressing', 15_000);

    const url = `${server.origin}/api/events?job_id=${job.id}`;
    const first = await readEvents(url, auth(), (ev) => ev.some((e) => e.event.type === 'progress'));
    expect(first.status).toBe(200);
    expect(first.events.map((e) => Number(e.id))).toEqual(first.events.map((e) => e.event.seq));
    expect(first.events.slice(0, 4).map((e) => e.event.type === 'state' && e.event.to)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'ASSIGNED']);

    const resumed = await readEvents(url, { ...auth(), 'last-event-id': '3' }, (ev) => ev.length >= 2);
    expect(resumed.events[0]!.event).toMatchObject({ seq: 4, type: 'state', to: 'ASSIGNED' });
    const afterParam = await readEvents(`${url}&after=4`, auth(), (ev) => ev.length >= 1);
    expect(afterParam.events[0]!.event.seq).toBe(5);

    // Live: the cancel arrives on a stream opened after the last stored event, with heartbeats meanwhile.
    const last = first.events.at(-1)!.event.seq;
    const live = readEvents(`${url}&after=${last}`, auth(), (ev, comments) => comments.length >= 1 && ev.some((e) => e.event.type === 'state' && e.event.to === 'CANCELLED'));
    await new Promise((r) => setTimeout(r, 400));
    expect((await api('jobs.cancel', { id: job.id })).status).toBe(200);
    const got = await live;
    expect(got.comments[0]).toMatch(/^: heartbeat /);
    expect(got.events.every((e) => e.event.seq > last)).toBe(true);
    expect(got.events.at(-1)!.event).toMatchObject({ type: 'state', to: 'CANCELLED' });

    const report = (await api('jobs.report', { id: job.id })).body.value as { json: string; markdown: string; filename_base: string };
    expect(report.filename_base).toBe(`h2k-job-${job.id}`);
    const parsed = JSON.parse(report.json) as { job: { summary: { id: string; state: string } }; events: WorkerEvent[] };
    expect(parsed.job.summary).toMatchObject({ id: job.id, state: 'CANCELLED' });
    expect(parsed.events.some((e) => e.type === 'progress')).toBe(false);
    expect(report.markdown).toContain(`# Job ${job.id}: convert`);
    expect(report.markdown).toMatch(/\| QUEUED \| .* \| .* s \| queued with priority 50 \|/);
    expect(report.markdown).toContain('**The job was cancelled.** (`cancelled`, user)');
  });

  it('streams every job\'s events by global position, and resumes from one', async () => {
    const url = `${server.origin}/api/events`;
    // Submitted once the stream is open: a stream without `after` starts at the newest event.
    const job = new Promise((r) => setTimeout(r, 300)).then(() => api('jobs.submit', { spec: slowSpec('global', '0') }));
    const got = await readEvents(url, auth(), (ev) => ev.some((e) => e.event.type === 'state' && e.event.to === 'COMPLETED'));
    const id = ((await job).body.value as JobSummary).id;
    const mine = got.events.filter((e) => e.event.job_id === id);
    expect(mine.map((e) => e.event.type === 'state' && e.event.to).filter(Boolean)).toEqual(['CREATED', 'VALIDATED', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'COMPLETED']);
    const ids = got.events.map((e) => Number(e.id));
    expect([...ids].sort((a, b) => a - b)).toEqual(ids);
    const from = ids[2]!;
    const again = await readEvents(`${url}?after=${from}`, auth(), (ev) => ev.length >= 3);
    expect(again.events.slice(0, 3).map((e) => Number(e.id))).toEqual(ids.slice(3, 6));
    expect(await readEvents(`${url}?job_id=nope`, auth(), () => true)).toMatchObject({ status: 404 });
    expect(await readEvents(`${url}?after=-1`, auth(), () => true)).toMatchObject({ status: 400 });
  });
});
