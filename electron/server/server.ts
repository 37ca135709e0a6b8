/**
 * `h2k-worker serve`: the worker contract over HTTP for the browser (and scripts), built from the
 * contract's method map: `POST /api/<method>` with the input as JSON, answered with the envelope
 * `{ok, value} | {ok: false, error}` and a status code by error; `GET /api/events` as server-sent
 * events; `GET /api/openapi.json`; and the built renderer (dist/renderer) as static files.
 *
 * It listens on loopback only and guards every request (see security.ts): Host and Origin
 * checked, and the per-start token required on /api, carried as a Bearer header or as the
 * cookie set when the browser opens the printed URL.
 */
import Fastify, { type FastifyReply, type FastifyRequest } from 'fastify';
import fastifyStatic from '@fastify/static';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { METHOD_NAMES, type WorkerHandlers } from '../../shared/contract';
import { WorkerError, errorInfo, toErrorInfo } from '../../shared/errors';
import { JobId, type ErrorInfo } from '../../shared/protocol';
import { dispatch } from '../worker/local-client';
import { createFsHandlers } from '../worker/service-extra';
import type { Worker } from '../worker/worker';
import { VERSION } from '../version';
import { openApiDocument } from './openapi';
import { openStream, parseResumeId, type OpenStream } from './sse';
import {
  CONTENT_SECURITY_POLICY,
  allowedHosts,
  checkRequest,
  checkToken,
  listenAddress,
  newToken,
  tokenCookie,
  tokenMatches,
  statusFor,
  type Guard,
  type RequestFacts,
} from './security';

export const DEFAULT_PORT = 8765;

export interface ServerOptions {
  worker: Pick<Worker, 'service' | 'store' | 'feed'>;
  /** Folders the browser's file picker may show (`--root`). */
  roots: readonly string[];
  /** Loopback address to listen on (default 127.0.0.1). */
  host?: string;
  /** Port (default 8765; 0 picks a free one). */
  port?: number;
  /** The built renderer; when missing, `/` says how to build it. */
  rendererDir?: string | null;
  /** The token (default: a fresh random one). */
  token?: string;
  /** Milliseconds between SSE heartbeats (default 15 s). */
  heartbeatMs?: number;
}

export interface RunningServer {
  /** `http://<address>:<port>` */
  readonly origin: string;
  /** The URL to open: the origin with the token, which the server swaps for a cookie. */
  readonly url: string;
  readonly token: string;
  readonly port: number;
  readonly address: string;
  /** End the event streams and stop listening. */
  close(): Promise<void>;
}

function facts(req: FastifyRequest): RequestFacts {
  const h = req.headers;
  const one = (v: string | string[] | undefined): string | undefined => (Array.isArray(v) ? v[0] : v);
  return {
    remoteAddress: req.socket.remoteAddress,
    host: one(h.host),
    origin: one(h.origin),
    authorization: one(h.authorization),
    cookie: one(h.cookie),
  };
}

function refuse(reply: FastifyReply, info: ErrorInfo): FastifyReply {
  if (info.code === 'unauthorized') reply.header('www-authenticate', 'Bearer');
  return reply.code(statusFor(info)).type('application/json; charset=utf-8').send({ ok: false, error: info });
}

