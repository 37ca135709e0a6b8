/**
 * Pre-flight of a convert job, before any output exists: the settings qemu-img would refuse,
 * the destination folders, existing outputs (no overwrite unless asked), outputs that would
 * land on an input (the image, one of its extents, a file of its backing chain), and free space
 * against `qemu-img measure`.
 */
import { createHash } from 'node:crypto';
import { constants } from 'node:fs';
import { access, lstat, readdir, realpath, stat, statfs } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import type { ConvertParams, ImageFormat } from '../../../../shared/protocol';
import { convertSettingProblems } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { formatBytes } from '../../../../shared/format';
import { firstLines, QemuMeasure, type Run } from '../../../tools/qemu-img';
import {
  buildMeasureArgs,
  classifyConvertError,
  extentNamePattern,
  measurePlan,
  outputSizeBound,
  predictedExtentNames,
  roundUpToMiB,
  type TargetSettings,
} from '../../../tools/qemu-img-convert';
import type { ResolvedSource } from './source';
import { measureKey, type Measured } from '../../image/probe-cache';

/** Where one disk's output goes, and how it gets there. */
export interface OutputPlan {
  index: number;
  /** Final path of the disk (the descriptor for a multi-file vmdk), absolute. */
  final: string;
  /** Destination folder, symlinks resolved. */
  dir: string;
  name: string;
  /**
   * vmdk outputs are written into a temporary folder under their final name, because qemu-img
   * names the extents after it and writes that name into the descriptor (embedded one included).
   */
  tempDir: string | null;
  /** What qemu-img writes: the temporary file, or the final name inside the temporary folder. */
  target: string;
  /** The path declared partial before anything is created (temporary file or folder). */
  partial: string;
  partialKind: 'file' | 'dir';
  /** Virtual size of the output: the source's, or rounded up to a whole MiB for Azure vpc. */
  virtualSize: number;
  /** The target is created by `qemu-img create` first, then filled with `convert -n`. */
  createFirst: boolean;
  /** Estimated bytes the output needs, and the bytes free in its folder before the copy. */
  required: number;
  /** Where `required` comes from: qemu-img measure (or the virtual size, exact for raw), or outputSizeBound. */
  requiredFrom: 'qemu-img measure' | 'upper bound';
  free: number;
}

/** A disk of the spec for a message: its source, and its member when it is in a package. */
function describeDisk(d: ConvertParams['disks'][number]): string {
  return d.member !== undefined ? `${d.source} member ${d.member}` : d.source;
}

/**
 * The temporary name of an output: `.NAME.h2k-partial-JOBID`, or, when that is longer than the
 * file system's longest name (`nameMax` bytes), `.h2k-partial-JOBID-HASH` (12 hex digits of the
 * name's sha256).
 */
export function temporaryName(name: string, jobId: string, nameMax = 255): string {
  const full = `.${name}.h2k-partial-${jobId}`;
  if (Buffer.byteLength(full) <= nameMax) return full;
  return `.h2k-partial-${jobId}-${createHash('sha256').update(name).digest('hex').slice(0, 12)}`;
}

/**
 * The destination folder, symlinks resolved, checked to exist, be a folder and be writable.
 * Throws `dest_not_writable` saying which in words (no errno text): a folder that does not
 * exist is not created, whether or not the destination ended with `/`.
 */
export async function destinationFolder(given: string): Promise<string> {
  const refuse = (message: string, hint: string) => new WorkerError('dest_not_writable', { message, hint });
  let dir: string;
  try {
    dir = await realpath(given);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw refuse(
        `The destination folder ${given} does not exist.`,
        `Create it first (mkdir -p ${given}), then run the command again; a destination ending with / names a folder, it does not create one.`,
      );
    }
    if (code === 'ENOTDIR') throw refuse(`The destination ${given} is not a folder: part of its path is a file.`, 'Give a folder, or a file name inside an existing folder.');
    if (code === 'EACCES') throw refuse(`The destination folder ${given} cannot be reached: permission denied on a folder of its path.`, 'Pick a folder you can write to.');
    if (code === 'ELOOP') throw refuse(`The destination folder ${given} is a loop of symbolic links.`, 'Give the folder itself.');
    if (code === 'ENAMETOOLONG') throw refuse(`The destination folder's path is too long: ${given}.`, 'Pick a folder with a shorter path.');
    throw new WorkerError('dest_not_writable', { detail: `${given}: ${(err as Error).message}` });
  }
  if (!(await stat(dir)).isDirectory()) throw refuse(`The destination ${given} is a file, not a folder.`, 'Give a folder, or a file name inside an existing folder.');
  try {
    await access(dir, constants.W_OK | constants.X_OK);
  } catch (err) {
    const where = dir !== given ? ` (it is ${dir})` : '';
    if ((err as NodeJS.ErrnoException).code === 'EROFS') {
      throw refuse(`The destination folder ${given}${where} is on a read-only filesystem.`, 'Pick a folder on a writable filesystem, or remount this one read-write.');
    }
    throw refuse(`The destination folder ${given} cannot be written${where}: permission denied.`, 'Pick a folder you can write to, or change its permissions.');
  }
  return dir;
}

