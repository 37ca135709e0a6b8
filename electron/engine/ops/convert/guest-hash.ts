/**
 * sha256 of what a guest sees: the virtual disk's bytes, decoded from whatever format holds them.
 *
 * qemu-img cannot stream a disk to a pipe (`qemu-img dd ... of=/dev/stdout` and `convert` to a
 * pipe both fail with "Could not resize file: Invalid argument"; the `file` driver wants a
 * regular file), so the image is served read-only by `qemu-nbd` on a private Unix socket and read
 * by the worker's own NBD client (nbd-client.ts). Holes come back as NBD hole chunks and are
 * hashed from a zeroed buffer: no temporary copy, no kernel NBD device, no root.
 */
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { connect } from 'node:net';
import { join } from 'node:path';
import type { ImageFormat } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { firstLines } from '../../../tools/qemu-img';
import { buildNbdServeArgs } from '../../../tools/qemu-img-convert';
import type { ToolResult } from '../../../tools/spawn';
import type { OperationContext } from '../../types';
import { NBD_READ_SIZE, nbdOpen, type NbdExport } from './nbd-client';

/** Reads kept in flight: enough to keep qemu-nbd busy while the previous chunk is hashed. */
const DEPTH = 4;

export interface GuestHash {
  /** sha256 (hex) of bytes 0 .. `length` of the virtual disk. */
  sha256: string;
  /** Bytes hashed. */
  length: number;
  /** The virtual size qemu-nbd reported. */
  size: number;
  /** Bytes past `length` (when the disk is larger) all read as zero; null when there were none. */
  tailZero: boolean | null;
}

export interface GuestHashOptions {
  /** Hash only the first `length` bytes (default: the whole disk); the rest is checked to be zero. */
  length?: number;
  /** Called with the bytes read so far (hashed plus tail checked). */
  onBytes?: (done: number, total: number) => void;
}

type Ctx = Pick<OperationContext, 'run' | 'signal' | 'partial' | 'settled'>;

async function connectWhenListening(socket: string, exited: () => ToolResult | null, signal: AbortSignal): Promise<NbdExport> {
  const deadline = Date.now() + 30_000;
  let last: unknown = null;
  for (;;) {
    if (signal.aborted) throw signal.reason;
    const gone = exited();
    if (gone) throw new WorkerError('tool_failed', { detail: `qemu-nbd exited (${gone.signal ?? gone.exitCode}) before serving: ${firstLines(gone.stderr) || 'no message'}` });
    if (existsSync(socket)) {
      try {
        return await nbdOpen(socket);
      } catch (err) {
        // The socket file exists from bind() on, connections are refused until listen().
        last = err;
        if (!['ECONNREFUSED', 'ENOENT'].includes((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    }
    if (Date.now() > deadline) throw new WorkerError('tool_failed', { detail: `qemu-nbd did not start serving within 30 s${last ? `: ${String(last)}` : ''}` });
    await new Promise((r) => setTimeout(r, 20));
  }
}

/**
 * Hash the guest-visible bytes of `source` (a path or `json:` spec in `format`). The socket
 * folder is declared partial so a crash leaves nothing behind. Throws `tool_missing` when
 * qemu-nbd is not installed, `tool_failed` when it cannot serve the image or a read fails, and
 * the abort reason when the job is aborted (qemu-nbd is then killed by the context).
 */
export async function guestHash(ctx: Ctx, source: string, format: ImageFormat, opts: GuestHashOptions = {}): Promise<GuestHash> {
  const dir = await mkdtemp(join(tmpdir(), 'h2k-nbd-'));
  ctx.partial(dir, 'dir');
  const socket = join(dir, 's');
  let result: ToolResult | null = null;
  let spawnError: unknown = null;
  const server = ctx
    .run({ command: 'qemu-nbd', args: buildNbdServeArgs(source, format, socket) })
    .then((r) => {
      result = r;
      return r;
    })
    .catch((err: unknown) => {
      spawnError = err;
      return null;
    });
  let exp: NbdExport | null = null;
  const onAbort = () => exp?.destroy();
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  try {
    exp = await connectWhenListening(
      socket,
      () => {
        if (spawnError) {
          if ((spawnError as { code?: string }).code === 'ENOENT') throw new WorkerError('tool_missing', { detail: 'qemu-nbd not found on PATH (Debian package qemu-utils); it is needed for checksum verification' });
          throw spawnError;
        }
        return result;
      },
      ctx.signal,
    );
    const size = exp.size;
    const length = Math.min(opts.length ?? size, size);
    const hash = createHash('sha256');
    const queue: { offset: number; length: number; data: Promise<Buffer> }[] = [];
    let next = 0;
    let done = 0;
    let tailZero: boolean | null = length < size ? true : null;
    const e = exp;
    const issue = () => {
      while (queue.length < DEPTH && next < size) {
        const n = Math.min(NBD_READ_SIZE, size - next);
        const data = e.read(next, n);
        data.catch(() => undefined);
        queue.push({ offset: next, length: n, data });
        next += n;
      }
    };
    issue();
    while (queue.length) {
      const head = queue.shift()!;
      const buf = await head.data;
      if (ctx.signal.aborted) throw ctx.signal.reason;
      issue();
      const inHash = Math.max(0, Math.min(head.length, length - head.offset));
      if (inHash > 0) hash.update(inHash === buf.length ? buf : buf.subarray(0, inHash));
      if (inHash < buf.length && tailZero) {
        const tail = buf.subarray(inHash);
        // A zero tail is the common case: compare 64 KiB at a time against zeroes.
        for (let i = 0; i < tail.length && tailZero; i += 65536) {
          const part = tail.subarray(i, i + 65536);
          if (!part.equals(ZERO.subarray(0, part.length))) tailZero = false;
        }
      }
      done += head.length;
      opts.onBytes?.(done, size);
    }
    await exp.close();
    exp = null;
    const r = await server;
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (r && r.exitCode !== 0 && r.exitCode !== null) {
      throw new WorkerError('tool_failed', { detail: `qemu-nbd ended with ${r.exitCode}: ${firstLines(r.stderr) || 'no message'}` });
    }
    return { sha256: hash.digest('hex'), length, size, tailZero };
  } catch (err) {
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (err instanceof WorkerError) throw err;
    throw new WorkerError('tool_failed', { detail: `reading ${source} through qemu-nbd: ${(err as Error).message}` });
  } finally {
    ctx.signal.removeEventListener('abort', onAbort);
    exp?.destroy();
    // qemu-nbd (without --persistent) exits when its client leaves. If no client ever got in
    // (a failed handshake, an early error), be that client for a moment so it exits too.
    if (!result && !spawnError && existsSync(socket)) await poke(socket);
    await Promise.race([server, new Promise((r) => setTimeout(r, 5000))]);
    await rm(dir, { recursive: true, force: true });
    ctx.settled(dir);
  }
}

const ZERO = Buffer.alloc(65536);

/** Connect to a Unix socket and hang up at once (resolves either way within a second). */
function poke(socket: string): Promise<void> {
  return new Promise((resolve) => {
    const s = connect({ path: socket });
    const done = () => {
      s.destroy();
      resolve();
    };
    s.once('connect', done);
    s.once('error', done);
    setTimeout(done, 1000).unref();
  });
}
