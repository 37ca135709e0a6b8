/**
 * The REST server's guards, as pure functions: it listens on loopback only, answers only to the
 * Host names it listens as (so a DNS-rebound page cannot reach it), refuses requests sent by
 * another web page (Origin), and requires the per-start token, carried as `Authorization:
 * Bearer` by scripts and as an HttpOnly, SameSite=Strict cookie by the browser (EventSource
 * cannot set headers). The token reaches the browser once, in the URL the server prints; the
 * server swaps it for the cookie and redirects, so it leaves the address bar and the history.
 */
import { randomBytes, timingSafeEqual } from 'node:crypto';
import { isIP } from 'node:net';
import { WorkerError } from '../../shared/errors';
import type { ErrorInfo } from '../../shared/protocol';

/** A fresh token: 32 random bytes, base64url (43 characters). */
export function newToken(): string {
  return randomBytes(32).toString('base64url');
}

/** True for 127.0.0.0/8, ::1 and IPv4-mapped loopback (`::ffff:127.x.y.z`). */
export function isLoopbackAddress(address: string | undefined | null): boolean {
  if (!address) return false;
  const a = address.replace(/^\[|\]$/g, '').toLowerCase();
  const v4 = a.startsWith('::ffff:') ? a.slice(7) : a;
  if (isIP(v4) === 4) return v4.split('.')[0] === '127';
  // The URL parser writes IPv6 in its shortest form, so every spelling of ::1 becomes "[::1]".
  if (isIP(a) === 6) return new URL(`http://[${a}]/`).hostname === '[::1]';
  return false;
}

/**
 * The address to listen on for `--host`: a loopback IP as given, `localhost` as 127.0.0.1.
 * Anything else is refused until fleet work adds real authentication.
 */
export function listenAddress(host: string): string {
  const h = host.trim().replace(/^\[|\]$/g, '');
  if (h.toLowerCase() === 'localhost') return '127.0.0.1';
  if (isIP(h) && isLoopbackAddress(h)) return h;
  throw new WorkerError('host_not_loopback', {
    detail: `--host ${host} is not a loopback address: h2k-worker serve listens on 127.0.0.0/8 or ::1 only, until fleet mode adds real authentication`,
  });
}

/** The Host header values this server answers to: its own address and `localhost`, with its port. */
export function allowedHosts(address: string, port: number): Set<string> {
  const hostPart = isIP(address) === 6 ? `[${address}]` : address;
  return new Set([`${hostPart}:${port}`, `localhost:${port}`].map((h) => h.toLowerCase()));
}

/** The cookie carrying the token. Cookies ignore ports, so the name carries it: two servers on one host do not clash. */
export function cookieName(port: number): string {
  return `h2k_token_${port}`;
}

export function tokenCookie(port: number, token: string): string {
  return `${cookieName(port)}=${token}; Path=/; HttpOnly; SameSite=Strict`;
}

/** Cookies of a Cookie header, by name (first wins). */
export function parseCookies(header: string | undefined): Map<string, string> {
  const out = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 1) continue;
    const name = part.slice(0, eq).trim();
    if (!out.has(name)) out.set(name, part.slice(eq + 1).trim());
  }
  return out;
}

/** Constant-time comparison of a presented token with the server's. */
export function tokenMatches(presented: string | undefined | null, token: string): boolean {
  if (!presented) return false;
  const a = Buffer.from(presented);
  const b = Buffer.from(token);
  return a.length === b.length && timingSafeEqual(a, b);
}

export interface RequestFacts {
  remoteAddress: string | undefined;
  host: string | undefined;
  origin: string | undefined;
  authorization: string | undefined;
  cookie: string | undefined;
}

export interface Guard {
  token: string;
  port: number;
  hosts: Set<string>;
}

/**
 * Whether a request may reach the server at all (peer on loopback, Host one of ours, Origin
 * absent or our own). Returns the refusal as ErrorInfo, or null.
 */
export function checkRequest(g: Guard, r: RequestFacts): ErrorInfo | null {
  if (!isLoopbackAddress(r.remoteAddress)) {
    return new WorkerError('forbidden_origin', { detail: `peer ${r.remoteAddress ?? '?'} is not on loopback` }).info;
  }
  const host = (r.host ?? '').toLowerCase();
  if (!g.hosts.has(host)) {
    return new WorkerError('forbidden_origin', { detail: `Host "${r.host ?? ''}" is not this server (expected one of ${[...g.hosts].join(', ')})` }).info;
  }
  if (r.origin !== undefined && r.origin.toLowerCase() !== `http://${host}`) {
    return new WorkerError('forbidden_origin', { detail: `Origin "${r.origin}" is not this server` }).info;
  }
  return null;
}

/** Whether a request carries the token (Bearer header, or our cookie). Returns the refusal, or null. */
export function checkToken(g: Guard, r: RequestFacts): ErrorInfo | null {
  const auth = r.authorization;
  if (auth !== undefined) {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(auth);
    if (m && tokenMatches(m[1], g.token)) return null;
    return new WorkerError('unauthorized', { detail: 'the Authorization header does not carry this server\'s token' }).info;
  }
  if (tokenMatches(parseCookies(r.cookie).get(cookieName(g.port)), g.token)) return null;
  return new WorkerError('unauthorized').info;
}

/** HTTP status of an error, by its code, else by who can fix it. */
export function statusFor(info: ErrorInfo): number {
  const byCode: Record<string, number> = {
    bad_request: 400,
    validation_failed: 422,
    unauthorized: 401,
    forbidden_origin: 403,
    forbidden_sender: 403,
    path_outside_roots: 403,
    not_found: 404,
    job_exists: 409,
    not_terminal: 409,
    already_terminal: 409,
    runner_busy: 409,
    not_implemented: 501,
    capability_missing: 422,
    internal: 500,
  };
  return byCode[info.code] ?? (info.kind === 'user' ? 400 : info.kind === 'environment' ? 503 : 500);
}

/**
 * The Content Security Policy of the renderer, as the server sends it (and index.html repeats
 * in a meta tag for Electron's file:// load): only our own scripts, styles and connections.
 */
export const CONTENT_SECURITY_POLICY = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "img-src 'self' data:",
  "font-src 'self'",
  "connect-src 'self'",
  "manifest-src 'self'",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "object-src 'none'",
].join('; ');
