/**
 * qemu-img convert, compare and qemu-nbd, as pure argument builders and output parsers.
 *
 * Nothing here runs a tool: the convert operation (engine/ops/convert) runs what these build
 * through its context, so every process is recorded for crash clean-up. Option names and their
 * constraints are qemu-img 7.2's (qemu-img(1), `qemu-img create -f FMT -o help`, block/*.c);
 * each builder states the ones it relies on.
 */
import type { ConvertParams, ImageFormat } from '../../shared/protocol';
import type { ErrorCode } from '../../shared/errors';
import { classifyQemuImgError } from './qemu-img';

export const MiB = 1024 * 1024;

// ------------------------------------------------------------------------------ progress parser

/** What one call of parseQemuProgress found. */
export interface ParsedProgress {
  /** Percentages (0-100) in the order they were printed. */
  percents: number[];
  /** The unterminated tail of the text, to prepend to the next chunk. */
  rest: string;
}

/**
 * Parse qemu-img's `-p` progress output (convert, compare, commit, rebase): each update is
 * `    (12.34/100%)` followed by a carriage return (util/qemu-progress.c prints
 * "    (%3.2f/100%%)\r"). Pure; `text` may start with the `rest` of the previous call, since a
 * pipe can cut an update anywhere. Lines that are not progress (warnings) are skipped.
 * Note that qemu-img convert's percentage is over the *allocated* sectors of the source, not
 * its virtual size (qemu-img.c, convert_do_copy: allocated_sectors / allocated_done).
 */
export function parseQemuProgress(text: string): ParsedProgress {
  const percents: number[] = [];
  const parts = text.split(/[\r\n]/);
  const rest = parts.pop() ?? '';
  for (const part of parts) {
    const m = /\(\s*(\d{1,3}(?:\.\d+)?)\/100%\)/.exec(part);
    if (!m) continue;
    const p = Number(m[1]);
    if (Number.isFinite(p) && p >= 0 && p <= 100) percents.push(p);
  }
  // A complete update with its \r not yet arrived is still in `rest`; it is counted next time.
  return { percents, rest: rest.length > 4096 ? rest.slice(-4096) : rest };
}

/**
 * A stateful wrapper around parseQemuProgress for a stream of chunks: call `push(chunk)` for
 * each, get the new percentages back; `end()` flushes a final update without its \r.
 */
export function progressStream(): { push(chunk: string): number[]; end(): number[] } {
  let rest = '';
  return {
    push(chunk) {
      const r = parseQemuProgress(rest + chunk);
      rest = r.rest;
      return r.percents;
    },
    end() {
      const r = parseQemuProgress(rest + '\r');
      rest = '';
      return r.percents;
    },
  };
}

// ---------------------------------------------------------------------------- target options

/** The settings of the target image, from the spec's params. */
export interface TargetSettings {
  format: ImageFormat;
  /** `-o` options for `qemu-img create`/convert, as key=value strings, in a stable order. */
  options: string[];
  /** qcow2 compression wanted: convert gets `-c`. */
  compress: boolean;
  /** vmdk create-type, vpc/vhdx fixed/dynamic, vdi static/dynamic; null for raw and qcow2. */
  subformat: string | null;
  /** The target writes one file (false for split or flat vmdk: descriptor plus extents). */
  singleFile: boolean;
  /** The target must be written in order (stream-optimized vmdk): no `-W`. */
  sequential: boolean;
}

/**
 * Target settings per output format (`qemu-img create -f FMT -o help`, qemu-img 7.2):
 * - qcow2: compat, compression_type (zstd needs compat 1.1), cluster_size, preallocation,
 *   lazy_refcounts; compression itself is convert's `-c`.
 * - raw: nothing (sparse because convert skips zeroes on a fresh file).
 * - vmdk: subformat (monolithicSparse, monolithicFlat, twoGbMaxExtentSparse, twoGbMaxExtentFlat,
 *   streamOptimized).
 * - vhdx: subformat dynamic or fixed.
 * - vpc: subformat dynamic or fixed, and force_size=on so the virtual size is the size asked for
 *   instead of the nearest CHS geometry (block/vpc.c; Azure and Hyper-V read the size field).
 * - vdi: static=on for a fixed image (never from the spec: VDI has no subformat field there).
 */
