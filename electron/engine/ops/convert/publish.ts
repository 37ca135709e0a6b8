/**
 * Making a finished output durable and visible: fsync every file and its folder, then move it to
 * its final name (extents first, the descriptor last, so a descriptor never names a missing
 * extent), then fsync the destination folder.
 *
 * Without overwrite a file is published with link(2) then unlink(2) of the temporary name: link
 * fails with EEXIST instead of replacing a file that appeared meanwhile (rename(2) would replace
 * it silently). Filesystems without hard links fall back to a checked rename. With overwrite,
 * rename(2) replaces the old file atomically.
 */
import { constants } from 'node:fs';
import { link, open, readFile, readdir, rename, rmdir, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { WorkerError } from '../../../../shared/errors';
import { descriptorText, parseVmdkDescriptor } from '../../image/magic';

/** fsync a file or folder by path. */
export async function fsyncPath(path: string): Promise<void> {
  const fh = await open(path, constants.O_RDONLY);
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/**
 * The files qemu-img wrote for one output, in publishing order: the extents a text descriptor
 * names (read from the descriptor qemu-img wrote), then the descriptor or the single disk file.
 */
export async function outputFiles(target: string, multiFile: boolean): Promise<{ path: string; role: 'disk' | 'extent' | 'descriptor' }[]> {
  if (!multiFile) return [{ path: target, role: 'disk' }];
  const head = (await readFile(target)).subarray(0, 64 * 1024);
  // A text descriptor starts with "# Disk DescriptorFile"; a sparse vmdk starts with "KDMV".
  if (head.subarray(0, 4).toString('latin1') === 'KDMV') return [{ path: target, role: 'disk' }];
  const d = parseVmdkDescriptor(descriptorText(head));
  const dir = dirname(target);
  const extents = d.extents.filter((e) => e.file).map((e) => ({ path: join(dir, e.file), role: 'extent' as const }));
  for (const e of extents) {
    if (dirname(e.path) !== dir) throw new WorkerError('internal', { detail: `qemu-img named an extent outside its folder: ${e.path}` });
  }
  const present = new Set(await readdir(dir));
  const missing = extents.filter((e) => !present.has(basename(e.path)));
  if (missing.length) throw new WorkerError('tool_failed', { detail: `qemu-img wrote a descriptor naming missing extents: ${missing.map((m) => m.path).join(', ')}` });
  return [...extents, { path: target, role: 'descriptor' }];
}

/** fsync each file, then the folder holding them. */
export async function flushFiles(paths: readonly string[]): Promise<void> {
  for (const p of paths) await fsyncPath(p);
  for (const d of new Set(paths.map((p) => dirname(p)))) await fsyncPath(d);
}

/**
 * Move one file to its final path. `onOwned(final)` is called as soon as the final path is ours
 * (so it can be declared partial until the whole job is published). Throws `output_exists` when
 * the final path appeared meanwhile and overwrite is off.
 */
export async function publishFile(from: string, to: string, overwrite: boolean, onOwned: (path: string) => void): Promise<void> {
  if (overwrite) {
    onOwned(to);
    await rename(from, to);
    return;
  }
  try {
    await link(from, to);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') throw new WorkerError('output_exists', { detail: `${to} appeared while the job ran` });
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'EOPNOTSUPP' && code !== 'EXDEV') throw err;
    // No hard links here (vfat, some network filesystems): check, then rename.
    if (await stat(to).then(() => true, () => false)) throw new WorkerError('output_exists', { detail: `${to} appeared while the job ran` });
    onOwned(to);
    await rename(from, to);
    return;
  }
  onOwned(to);
  await unlink(from);
}

/** Remove the (now empty) temporary folder of a multi-file output. */
export async function removeEmptyDir(dir: string): Promise<void> {
  await rmdir(dir);
}
