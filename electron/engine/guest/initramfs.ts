/**
 * Listing an initramfs copied out of the guest (guestfish `download`), on the host, without
 * unpacking it: the file is a sequence of segments (Linux's Documentation/driver-api/
 * early-userspace/buffer-format.rst) — uncompressed newc cpio archives (dracut's and
 * initramfs-tools' early microcode archive), zero padding, and a compressed cpio that runs to
 * the end of the file (gzip, zstd, xz, lzma, lz4, bzip2; Debian 12 uses zstd, RHEL 9 gzip or
 * zstd). gzip is read with node:zlib; the others are decompressed to a scratch file by the
 * host's zstd, xz, lz4 or bzip2 (argument arrays, never a shell). A missing decompressor
 * leaves the listing incomplete, with the reason in `error`.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { DriverPresence, VirtioDriver } from '../../../shared/protocol';
import type { SessionRun } from './session';

export type Compression = 'gzip' | 'zstd' | 'xz' | 'lzma' | 'lz4' | 'bzip2';

/** The compression a segment starts with, from its magic bytes; null when none is recognised. */
export function compressionOf(head: Buffer): Compression | null {
  if (head[0] === 0x1f && (head[1] === 0x8b || head[1] === 0x9e)) return 'gzip';
  if (head.readUInt32LE(0) === 0xfd2fb528) return 'zstd';
  if (head.subarray(0, 6).equals(Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]))) return 'xz';
  if (head[0] === 0x5d && head[1] === 0x00 && head[2] === 0x00) return 'lzma';
  if (head.readUInt32LE(0) === 0x184c2102 || head.readUInt32LE(0) === 0x184d2204) return 'lz4';
  if (head.subarray(0, 3).toString('latin1') === 'BZh') return 'bzip2';
  return null;
}

const CPIO_MAGICS = new Set(['070701', '070702']);
const HEADER = 110;
const pad4 = (n: number) => (4 - (n % 4)) % 4;

/** A forward reader over a file with a 1 MiB window (cpio headers are small and many). */
class Reader {
  private buf = Buffer.alloc(0);
  private bufAt = 0;
  constructor(
    private readonly fh: FileHandle,
    readonly size: number,
  ) {}
  async read(at: number, len: number): Promise<Buffer> {
    if (at >= this.bufAt && at + len <= this.bufAt + this.buf.length) return this.buf.subarray(at - this.bufAt, at - this.bufAt + len);
    const want = Math.max(len, 1 << 20);
    const b = Buffer.alloc(Math.min(want, Math.max(0, this.size - at)));
    const { bytesRead } = await this.fh.read(b, 0, b.length, at);
    this.buf = b.subarray(0, bytesRead);
    this.bufAt = at;
    return this.buf.subarray(0, Math.min(len, bytesRead));
  }
}

/**
 * Parse newc cpio archives from `at` on: returns the names listed and the offset after the
 * last archive's trailer (and any zero padding after it). Stops at the first byte that is
 * neither a cpio header nor padding, returning that offset.
 */