/** Linux PATH_MAX: a path handed to a system call has at most PATH_MAX - 1 bytes. */
const PATH_MAX = 4096;

/**
 * The longest file name (bytes) the folder's file system takes, NAME_MAX as pathconf(3) answers
 * it (255 on ext4, xfs, btrfs, tmpfs; less on some FUSE and network file systems). Node has no
 * pathconf, so it is found by asking lstat(2) about names that do not exist: ENAMETOOLONG above
 * the limit, ENOENT (or success) at or below it. Nothing is created.
 */
export async function nameMaxOf(dir: string): Promise<number> {
  const fits = async (n: number): Promise<boolean> => {
    try {
      await lstat(join(dir, 'h'.repeat(n)));
      return true;
    } catch (err) {
      return (err as NodeJS.ErrnoException).code !== 'ENAMETOOLONG';
    }
  };
  if ((await fits(255)) && !(await fits(256))) return 255;
  let lo = 1;
  let hi = 4096;
  if (await fits(hi)) return hi;
  while (hi - lo > 1) {
    const mid = (lo + hi) >> 1;
    if (await fits(mid)) lo = mid;
    else hi = mid;
  }
  return lo;
}

/**
 * Every name the job creates for one output must fit the destination's file system: the file
 * name itself, the extent names qemu-img derives from it (vmdk), and the temporary name it is
 * written under first. Throws `validation_failed` naming the output and the numbers.
 */
function checkNameLengths(index: number, final: string, name: string, extents: readonly string[], tmp: string, nameMax: number): void {
  const refuse = (message: string) => {
    throw new WorkerError('validation_failed', {
      message: 'The output name is too long for its file system.',
      hint: 'Choose a shorter output file name.',
      fields: [{ path: `params.disks.${index}.output`, message }],
    });
  };
  const finalBytes = Buffer.byteLength(final);
  if (finalBytes >= PATH_MAX) refuse(`${final}: the path is ${finalBytes} bytes; at most ${PATH_MAX - 1} on Linux`);
  const bytes = Buffer.byteLength(name);
  if (bytes > nameMax) refuse(`${final}: the file name is ${bytes} bytes; at most ${nameMax} on this filesystem`);
  for (const e of extents) {
    const b = Buffer.byteLength(e);
    if (b > nameMax) {
      refuse(`${final}: the file name is ${bytes} bytes; at most ${nameMax - (b - bytes)} on this filesystem, counting the extent suffix qemu-img adds (${e}, ${b} bytes, at most ${nameMax})`);
    }
  }
  const t = Buffer.byteLength(tmp);
  if (t > nameMax) refuse(`${final}: the temporary name ${tmp} is ${t} bytes; at most ${nameMax} on this filesystem`);
}

interface Identity {
  path: string;
  dev: bigint;
  ino: bigint;
}

async function identities(files: readonly string[]): Promise<Identity[]> {
  const out: Identity[] = [];
  for (const f of files) {
    try {
      const st = await stat(f, { bigint: true });
      out.push({ path: await realpath(f), dev: st.dev, ino: st.ino });
    } catch {
      out.push({ path: f, dev: -1n, ino: -1n });
    }
  }
  return out;
}

/** The identity a path has or would have: its real path (folder resolved), and inode if it exists. */
async function wouldBe(path: string): Promise<Identity> {
  try {
    const st = await stat(path, { bigint: true });
    return { path: await realpath(path), dev: st.dev, ino: st.ino };
  } catch {
    let dir = dirname(path);
    try {
      dir = await realpath(dir);
    } catch {
      /* checked elsewhere */
    }
    return { path: join(dir, basename(path)), dev: -2n, ino: -2n };
  }
}

async function exists(path: string): Promise<boolean> {
  try {
    await lstat(path);
    return true;
  } catch {
    return false;
  }
}

/** True when an executable of that name is on PATH. */
export async function onPath(name: string, path = process.env.PATH ?? ''): Promise<boolean> {
  for (const dir of path.split(':').filter(Boolean)) {
    try {
      await access(join(dir, name), constants.X_OK);
      return true;
    } catch {
      /* next */
    }
  }
  return false;
}