export function targetSettings(p: Pick<ConvertParams, 'format' | 'qcow2' | 'vmdk_subformat' | 'vpc_subformat' | 'vhdx_subformat'>): TargetSettings {
  switch (p.format) {
    case 'qcow2': {
      const q = p.qcow2;
      const options = [`compat=${q.compat}`];
      if (q.cluster_size !== undefined) options.push(`cluster_size=${q.cluster_size}`);
      if (q.compression !== 'none') options.push(`compression_type=${q.compression}`);
      if (q.preallocation !== 'off') options.push(`preallocation=${q.preallocation}`);
      if (q.lazy_refcounts) options.push('lazy_refcounts=on');
      return { format: 'qcow2', options, compress: q.compression !== 'none', subformat: null, singleFile: true, sequential: false };
    }
    case 'raw':
      return { format: 'raw', options: [], compress: false, subformat: null, singleFile: true, sequential: false };
    case 'vmdk': {
      const s = p.vmdk_subformat;
      return {
        format: 'vmdk',
        options: [`subformat=${s}`],
        compress: false,
        subformat: s,
        singleFile: s === 'monolithicSparse' || s === 'streamOptimized',
        sequential: s === 'streamOptimized',
      };
    }
    case 'vhdx':
      return { format: 'vhdx', options: [`subformat=${p.vhdx_subformat}`], compress: false, subformat: p.vhdx_subformat, singleFile: true, sequential: false };
    case 'vpc':
      return { format: 'vpc', options: [`subformat=${p.vpc_subformat}`, 'force_size=on'], compress: false, subformat: p.vpc_subformat, singleFile: true, sequential: false };
    case 'vdi':
      return { format: 'vdi', options: [], compress: false, subformat: 'dynamic', singleFile: true, sequential: false };
  }
}

/** File name extension for an output format (the CLI names outputs `<src-basename>.<ext>`). */
export function extensionOf(format: ImageFormat): string {
  return { qcow2: 'qcow2', raw: 'img', vmdk: 'vmdk', vhdx: 'vhdx', vpc: 'vhd', vdi: 'vdi' }[format];
}

/** Round a size up to a whole MiB (Azure requires fixed VHDs whose virtual size is a whole MiB). */
export function roundUpToMiB(bytes: number): number {
  return Math.ceil(bytes / MiB) * MiB;
}

/**
 * The extent file names qemu-img gives a multi-file vmdk named `name` (block/vmdk.c,
 * vmdk_co_do_create: the name is split at its last dot into prefix and postfix, then
 * `prefix-flat.postfix` for monolithicFlat, `prefix-sNNN.postfix` / `prefix-fNNN.postfix` for
 * the twoGbMaxExtent kinds, one per 2 GiB). Pure; the operation still reads the names from the
 * descriptor qemu-img wrote, this is for pre-flight checks.
 */
export function predictedExtentNames(name: string, subformat: string, virtualSize: number): string[] {
  const dot = name.lastIndexOf('.');
  const prefix = dot > 0 ? name.slice(0, dot) : name;
  const postfix = dot > 0 ? name.slice(dot) : '';
  if (subformat === 'monolithicFlat') return [`${prefix}-flat${postfix}`];
  if (subformat !== 'twoGbMaxExtentSparse' && subformat !== 'twoGbMaxExtentFlat') return [];
  const letter = subformat === 'twoGbMaxExtentSparse' ? 's' : 'f';
  const count = Math.max(1, Math.ceil(virtualSize / (2 * 1024 * MiB)));
  return Array.from({ length: count }, (_, i) => `${prefix}-${letter}${String(i + 1).padStart(3, '0')}${postfix}`);
}

/** Regex matching every extent name qemu-img could give a multi-file vmdk named `name`. */
export function extentNamePattern(name: string): RegExp {
  const dot = name.lastIndexOf('.');
  const prefix = dot > 0 ? name.slice(0, dot) : name;
  const postfix = dot > 0 ? name.slice(dot) : '';
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  return new RegExp(`^${esc(prefix)}-(?:flat|s\\d{3}|f\\d{3})${esc(postfix)}$`);
}

// ------------------------------------------------------------------------------------ convert

/**
 * A source path wrapped so qemu-img reads it with Linux io_uring instead of its thread pool:
 * `json:{"file":{"driver":"file","filename":PATH,"aio":"io_uring"}}` (the format stays in `-f`).
 * On a busy 2-core host this halved the time to read a 64 KiB-grain vmdk (docs/benchmarks.md).
 * Only for images that are one file: qemu refuses relative backing and extent names under a
 * `json:` filename ("Cannot use relative extent paths with VMDK descriptor file 'json:…'").
 * Built with JSON.stringify, so any path is quoted correctly. Pure.
 */
export function ioUringSource(path: string): string {
  return `json:${JSON.stringify({ file: { driver: 'file', filename: path, aio: 'io_uring' } })}`;
}