const escapeHtml = (s: string): string => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** A plain page for the browser when it cannot have the app (bad token, renderer not built). */
function page(title: string, lines: string[]): string {
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(title)}</title></head><body><h1>${escapeHtml(title)}</h1>${lines
    .map((l) => `<p>${escapeHtml(l)}</p>`)
    .join('')}</body></html>`;
}

/** Start the server; resolves once it listens. Throws `bad_request` for a non-loopback host. */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  const address = listenAddress(opts.host ?? '127.0.0.1');
  const token = opts.token ?? newToken();
  const handlers: WorkerHandlers = { ...opts.worker.service, ...createFsHandlers(opts.roots) };
  const streams = new Set<OpenStream>();
  let guard: Guard | null = null;

  const app = Fastify({ logger: false, bodyLimit: 1024 * 1024, forceCloseConnections: true, return503OnClosing: true });

  // JSON only: a text/plain or form POST is what a foreign page can send without a preflight.
  app.removeContentTypeParser(['text/plain']);

  app.addHook('onRequest', async (req, reply) => {
    if (!guard) return refuse(reply, errorInfo('internal', { detail: 'the server is starting' }));
    const f = facts(req);
    const refused = checkRequest(guard, f);
    if (refused) return refuse(reply, refused);
    // Decided by the route the router matched, not by the raw URL (which may spell /api as
    // /%61pi): only the app's static files are public; everything else needs the token.
    const route = req.routeOptions.url;
    if (route !== '/' && route !== '/*') {
      const noToken = checkToken(guard, f);
      if (noToken) return refuse(reply, noToken);
      return;
    }
    const url = new URL(req.url, 'http://server.invalid');
    if (url.pathname === '/' && url.searchParams.has('token')) {
      // The printed URL: swap the token for the cookie and drop it from the address bar.
      if (tokenMatches(url.searchParams.get('token'), guard.token)) {
        return reply.code(303).header('set-cookie', tokenCookie(guard.port, guard.token)).header('location', '/').send();
      }
      const info = errorInfo('unauthorized', { detail: 'the token in this URL is not this server\'s (was the server restarted?)' });
      return reply.code(401).type('text/html; charset=utf-8').send(page(info.message, [info.hint, info.detail ?? '']));
    }
  });

  app.addHook('onSend', async (req, reply, payload) => {
    reply.header('content-security-policy', CONTENT_SECURITY_POLICY);
    reply.header('x-content-type-options', 'nosniff');
    reply.header('referrer-policy', 'no-referrer');
    reply.header('x-frame-options', 'DENY');
    reply.header('cross-origin-opener-policy', 'same-origin');
    reply.header('cross-origin-resource-policy', 'same-origin');
    if (req.routeOptions.url !== '/*') reply.header('cache-control', 'no-store');
    return payload;
  });

  app.setErrorHandler((err: Error & { statusCode?: number; code?: string }, _req, reply) => {
    // Fastify's own refusals (bad JSON, wrong content type, body too large) as errors from the catalogue.
    if (err instanceof WorkerError) return refuse(reply, err.info);
    if (err.statusCode && err.statusCode < 500) {
      return reply.code(err.statusCode).send({ ok: false, error: errorInfo('bad_request', { detail: `${err.code ?? ''} ${err.message}`.trim() }) });
    }
    return refuse(reply, toErrorInfo(err));
  });

  app.setNotFoundHandler((req, reply) => {
    const info = errorInfo('bad_request', { detail: `no such endpoint: ${req.method} ${req.url.split('?')[0]}` });
    return reply.code(404).send({ ok: false, error: info });
  });

  for (const method of METHOD_NAMES) {
    app.post(`/api/${method}`, async (req, reply) => {
      try {
        const value = await dispatch(handlers, method, req.body ?? {});
        return reply.send({ ok: true, value });
      } catch (err) {
        return refuse(reply, toErrorInfo(err));
      }
    });
  }

  app.get('/api/openapi.json', async () => openApiDocument(VERSION));

  app.get('/api/events', async (req, reply) => {
    const q = req.query as Record<string, unknown>;
    let jobId: string | null = null;
    if (q.job_id !== undefined && q.job_id !== '') {
      const parsed = JobId.safeParse(q.job_id);
      if (!parsed.success) return refuse(reply, errorInfo('bad_request', { fields: [{ path: 'job_id', message: 'a job id is expected' }] }));
      jobId = parsed.data;
      try {
        opts.worker.store.summary(jobId);
      } catch (err) {
        return refuse(reply, toErrorInfo(err));
      }
    }
    if (q.after !== undefined && parseResumeId(q.after) === null) {
      return refuse(reply, errorInfo('bad_request', { fields: [{ path: 'after', message: 'a whole number of 0 or more is expected' }] }));
    }
    const lastEventId = req.headers['last-event-id'];
    const after = parseResumeId(Array.isArray(lastEventId) ? lastEventId[0] : lastEventId) ?? parseResumeId(q.after);
    reply.hijack();
    const res = reply.raw;
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      connection: 'keep-alive',
      'x-accel-buffering': 'no',
      'x-content-type-options': 'nosniff',
    });
    const stream = openStream(
      { store: opts.worker.store, feed: opts.worker.feed, heartbeatMs: opts.heartbeatMs ?? 15_000 },
      { jobId, after },
      res,
      () => streams.delete(stream),
    );
    streams.add(stream);
  });

  const rendererDir = opts.rendererDir ?? null;
  if (rendererDir && existsSync(join(rendererDir, 'index.html'))) {
    await app.register(fastifyStatic, { root: rendererDir, prefix: '/', index: 'index.html', wildcard: true, dotfiles: 'deny', cacheControl: false });
  } else {
    app.get('/', async (_req, reply) =>
      reply.type('text/html; charset=utf-8').send(page('hyper2kvm Workbench', ['The app is not built here: run `npm run build`, then start `h2k-worker serve` again.', 'The API answers at /api/.'])),
    );
  }

  try {
    await app.listen({ host: address, port: opts.port ?? DEFAULT_PORT });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as { code?: string }).code;
    if (code === 'EADDRINUSE') throw new WorkerError('port_in_use', { detail: `${address} port ${opts.port ?? DEFAULT_PORT} is taken (another h2k-worker serve, or another program)` });
    throw err;
  }
  const bound = app.server.address();
  const port = typeof bound === 'object' && bound ? bound.port : (opts.port ?? DEFAULT_PORT);
  guard = { token, port, hosts: allowedHosts(address, port) };
  const origin = `http://${address.includes(':') ? `[${address}]` : address}:${port}`;
  return {
    origin,
    url: `${origin}/?token=${token}`,
    token,
    port,
    address,
    async close() {
      for (const s of [...streams]) s.close();
      await app.close();
    },
  };
}