async function readCpios(r: Reader, at: number, names: string[]): Promise<{ end: number; archives: number }> {
  let pos = at;
  let archives = 0;
  for (;;) {
    // Skip zero padding between archives.
    while (pos < r.size) {
      const chunk = await r.read(pos, Math.min(4096, r.size - pos));
      const nz = chunk.findIndex((b) => b !== 0);
      if (nz < 0) pos += chunk.length;
      else {
        pos += nz;
        break;
      }
    }
    if (pos + 6 > r.size) return { end: pos, archives };
    const magic = (await r.read(pos, 6)).toString('latin1');
    if (!CPIO_MAGICS.has(magic)) return { end: pos, archives };
    archives++;
    for (;;) {
      const h = await r.read(pos, HEADER);
      if (h.length < HEADER || !CPIO_MAGICS.has(h.subarray(0, 6).toString('latin1'))) throw new Error(`bad cpio header at byte ${pos}`);
      const filesize = parseInt(h.subarray(54, 62).toString('latin1'), 16);
      const namesize = parseInt(h.subarray(94, 102).toString('latin1'), 16);
      if (!Number.isFinite(filesize) || !Number.isFinite(namesize) || namesize < 1) throw new Error(`bad cpio header at byte ${pos}`);
      const name = (await r.read(pos + HEADER, namesize - 1)).toString('utf8');
      pos += HEADER + namesize;
      pos += pad4(HEADER + namesize);
      pos += filesize + pad4(filesize);
      if (name === 'TRAILER!!!') break;
      names.push(name.replace(/^\.\//, '').replace(/^\//, ''));
      if (pos > r.size) throw new Error('cpio archive cut off');
    }
  }
}

async function copyTail(src: string, from: number, dest: string): Promise<void> {
  await pipeline(createReadStream(src, { start: from }), createWriteStream(dest, { mode: 0o600 }));
}

/**
 * Host decompressors: command and arguments reading `<out>.<ext>` and writing `out` (no stdin,
 * no shell). xz, bzip2 and lzma write the input's name minus its suffix, which is `out`.
 */
function decompressor(c: Exclude<Compression, 'gzip'>, out: string): { command: string; args: string[]; input: string } {
  switch (c) {
    case 'zstd':
      return { command: 'zstd', args: ['-d', '-q', '-f', '--no-progress', '-o', out, '--', `${out}.zst`], input: `${out}.zst` };
    case 'lz4':
      return { command: 'lz4', args: ['-d', '-q', '-f', `${out}.lz4`, out], input: `${out}.lz4` };
    case 'xz':
      // --single-stream: stop after the first stream and ignore the padding after it.
      return { command: 'xz', args: ['-d', '-k', '-f', '-q', '--single-stream', '--', `${out}.xz`], input: `${out}.xz` };
    case 'lzma':
      return { command: 'xz', args: ['-d', '-k', '-f', '-q', '--format=lzma', '--', `${out}.lzma`], input: `${out}.lzma` };
    case 'bzip2':
      return { command: 'bzip2', args: ['-d', '-k', '-f', '-q', '--', `${out}.bz2`], input: `${out}.bz2` };
  }
}

export interface InitramfsListing {
  segments: string[];
  names: string[];
  error: string | null;
}

/**
 * List every file of an initramfs (all segments). `scratch(suffix)` gives fresh paths for
 * intermediate files, all removed before returning. Never throws for a damaged or unreadable
 * image: what could be listed is returned with the reason in `error`.
 */
export async function listInitramfs(path: string, run: SessionRun, scratch: (suffix: string) => string): Promise<InitramfsListing> {
  const names: string[] = [];
  const segments: string[] = [];
  const temps: string[] = [];
  let error: string | null = null;
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const r = new Reader(fh, size);
    const { end, archives } = await readCpios(r, 0, names);
    for (let i = 0; i < archives; i++) segments.push('cpio');
    if (end < size) {
      const head = await r.read(end, 8);
      const c = head.length >= 4 ? compressionOf(head) : null;
      if (!c) {
        error = `unrecognised data at byte ${end} of ${size}`;
      } else {
        segments.push(c);
        const plain = scratch('.cpio');
        temps.push(plain);
        try {
          if (c === 'gzip') {
            await pipeline(createReadStream(path, { start: end }), createGunzip(), createWriteStream(plain, { mode: 0o600 })).catch((err: unknown) => {
              // Trailing padding after the gzip member is not an error for the kernel either.
              if (!/unexpected end|trailing|incorrect header/i.test(String(err))) throw err;
            });
          } else {
            const d = decompressor(c, plain);
            temps.push(d.input);
            await copyTail(path, end, d.input);
            let res;
            try {
              res = await run({ command: d.command, args: d.args, timeoutMs: 300_000 });
            } catch (err) {
              if ((err as { code?: string }).code === 'ENOENT') throw new Error(`${d.command} is not installed on this machine (needed for ${c}-compressed initramfs)`, { cause: err });
              throw err;
            }
            const made = await stat(plain).catch(() => null);
            if (res.exitCode !== 0 && !made?.size) throw new Error(`${d.command} failed: ${res.stderr.trim().split('\n')[0] ?? `exit code ${res.exitCode}`}`);
          }
          const pfh = await open(plain, 'r');
          try {
            const pr = new Reader(pfh, (await pfh.stat()).size);
            const inner = await readCpios(pr, 0, names);
            if (inner.archives === 0) error = `the ${c} segment holds no cpio archive`;
            else if (inner.end < pr.size) error = `unrecognised data after the cpio archives inside the ${c} segment`;
          } finally {
            await pfh.close();
          }
        } catch (err) {
          error = (err as Error).message;
        }
      }
    }
  } catch (err) {
    error = (err as Error).message;
  } finally {
    await fh.close();
    await Promise.all(temps.map((t) => rm(t, { force: true })));
  }
  return { segments, names, error };
}

/** Kernel module names in a listing (`…/vmw_pvscsi.ko.zst` → vmw_pvscsi), sorted, unique. */
export function modulesIn(paths: readonly string[]): string[] {
  const out = new Set<string>();
  for (const p of paths) {
    const m = /(?:^|\/)([^/]+)\.ko(?:\.(?:xz|zst|gz))?$/.exec(p);
    if (m) out.add(m[1]!);
  }
  return [...out].sort();
}

const DRIVERS: readonly VirtioDriver[] = ['virtio_blk', 'virtio_scsi', 'virtio_net', 'virtio_pci'];

/** Which virtio drivers a list of module paths holds (`…/virtio_blk.ko`, `.ko.xz`, `.ko.zst`, `.ko.gz`). */
export function driversIn(paths: readonly string[]): Set<VirtioDriver> {
  const found = new Set<VirtioDriver>();
  for (const p of paths) {
    const m = /(?:^|\/)(virtio_blk|virtio_scsi|virtio_net|virtio_pci)\.ko(?:\.(?:xz|zst|gz))?:?$/.exec(p.trim());
    if (m) found.add(m[1] as VirtioDriver);
  }
  return found;
}

/**
 * Presence of each virtio driver: `module` when a .ko is listed, `builtin` when the kernel
 * has it built in (listed in modules.builtin), `absent` otherwise; all null when `known` is false.
 */
export function driverPresence(modules: ReadonlySet<VirtioDriver>, builtin: ReadonlySet<VirtioDriver>, known = true): DriverPresence {
  const out = {} as DriverPresence;
  for (const d of DRIVERS) out[d] = !known ? null : builtin.has(d) ? 'builtin' : modules.has(d) ? 'module' : 'absent';
  return out;
}
