/**
 * sha256 of what a guest sees: the virtual disk's bytes, decoded from whatever format holds them.
 *
 * qemu-img cannot stream a disk to a pipe (`qemu-img dd ... of=/dev/stdout` and `convert` to a
 * pipe both fail with "Could not resize file: Invalid argument"; the `file` driver wants a
 * regular file). So libnbd's `nbdcopy` reads the image from a `qemu-nbd --read-only` it starts
 * itself (systemd socket activation: `nbdcopy -- [ qemu-nbd ... ] -`) and writes the guest
 * bytes to its stdout, which is hashed here as it streams: no temporary copy, no socket of
 * ours, no kernel NBD device, no root.
 */
import { createHash } from 'node:crypto';
import type { ImageFormat } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { firstLines } from '../../../tools/qemu-img';
import { buildNbdCopyArgs } from '../../../tools/qemu-img-convert';
import type { OperationContext } from '../../types';

export interface GuestHash {
  /** sha256 (hex) of bytes 0 .. `length` of the virtual disk. */
  sha256: string;
  /** Bytes hashed. */
  length: number;
  /** The virtual size: every byte nbdcopy streamed. */
  size: number;
  /** Bytes past `length` (when the disk is larger) all read as zero; null when there were none. */
  tailZero: boolean | null;
}

export interface GuestHashOptions {
  /** Hash only the first `length` bytes (default: the whole disk); the rest is checked to be zero. */
  length?: number;
  /** The expected virtual size in bytes, for progress (the true size is counted as it streams). */
  sizeHint?: number;
  /** Called with the bytes read so far and the expected total. */
  onBytes?: (done: number, total: number) => void;
}

type Ctx = Pick<OperationContext, 'run' | 'signal'>;

/**
 * Hash the guest-visible bytes of `source` (a path or `json:` spec in `format`). Throws
 * `tool_missing` when nbdcopy (Debian package libnbd-bin) or qemu-nbd (qemu-utils) is not
 * installed, `tool_failed` when they cannot read the image, and the abort reason when the job
 * is aborted (the tools are then killed with their process group by the context).
 */
export async function guestHash(ctx: Ctx, source: string, format: ImageFormat, opts: GuestHashOptions = {}): Promise<GuestHash> {
  const hash = createHash('sha256');
  const limit = opts.length ?? Number.POSITIVE_INFINITY;
  let done = 0;
  let tailZero: boolean | null = null;
  let result;
  try {
    result = await ctx.run({
      command: 'nbdcopy',
      args: buildNbdCopyArgs(source, format),
      onStdoutBytes: (chunk) => {
        const inHash = Math.max(0, Math.min(chunk.length, limit - done));
        if (inHash > 0) hash.update(inHash === chunk.length ? chunk : chunk.subarray(0, inHash));
        if (inHash < chunk.length) {
          tailZero ??= true;
          if (tailZero && chunk.subarray(inHash).some((b) => b !== 0)) tailZero = false;
        }
        done += chunk.length;
        opts.onBytes?.(done, opts.sizeHint ?? done);
      },
    });
  } catch (err) {
    if ((err as { code?: string }).code === 'ENOENT') {
      throw new WorkerError('tool_missing', { detail: 'nbdcopy not found on PATH (Debian package libnbd-bin); it is needed for checksum verification' });
    }
    throw err;
  }
  if (ctx.signal.aborted) throw ctx.signal.reason;
  if (result.exitCode !== 0) {
    const text = result.stderr.trim();
    if (/qemu-nbd.*(not found|no such file)/i.test(text)) throw new WorkerError('tool_missing', { detail: 'qemu-nbd not found (Debian package qemu-utils)' });
    throw new WorkerError('tool_failed', { detail: `nbdcopy reading ${source} ended with ${result.signal ?? result.exitCode}: ${firstLines(text) || 'no message'}` });
  }
  return { sha256: hash.digest('hex'), length: Math.min(done, limit), size: done, tailZero };
}