/** Free bytes for an unprivileged writer in the folder (statfs bavail × bsize). */
export async function freeBytes(dir: string): Promise<number> {
  const s = await statfs(dir);
  return s.bavail * s.bsize;
}

/** Measures of one source already known, and a place for new ones (probe-cache.ts). */
export interface MeasureMemo {
  /** A measure for `key` (measureKey) taken while the source was as it is now, or null. */
  known(key: string): Promise<Measured | null>;
  /** A measure just taken. */
  taken(key: string, m: Measured): void;
}

/**
 * qemu-img measure of one source for the target, per measurePlan: the bytes the output needs,
 * or null for "the virtual size" (a raw measure answers exactly that, block/raw-format.c
 * raw_measure, so no process is spent on it). `spec` is what qemu-img opens (a path or json:
 * spec). A measure the memo knows is used without running qemu-img. Throws the classified error.
 */
export async function measureSource(run: Run, spec: string, format: ImageFormat, t: TargetSettings, sparse: boolean, memo?: MeasureMemo): Promise<number | null> {
  const plan = measurePlan(t, sparse);
  if (plan.out === 'raw') return null;
  const key = measureKey(plan.out, plan.options);
  let m = memo ? await memo.known(key) : null;
  if (!m) {
    const args = buildMeasureArgs(spec, format, plan.out, plan.options);
    const r = await run({ command: 'qemu-img', args, timeoutMs: 300_000 });
    if (r.exitCode !== 0) throw new WorkerError(classifyConvertError(r.stderr), { detail: `qemu-img measure ${spec}: ${firstLines(r.stderr) || `exit ${r.exitCode}`}` });
    const q = QemuMeasure.parse(JSON.parse(r.stdout));
    m = { required: q.required, fully_allocated: q['fully-allocated'] };
    memo?.taken(key, m);
  }
  return plan.use === 'required' ? m.required : m.fully_allocated;
}

/**
 * Check everything that can be checked before writing, and plan each output. Throws WorkerError:
 * validation_failed (settings qemu-img refuses, two disks with one output), dest_not_writable,
 * output_exists, output_is_input, no_space (with both numbers), and what measure throws.
 */