/** One `qemu-img convert` invocation. */
export interface ConvertInvocation {
  /** Source: a path, or a `json:{...}` spec (OVA member read in place). */
  source: string;
  sourceFormat: ImageFormat;
  /** The (temporary) target path. */
  target: string;
  target_settings: TargetSettings;
  /** The target exists already (created by `qemu-img create`): `-n`, and no `-o`. */
  targetExists: boolean;
  /** With targetExists: the target reads as zeroes, so zero areas need not be written. */
  targetIsZero: boolean;
  /** Bytes per second read from the source (qemu-img's `-r`; holes cost nothing). */
  rateLimitBps?: number | undefined;
  /** ConvertParams.tuning. */
  tuning: ConvertParams['tuning'];
  /** Print progress (`-p`). */
  progress: boolean;
}

/**
 * The argument array of `qemu-img convert` (qemu-img 7.2 syntax:
 * `convert [--target-is-zero] [-n] [-c] [-p] [-f fmt] [-t cache] [-O fmt] [-o options]
 * [-S sparse_size] [-r rate_limit] [-m num_coroutines] [-W] filename output_filename`).
 *
 * Flags and why (docs/convert.md has the measurements):
 * - `-t writeback`: the target goes through the page cache and is flushed when qemu-img closes
 *   it (convert's default, `unsafe`, never flushes); `-t none` (O_DIRECT) is slower on most
 *   hosts and is offered only as tuning.
 * - `-W` (out-of-order writes) and `-m N` coroutines keep N reads in flight; not with
 *   stream-optimized vmdk, whose grains are read back in order by streaming consumers.
 * - `-S 4k` zero detection leaves holes (sparse output); `-S 0` when sparse is off.
 * - `-n` with `--target-is-zero` when the target was created beforehand (vpc rounded for Azure),
 *   so zero areas are skipped instead of written.
 * - `-f` is always given (the format comes from the file's magic, never from qemu's probing).
 * - `--` ends the options, so a path starting with `-` is never read as one.
 */
export function buildConvertArgs(inv: ConvertInvocation): string[] {
  const t = inv.target_settings;
  const args = ['convert'];
  if (inv.progress) args.push('-p');
  args.push('-f', inv.sourceFormat, '-O', t.format);
  args.push('-t', inv.tuning.cache);
  if (inv.targetExists) {
    args.push('-n');
    if (inv.targetIsZero) args.push('--target-is-zero');
  } else if (t.options.length) args.push('-o', t.options.join(','));
  if (t.compress) args.push('-c');
  args.push('-S', inv.tuning.sparse ? '4k' : '0');
  args.push('-m', String(inv.tuning.coroutines));
  if (inv.tuning.out_of_order && !t.sequential) args.push('-W');
  if (inv.rateLimitBps !== undefined) args.push('-r', String(inv.rateLimitBps));
  args.push('--', inv.source, inv.target);
  return args;
}

/** `qemu-img create -f FMT -o OPTIONS -- PATH SIZE`: for targets that need a size of their own. */
export function buildCreateArgs(target: string, t: TargetSettings, sizeBytes: number): string[] {
  const args = ['create', '-q', '-f', t.format];
  if (t.options.length) args.push('-o', t.options.join(','));
  args.push('--', target, String(sizeBytes));
  return args;
}

/**
 * `qemu-img measure --output=json -f F -O FMT [-o OPTS] -- SRC`. Only qcow2 and raw targets can
 * be measured by qemu-img 7.2 ("Block driver 'vmdk' does not support size measurement"); see
 * measurePlan for the others.
 */
export function buildMeasureArgs(source: string, sourceFormat: ImageFormat, out: 'qcow2' | 'raw', options: string[]): string[] {
  const args = ['measure', '--output=json', '-f', sourceFormat, '-O', out];
  if (options.length) args.push('-o', options.join(','));
  args.push('--', source);
  return args;
}

/**
 * How to estimate the space a target needs with `qemu-img measure`, which measures only qcow2
 * and raw. A qcow2 measure with a cluster size equal to the target's allocation unit is a close
 * upper bound for the sparse formats (data rounded up to that unit, plus metadata):
 * vdi allocates whole 1 MiB blocks (block/vdi.c writes the full block), vmdk 64 KiB grains,
 * vhdx and vpc leave the unwritten part of a block as a hole, so 64 KiB is close. Raw (and
 * anything fixed) written sparse needs its data only; without sparse it needs the virtual size.
 * Pure.
 */
export function measurePlan(t: TargetSettings, sparse: boolean): { out: 'qcow2' | 'raw'; options: string[]; use: 'required' | 'fully-allocated' } {
  if (t.format === 'qcow2') return { out: 'qcow2', options: t.options, use: sparse ? 'required' : 'fully-allocated' };
  if (!sparse) return { out: 'raw', options: [], use: 'required' };
  if (t.format === 'vdi') return { out: 'qcow2', options: ['cluster_size=1048576'], use: 'required' };
  return { out: 'qcow2', options: ['cluster_size=65536'], use: 'required' };
}

