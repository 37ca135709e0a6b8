/**
 * Is a disk in use? QEMU takes OFD byte-range locks (fcntl F_OFD_SETLK) on every image it
 * opens (QEMU's block/file-posix.c, `raw_check_lock_bytes`): a running VM, a `qemu-nbd` or a
 * `qemu-io` opened read-write holds the "write" permission and shares no write with others. A
 * `qemu-img info` WITHOUT `-U` asks for a consistent read, which that lock refuses with
 * `Failed to get shared "write" lock` / `Is another process using the image [PATH]?`.
 *
 * So the probe is: `qemu-img info` without `-U` first. The lock message → in use: `qemu-img info
 * -U` (force share, read only, never writes) gives the info anyway. Any other failure is
 * classified as qemu-img.ts classifies it. Nothing is ever opened for writing.
 *
 * A raw image is the exception: its holder shares "consistent read" (raw has no metadata to
 * keep consistent), so `qemu-img info` without -U succeeds on it. When info succeeds, the file's
 * locks are read from /proc/locks (proc(5)): QEMU locks byte 100 + bit for each permission it
 * holds, and a lock covering byte 101 (BLK_PERM_WRITE, bit 1: include/block/block-common.h)
 * means a writer has it open, whatever the format.
 */
import { readFile, stat } from 'node:fs/promises';
import type { ImageFormat } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { QemuImageInfo, classifyQemuImgError, firstLines, qemuImgInfo, runQemuImg, type Run } from '../../tools/qemu-img';

/** qemu-img's words for a lock held by another process (QEMU 4.0 and later, block/file-posix.c). Pure. */
export function isLockConflict(stderr: string): boolean {
  return /failed to get [^\n]*\block\b|is another process using the image/i.test(stderr);
}

export interface LockAwareInfo {
  info: QemuImageInfo;
  /** true when another process holds the image's write lock (a running VM, qemu-nbd, qemu-io). */
  in_use: boolean;
  /** How it is known, in words (qemu-img's refusal, or the /proc/locks line); null when not in use. */
  lock_detail: string | null;
}

/**
 * `qemu-img info --output=json -f FORMAT -- PATH` without `-U`; on a lock conflict, again with
 * `-U`. Throws WorkerError: `tool_missing` (qemu-img not installed), or the classified code
 * (`image_corrupt`, `image_truncated`, `source_unreadable`, ...) when qemu-img cannot open it.
 */
export async function qemuImgInfoLockAware(run: Run, path: string, format: ImageFormat): Promise<LockAwareInfo> {
  const r = await runQemuImg(run, ['info', '--output=json', '-f', format, '--', path]);
  if (r.exitCode === 0) {
    const info = QemuImageInfo.parse(JSON.parse(r.stdout));
    const held = await writeLockHeld(path);
    return held ? { info, in_use: true, lock_detail: held } : { info, in_use: false, lock_detail: null };
  }
  if (isLockConflict(r.stderr)) {
    const said = firstLines(r.stderr, 2).replace(/\s*\n\s*/g, ' ');
    return { info: await qemuImgInfo(run, path, format), in_use: true, lock_detail: `qemu-img info without -U was refused (${said}); read with -U (force share)` };
  }
  throw new WorkerError(classifyQemuImgError(r.stderr), { detail: `qemu-img info ${path}: ${firstLines(r.stderr || r.stdout) || `exit code ${r.exitCode}`}` });
}

/** QEMU's lock byte for a held "write" permission: 100 + bit 1 (block/file-posix.c, RAW_LOCK_PERM_BASE). */
const QEMU_WRITE_LOCK_BYTE = 101;

/**
 * Whether /proc/locks text (proc(5): `N: OFDLCK ADVISORY READ -1 MAJ:MIN:INODE START END`,
 * device numbers in hex, inode in decimal) holds a lock on the file (dev, ino) covering QEMU's
 * write-permission byte. Returns that line, or null. Pure.
 */
export function writeLockLine(procLocks: string, dev: { major: number; minor: number }, ino: number): string | null {
  for (const line of procLocks.split('\n')) {
    const m = /^\d+:\s+(?:->\s+)?\S+\s+\S+\s+\S+\s+\S+\s+([0-9a-f]+):([0-9a-f]+):(\d+)\s+(\d+)\s+(\d+|EOF)\s*$/i.exec(line.trim());
    if (!m) continue;
    if (parseInt(m[1]!, 16) !== dev.major || parseInt(m[2]!, 16) !== dev.minor || Number(m[3]) !== ino) continue;
    const start = Number(m[4]);
    const end = m[5] === 'EOF' ? Infinity : Number(m[5]);
    if (start <= QEMU_WRITE_LOCK_BYTE && QEMU_WRITE_LOCK_BYTE <= end) return line.trim();
  }
  return null;
}

/**
 * Is the file open for writing by a QEMU process (a lock on its write-permission byte in
 * /proc/locks)? Returns a one-line description when it is, null when not or when /proc/locks
 * cannot be read (not Linux): then only qemu-img's own refusal tells.
 */
async function writeLockHeld(path: string): Promise<string | null> {
  const [st, text] = await Promise.all([stat(path).catch(() => null), readFile('/proc/locks', 'utf8').catch(() => null)]);
  if (!st || text === null) return null;
  // Linux dev_t: major in bits 8-19, minor in bits 0-7 and 20-31 (new_decode_dev).
  const dev = { major: (st.dev >> 8) & 0xfff, minor: (st.dev & 0xff) | ((st.dev >> 12) & 0xfff00) };
  const line = writeLockLine(text, dev, st.ino);
  return line ? `a process holds QEMU's write lock on it (byte ${QEMU_WRITE_LOCK_BYTE}; /proc/locks: ${line})` : null;
}