export async function preflight(
  run: Run,
  jobId: string,
  params: ConvertParams,
  target: TargetSettings,
  sources: readonly ResolvedSource[],
  /** Per source, the measures known from before and the place for new ones (probe-cache.ts). */
  memos: readonly (MeasureMemo | undefined)[] = [],
): Promise<OutputPlan[]> {
  // Combinations qemu-img refuses: the protocol's own rule, checked at submit too.
  const problems = convertSettingProblems(params);
  if (problems.length) throw new WorkerError('validation_failed', { fields: problems });
  if (params.verify === 'checksum') {
    for (const [tool, pkg] of [['nbdcopy', 'libnbd-bin'], ['qemu-nbd', 'qemu-utils']] as const) {
      if (!(await onPath(tool))) throw new WorkerError('tool_missing', { detail: `checksum verification reads the images with ${tool}, which is not on PATH (Debian package ${pkg})` });
    }
  }

  const inputs = await identities(sources.flatMap((s) => s.files));
  const plans: OutputPlan[] = [];
  const claimed = new Map<string, number>();
  const nameMaxes = new Map<string, number>();

  for (const src of sources) {
    const disk = params.disks[src.index]!;
    const name = basename(disk.output);
    const dir = await destinationFolder(dirname(disk.output));
    const final = join(dir, name);
    const multiFile = target.format === 'vmdk';
    const virtualSize = target.format === 'vpc' && params.azure_round ? roundUpToMiB(src.virtualSize) : src.virtualSize;
    const extents = multiFile && target.subformat ? predictedExtentNames(name, target.subformat, virtualSize).map((n) => join(dir, n)) : [];
    // Names that fit: before anything else looks the output up by a name the system would refuse.
    const nameMax = nameMaxes.get(dir) ?? (await nameMaxOf(dir));
    nameMaxes.set(dir, nameMax);
    const tmpName = temporaryName(name, jobId, nameMax);
    checkNameLengths(src.index, final, name, extents.map((e) => basename(e)), tmpName, nameMax);

    // Outputs must differ from each other.
    for (const p of [final, ...extents]) {
      const other = claimed.get(p);
      if (other !== undefined) {
        // Disks are numbered from 1 in the message, as a person counts (the field path is the spec's, from 0).
        throw new WorkerError('validation_failed', {
          fields: [{ path: `params.disks.${src.index}.output`, message: `disks ${other + 1} and ${src.index + 1} would both write ${p}` }],
          detail: `disk ${other + 1}: ${describeDisk(params.disks[other]!)}\ndisk ${src.index + 1}: ${describeDisk(disk)}\nboth write ${p}`,
        });
      }
      claimed.set(p, src.index);
    }

    // Never onto an input: the image, its extents, its backing chain (by path and by inode).
    for (const p of [final, ...extents]) {
      const id = await wouldBe(p);
      const hit = inputs.find((i) => i.path === id.path || (i.dev === id.dev && i.ino === id.ino));
      if (hit) throw new WorkerError('output_is_input', { detail: `${p} is ${hit.path === src.spec ? 'the source' : `${hit.path}, which the source reads`}` });
    }

    // No overwrite unless asked; a folder is never overwritten.
    const st = await lstat(final).catch(() => null);
    if (st?.isDirectory()) throw new WorkerError('output_exists', { detail: `${final} is a folder`, hint: 'Give the output file name, not a folder.' });
    if (!params.overwrite) {
      if (st) throw new WorkerError('output_exists', { detail: final });
      if (multiFile) {
        const pattern = extentNamePattern(name);
        const clash = (await readdir(dir)).filter((n) => pattern.test(n));
        if (clash.length) throw new WorkerError('output_exists', { detail: `extent file(s) of ${name} already exist: ${clash.map((n) => join(dir, n)).join(', ')}` });
      }
    }

    const tmp = join(dir, tmpName);
    if (await exists(tmp)) throw new WorkerError('output_exists', { detail: `${tmp} (a leftover temporary file of this job id)`, hint: 'Remove it, or submit the job again without an id.' });
    plans.push({
      index: src.index,
      final,
      dir,
      name,
      tempDir: multiFile ? tmp : null,
      target: multiFile ? join(tmp, name) : tmp,
      partial: tmp,
      partialKind: multiFile ? 'dir' : 'file',
      virtualSize,
      createFirst: target.format === 'vpc' && params.azure_round,
      required: 0,
      requiredFrom: 'qemu-img measure',
      free: 0,
    });
  }

  // Free space per destination filesystem, against the sum of what its outputs need: a measure
  // known from before (probe-cache.ts) as it is; for the others, when the folder has room for
  // the most they could take (outputSizeBound), that bound, without running qemu-img; when it
  // has not, qemu-img measure, and the refusal gives its numbers.
  const byFs = new Map<bigint, { dir: string; free: number; members: number[] }>();
  for (const [i, plan] of plans.entries()) {
    const dev = (await stat(plan.dir, { bigint: true })).dev;
    const fs = byFs.get(dev) ?? { dir: plan.dir, free: await freeBytes(plan.dir), members: [] };
    fs.members.push(i);
    plan.free = fs.free;
    byFs.set(dev, fs);
  }
  const mp = measurePlan(target, params.tuning.sparse);
  const known = await Promise.all(
    sources.map(async (s, i) => {
      if (mp.out === 'raw') return s.virtualSize; // exact: a raw measure answers the virtual size
      const m = await memos[i]?.known(measureKey(mp.out, mp.options));
      return m ? (mp.use === 'required' ? m.required : m.fully_allocated) : null;
    }),
  );
  for (const fs of byFs.values()) {
    const bounded = fs.members.reduce((n, i) => n + (known[i] ?? outputSizeBound(plans[i]!.virtualSize)), 0);
    if (bounded <= fs.free) {
      for (const i of fs.members) {
        plans[i]!.required = known[i] ?? outputSizeBound(plans[i]!.virtualSize);
        plans[i]!.requiredFrom = known[i] === null ? 'upper bound' : 'qemu-img measure';
      }
      continue;
    }
    const measured = await Promise.all(fs.members.map((i) => known[i] ?? measureSource(run, sources[i]!.spec, sources[i]!.format, target, params.tuning.sparse, memos[i])));
    let need = 0;
    for (const [k, i] of fs.members.entries()) {
      plans[i]!.required = measured[k] ?? sources[i]!.virtualSize;
      plans[i]!.requiredFrom = 'qemu-img measure';
      need += plans[i]!.required;
    }
    if (need > fs.free) {
      throw new WorkerError('no_space', {
        detail: `the output needs about ${formatBytes(need)} (${need} bytes, from qemu-img measure) in ${fs.dir}, which has ${formatBytes(fs.free)} (${fs.free} bytes) free`,
      });
    }
  }
  return plans;
}