/**
 * The most bytes an output of `virtualSize` guest bytes can take in any target format and
 * setting this worker writes, so that a destination with more free space than this needs no
 * `qemu-img measure`: the virtual size, plus 1/32 of it, plus 64 MiB. Why it holds, per format
 * (qemu 7.2's drivers):
 * - qcow2: data clusters cover at most the virtual size; metadata per data cluster is an 8-byte
 *   L2 entry and a 2-byte refcount (block/qcow2.c, qcow2_calc_prealloc_size), under 2 % at the
 *   smallest cluster of 512 bytes, and the L1 and refcount tables are a few clusters more.
 *   Compressed clusters are written uncompressed when they would not shrink.
 * - vmdk: 64 KiB grains plus 4-byte grain table entries, twice (redundant tables); for
 *   streamOptimized a 512-byte sector of marker and padding per 64 KiB grain, 0.8 %.
 * - vhdx: blocks of at most 32 MiB (a partly written block is rounded up to it), the 1 MiB log,
 *   the headers, region and metadata tables and the BAT: under 40 MiB beyond the data.
 * - vpc: 2 MiB blocks with a 512-byte bitmap each, the BAT and a 512-byte footer; fixed is the
 *   virtual size plus the footer. vdi: 1 MiB blocks and a 4-byte block map entry per block.
 * - raw: the virtual size.
 * Pure. Bytes.
 */
export function outputSizeBound(virtualSize: number): number {
  return virtualSize + Math.ceil(virtualSize / 32) + 64 * MiB;
}

// ------------------------------------------------------------------------------------ compare

/**
 * `qemu-img compare -f F1 -F F2 [-p] -- A B`. Without `-s` a size difference is allowed when
 * the larger image's extra part reads as zeroes (the Azure-rounded vpc).
 */
export function buildCompareArgs(a: string, aFormat: ImageFormat, b: string, bFormat: ImageFormat, progress: boolean): string[] {
  const args = ['compare'];
  if (progress) args.push('-p');
  args.push('-f', aFormat, '-F', bFormat, '--', a, b);
  return args;
}

/** What `qemu-img compare` concluded. */
export type CompareVerdict = { identical: true; detail: string } | { identical: false; detail: string } | { error: true; detail: string };

/**
 * Read compare's exit code (qemu-img(1): 0 identical, 1 different, 2 error opening an image or
 * other error, 3 error while reading) and its message ("Images are identical.",
 * "Content mismatch at offset N!", "Warning: Image size mismatch!"). Pure.
 */
export function compareVerdict(exitCode: number | null, stdout: string, stderr: string): CompareVerdict {
  const text = `${stdout}\n${stderr}`
    .split(/[\r\n]/)
    .map((l) => l.trim())
    .filter((l) => l && !/^\(\s*\d/.test(l))
    .join('; ');
  if (exitCode === 0) return { identical: true, detail: text || 'Images are identical.' };
  if (exitCode === 1) return { identical: false, detail: text || 'images differ' };
  return { error: true, detail: text || `qemu-img compare exited with ${exitCode}` };
}

// ------------------------------------------------------------------------------------ qemu-nbd

/**
 * nbdcopy arguments that stream the guest-visible bytes of `source` (a path or `json:` spec in
 * `format`) to stdout, from a read-only qemu-nbd that nbdcopy starts itself by socket
 * activation (nbdcopy(1): `nbdcopy -- [ CMD ARGS ] -`; qemu-nbd(8) supports LISTEN_FDS). The
 * source comes after `--` inside the brackets, so it can never be read as an option.
 */
export function buildNbdCopyArgs(source: string, format: ImageFormat): string[] {
  return ['--', '[', 'qemu-nbd', '--read-only', '--shared=1', `--format=${format}`, '--cache=writeback', '--', source, ']', '-'];
}

// --------------------------------------------------------------------------- error classifying

/**
 * A catalogue code for qemu-img convert's error output: classifyQemuImgError, plus what only
 * convert meets: another process holding the image's write lock (block/file-posix.c: 'Failed to
 * get shared "write" lock', 'Is another process using the image') and running out of space
 * ('No space left on device', which is checked first because write errors also say "error while
 * writing" next to offsets).
 */
export function classifyConvertError(stderr: string): ErrorCode {
  const s = stderr.toLowerCase();
  if (/no space left on device|disk quota exceeded/.test(s)) return 'no_space';
  if (/failed to get .*lock|is another process using the image/.test(s)) return 'source_in_use';
  return classifyQemuImgError(stderr);
}
