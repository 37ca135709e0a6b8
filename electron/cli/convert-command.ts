/**
 * `h2k-worker convert <src>... <dst>`: convert disks through the worker (a convert job), watch
 * its progress, print what it produced.
 *
 * Paths are resolved to absolute paths before the spec is built, so a file named `-x.vmdk`
 * (given as `./-x.vmdk`, or after `--`) reaches qemu-img as `/…/-x.vmdk` and can never be read
 * as an option. When `<dst>` is a folder (it exists as one, ends with `/`, or several disks are
 * converted and it does not exist), each output is named `<dst>/<source name without
 * extension>.<format extension>`; a package given without --member is converted disk by disk,
 * each named after its member. Without --format the format comes from the destination's
 * extension (qcow2 for a folder or an unknown extension); a --format that contradicts it is
 * refused. Everything the command refuses is refused before a job exists (exit 2).
 *
 * Exit codes (main.ts): 0 completed, 1 failed, 2 bad usage or invalid spec, 3 cancelled
 * (Ctrl-C cancels the job and waits for its clean-up), 4 this machine cannot run it.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { basename, extname, join, resolve, sep } from 'node:path';
import type { ConvertPayload, JobDetail, JobSpecInput } from '../../shared/protocol';
import { ImageFormat, VmdkSubformat, isTerminal } from '../../shared/protocol';
import { WorkerError, formatError } from '../../shared/errors';
import { formatBytes, formatDuration, formatRate } from '../../shared/format';
import { extensionOf } from '../tools/qemu-img-convert';
import { openPackage } from '../engine/ova/package';
import { sniffFile } from '../engine/image/magic';
import { untouchedLine } from '../engine/ops/convert/source';
import { isPackageName } from '../engine/ops/convert/ova-member';
import { EXIT, exitCodeForState, noteIfNoRunner, waitForJob, type CliContext } from './main';

type ConvertInput = Extract<JobSpecInput, { operation: 'convert' }>;

/** Options of the command, as commander parses them. */
export interface ConvertCliOptions {
  /** Unset: from the destination's extension, else qcow2. */
  format?: ImageFormat;
  subformat?: string;
  compression?: string;
  compat?: string;
  clusterSize?: number;
  preallocation?: string;
  lazyRefcounts?: boolean;
  azure?: boolean;
  verify: string;
  sha256?: boolean;
  overwrite?: boolean;
  rateLimit?: number;
  coroutines?: number;
  outOfOrder: boolean;
  cache?: string;
  sparse: boolean;
  member?: string[];
  priority?: number;
  timeout?: number;
  attempts?: number;
  id?: string;
  detach?: boolean;
}

/** A queue priority from 0 to 100 (the protocol's range), for --priority. */
export function parsePriority(v: string): number {
  const n = Number(v.trim());
  if (v.trim() === '' || !Number.isInteger(n) || n < 0 || n > 100) throw new InvalidArgumentError('a whole number from 0 to 100 is expected');
  return n;
}

/**
 * "50M", "1.5G", "64k", "1048576" → bytes (binary units, as qemu-img reads sizes). Throws
 * commander's InvalidArgumentError for anything else.
 */
export function parseSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(v);
  if (!m) throw new InvalidArgumentError('a size is expected, e.g. 65536, 64k, 50M, 1G');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.round(Number(m[1]) * mult);
  if (n < 1) throw new InvalidArgumentError('a size of at least 1 byte is expected');
  if (!Number.isSafeInteger(n)) throw new InvalidArgumentError(`a size of at most ${Number.MAX_SAFE_INTEGER} bytes (8 PiB) is expected`);
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of 1 or more is expected');
  return n;
}

/** Output format by the destination's file name extension (case-insensitive). */
export const FORMAT_BY_EXTENSION: Readonly<Record<string, ImageFormat>> = {
  '.qcow2': 'qcow2',
  '.raw': 'raw',
  '.img': 'raw',
  '.vmdk': 'vmdk',
  '.vhdx': 'vhdx',
  '.vhd': 'vpc',
  '.vdi': 'vdi',
};

/** The format a destination file name asks for by its extension, or null (none, or not an image one). */
export function formatOfName(path: string): ImageFormat | null {
  return FORMAT_BY_EXTENSION[extname(path).toLowerCase()] ?? null;
}

/** The subformats `--subformat` accepts, per output format (empty: the format has none). */
export const SUBFORMATS: Readonly<Record<ImageFormat, readonly string[]>> = {
  vmdk: VmdkSubformat.options,
  vpc: ['dynamic', 'fixed'],
  vhdx: ['dynamic', 'fixed'],
  qcow2: [],
  raw: [],
  vdi: [],
};

/**
 * What the command learnt about a source before building the spec (describeSources reads it from
 * disk): for a package given without --member, the disk files it holds; for a plain file given
 * with --member, what it is (to say why --member does not apply).
 */
export interface SourceFacts {
  /** Disk file names inside the package, in the package's order; null when not a package. */
  packageDisks: string[] | null;
  /** What the file is, for a message: "a vmdk monolithicSparse disk image", or null when unknown. */
  what: string | null;
}

/**
 * Read what buildConvertSpec needs to know about the sources: the disks of each package given
 * without --member (the package reader's errors, e.g. unsafe_package, are thrown as they are),
 * and, with --member, what a source that is not a package is.
 */
export async function describeSources(paths: string[], o: Pick<ConvertCliOptions, 'member'>, cwd = process.cwd()): Promise<Map<string, SourceFacts>> {
  const out = new Map<string, SourceFacts>();
  for (const given of paths.slice(0, -1)) {
    const path = resolve(cwd, given);
    if (isPackageName(path)) {
      if (o.member?.length) continue;
      const pkg = await openPackage(path);
      out.set(path, { packageDisks: pkg.disks.map((d) => d.file), what: `an ${pkg.kind.toUpperCase()} package` });
    } else if (o.member?.length) {
      const s = await sniffFile(path).catch(() => null);
      out.set(path, { packageDisks: null, what: s?.kind === 'image' ? `a ${s.format}${s.subformat ? ` ${s.subformat}` : ''} disk image` : null });
    }
  }
  return out;
}

/**
 * What `<dst>` is: a folder (it is one, or ends with a slash), a file (it exists and is not a
 * folder, or its name has a disk image extension), or open (neither: a folder when the job has
 * several outputs, else the output file).
 */
function destinationKind(dstGiven: string, dst: string): 'folder' | 'file' | 'open' {
  if (dstGiven.endsWith('/') || dstGiven.endsWith(sep)) return 'folder';
  try {
    return statSync(dst).isDirectory() ? 'folder' : 'file';
  } catch {
    return formatOfName(dst) ? 'file' : 'open';
  }
}

/** The output name for a source in a folder: `<name without extension>.<ext>`. */
export function derivedOutputName(source: string, member: string | undefined, format: ImageFormat): string {
  const name = basename(member ?? source);
  const ext = extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  return `${stem || 'disk'}.${extensionOf(format)}`;
}

/** A command-line refusal: validation_failed naming the option, with its own message and hint. */
function refuse(field: { path: string; message: string }, message: string, hint: string, detail?: string): WorkerError {
  return new WorkerError('validation_failed', { message, hint, fields: [field], ...(detail ? { detail } : {}) });
}

/**
 * Build the convert spec from the command line. Pure apart from `cwd` (paths are resolved
 * against it) and the stat of `<dst>`; `facts` is what describeSources read (a package given
 * without --member is expanded into its disks). Throws WorkerError `validation_failed`, before
 * any job exists, for what the command refuses:
 * - a `--format` that contradicts the destination's extension (out.qcow2 with --format raw);
 * - a `--subformat` the format does not have (the valid ones are listed);
 * - `--member` on a source that is not a package;
 * - several disks (sources, members, or the disks of a package) and a destination that is a file;
 * - two disks that would be written to the same file (numbered from 1).
 */
export function buildConvertSpec(paths: string[], o: ConvertCliOptions, cwd = process.cwd(), facts: ReadonlyMap<string, SourceFacts> = new Map()): ConvertInput {
  if (paths.length < 2) throw new WorkerError('validation_failed', { fields: [{ path: 'paths', message: 'a source and a destination are needed: convert <src>... <dst>' }] });
  const sources = paths.slice(0, -1).map((p) => resolve(cwd, p));
  const dstGiven = paths.at(-1)!;
  const dst = resolve(cwd, dstGiven);
  const members = o.member ?? [];
  if (members.length && sources.length !== 1) {
    throw refuse({ path: '--member', message: 'one package source expected' }, '--member needs exactly one package (.ova/.ovf) as source.', 'Give one .ova or .ovf, then the destination.');
  }
  if (members.length && !isPackageName(sources[0]!)) {
    const what = facts.get(sources[0]!)?.what;
    throw refuse(
      { path: '--member', message: 'the source is not a package' },
      `--member names a disk inside a package (.ova/.ovf), but ${sources[0]} is ${what ?? 'not a package'}.`,
      'Drop --member to convert this disk, or give the .ova/.ovf that holds the disk.',
    );
  }
  const kind = destinationKind(dstGiven, dst);
  let pairs: { source: string; member?: string }[];
  if (members.length) pairs = members.map((m) => ({ source: sources[0]!, member: m }));
  else {
    pairs = [];
    for (const s of sources) {
      const disks = facts.get(s)?.packageDisks;
      if (!disks) {
        pairs.push({ source: s });
        continue;
      }
      if (!disks.length) throw refuse({ path: 'paths', message: 'no disks in the package' }, `${s} is a package without disks.`, 'Check the package with `h2k-worker inspect`.');
      if (disks.length > 1 && kind === 'file') {
        throw refuse(
          { path: 'paths', message: `a package of ${disks.length} disks, a file as destination` },
          `this is a package, its disks: ${disks.join(', ')}; give --member or a destination folder.`,
          `Give --member NAME (once per disk) to pick disks, or an existing destination folder to convert all ${disks.length} (create it first with mkdir -p; a trailing / marks a folder, it does not create one).`,
          `${s} holds ${disks.length} disks; ${dst} is one file`,
        );
      }
      for (const d of disks) pairs.push({ source: s, member: d });
    }
  }
  if (pairs.length > 1 && kind === 'file') {
    throw refuse(
      { path: 'paths', message: `${pairs.length} disks, a file as destination` },
      `several disks need a destination folder: ${dst} is ${existsSync(dst) ? 'a file' : 'a file name'}.`,
      'Give an existing folder as the last path (create it first with mkdir -p; a trailing / marks a folder, it does not create one); each disk is written there under its own name.',
      `${pairs.length} disks: ${pairs.map((p) => (p.member ? `${p.source} member ${p.member}` : p.source)).join(', ')}`,
    );
  }
  const folder = kind === 'folder' || (kind === 'open' && pairs.length > 1);

  // The format: --format, or the destination's extension, or qcow2; never two that disagree.
  const byName = folder ? null : formatOfName(dst);
  if (o.format !== undefined && byName !== null && o.format !== byName) {
    const names = Object.keys(FORMAT_BY_EXTENSION).filter((e) => FORMAT_BY_EXTENSION[e] === o.format);
    throw refuse(
      { path: '--format', message: `${o.format} given, ${extname(dst)} names ${byName}` },
      `--format ${o.format} contradicts the destination's extension: ${basename(dst)} names a ${byName} file.`,
      `Drop --format (the extension ${extname(dst)} chooses ${byName}), or name the output ${names.join(' or ')} for ${o.format}.`,
    );
  }
  const format = ImageFormat.parse(o.format ?? byName ?? 'qcow2');

  const disks = pairs.map((p) => ({ ...p, output: folder ? join(dst, derivedOutputName(p.source, p.member, format)) : dst }));
  // Two disks onto one file: refused here, numbered as a person counts.
  const byOutput = new Map<string, number[]>();
  disks.forEach((d, i) => byOutput.set(d.output, [...(byOutput.get(d.output) ?? []), i]));
  for (const [output, idx] of byOutput) {
    if (idx.length < 2) continue;
    const nums = idx.map((i) => i + 1);
    throw refuse(
      { path: 'paths', message: `two outputs named ${basename(output)}` },
      `disks ${nums.slice(0, -1).join(', ')} and ${nums.at(-1)} would ${nums.length > 2 ? 'all' : 'both'} be written to ${output}.`,
      'Their names differ only by folder or extension: convert them in separate commands, each to an output file named as you want it.',
      idx.map((i) => `disk ${i + 1}: ${disks[i]!.member ? `${disks[i]!.source} member ${disks[i]!.member}` : disks[i]!.source}`).join('\n'),
    );
  }

  const params: ConvertInput['params'] = { disks, format, verify: o.verify as 'none' | 'compare' | 'checksum' };
  const sub = o.subformat;
  if (sub !== undefined) {
    const valid = SUBFORMATS[format];
    const match = valid.find((v) => v.toLowerCase() === sub.toLowerCase());
    if (match === undefined) {
      const others = (Object.keys(SUBFORMATS) as ImageFormat[])
        .filter((f) => SUBFORMATS[f].length)
        .map((f) => `${f} (${SUBFORMATS[f].join(', ')})`)
        .join(', ');
      throw refuse(
        { path: '--subformat', message: valid.length ? `not one of ${valid.join(', ')}` : `${format} has none` },
        valid.length ? `--subformat ${sub} is not a subformat of ${format}; valid: ${valid.join(', ')}.` : `${format} has no subformats (--subformat ${sub} given).`,
        valid.length ? `Use one of: ${valid.join(', ')}.` : `Drop --subformat; subformats exist for ${others}.`,
      );
    }
    if (format === 'vmdk') params.vmdk_subformat = VmdkSubformat.parse(match);
    else if (format === 'vpc') params.vpc_subformat = match as 'fixed' | 'dynamic';
    else params.vhdx_subformat = match as 'fixed' | 'dynamic';
  }
  if (format === 'qcow2') {
    params.qcow2 = {
      ...(o.compat ? { compat: o.compat as '0.10' | '1.1' } : {}),
      ...(o.compression ? { compression: o.compression as 'none' | 'zlib' | 'zstd' } : {}),
      ...(o.clusterSize ? { cluster_size: o.clusterSize } : {}),
      ...(o.preallocation ? { preallocation: o.preallocation as 'off' | 'metadata' | 'falloc' | 'full' } : {}),
      ...(o.lazyRefcounts ? { lazy_refcounts: true } : {}),
    };
  } else if (o.compression || o.compat || o.clusterSize || o.preallocation || o.lazyRefcounts) {
    throw new WorkerError('validation_failed', { fields: [{ path: '--compression', message: 'compression, compat, cluster size, preallocation and lazy refcounts are qcow2 options' }] });
  }
  if (o.azure) {
    if (format !== 'vpc') throw new WorkerError('validation_failed', { fields: [{ path: '--azure', message: '--azure applies to --format vpc' }] });
    params.azure_round = true;
    params.vpc_subformat = params.vpc_subformat === 'dynamic' ? 'dynamic' : 'fixed';
  }
  if (o.sha256) params.sha256 = true;
  if (o.overwrite) params.overwrite = true;
  if (o.rateLimit) params.rate_limit_bps = o.rateLimit;
  params.tuning = {
    out_of_order: o.outOfOrder,
    sparse: o.sparse,
    ...(o.coroutines ? { coroutines: o.coroutines } : {}),
    ...(o.cache ? { cache: o.cache as 'writeback' | 'none' } : {}),
  };
  return {
    operation: 'convert',
    params,
    ...(o.id ? { id: o.id } : {}),
    ...(o.priority !== undefined ? { priority: o.priority } : {}),
    ...(o.timeout ? { timeout_s: o.timeout } : {}),
    ...(o.attempts ? { retry: { max_attempts: o.attempts } } : {}),
  };
}

/** The human summary of a finished convert job. Pure. */
export function renderConvertSummary(d: JobDetail): string {
  const s = d.summary;
  const out: string[] = [];
  const r = d.result;
  const payload = r?.outcome === 'completed' ? (r.payload as ConvertPayload | null) : null;
  out.push(`Job ${s.id}  ${s.state}${r?.metrics.run_s != null ? `  in ${formatDuration(r.metrics.run_s)}` : ''}${r?.metrics.throughput_bps ? `  (${formatRate(r.metrics.throughput_bps)} of virtual disk)` : ''}`);
  for (const disk of payload?.disks ?? []) {
    out.push(`  ${disk.source}${disk.member ? ` [${disk.member}]` : ''}  (${disk.source_format}${disk.source_subformat ? ` ${disk.source_subformat}` : ''}, ${formatBytes(disk.virtual_size)})`);
    out.push(`    → ${disk.output}  (${disk.output_format}${disk.output_subformat ? ` ${disk.output_subformat}` : ''}${disk.output_virtual_size !== disk.virtual_size ? `, rounded to ${formatBytes(disk.output_virtual_size)}` : ''})`);
    out.push(`    copied in ${formatDuration(disk.copy_s)}, flushed in ${formatDuration(disk.flush_s)}`);
    out.push(`    ${disk.source_before?.length && disk.source_after?.length ? untouchedLine(disk.source_before, disk.source_after) : disk.source_untouched ? 'source untouched' : 'source CHANGED'}`);
    const v = disk.verification;
    if (v.method !== 'none') out.push(`    verified by ${v.method}: ${v.ok ? 'identical' : 'MISMATCH'}${v.detail ? ` — ${v.detail}` : ''}`);
    if (v.output_guest_sha256) out.push(`    guest sha256 ${v.output_guest_sha256}`);
  }
  if (r?.artifacts.length) {
    out.push('  Files');
    for (const a of r.artifacts) {
      out.push(`    ${a.role.padEnd(10)} ${a.path}  ${formatBytes(a.size_bytes)}${a.allocated_bytes != null ? ` (${formatBytes(a.allocated_bytes)} allocated)` : ''}${a.sha256 ? `  sha256 ${a.sha256}` : ''}`);
    }
  }
  const err = r?.error ?? s.error;
  if (err && s.state !== 'COMPLETED') out.push('', formatError(err));
  return out.join('\n');
}

/** Register `convert` on the program. */
export function registerConvertCommand(program: Command, ctxOf: (cmd: Command) => CliContext): void {
  program
    .command('convert')
    .description('Convert disks (qcow2 by default) with live progress; cancel with Ctrl-C. Several sources of one VM are one job.')
    .argument('<paths...>', 'source disks (or one .ova/.ovf with --member), then the output file or folder')
    .addOption(new Option('--format <format>', 'output format (default: from the destination\'s extension, else qcow2)').choices(ImageFormat.options))
    .option('--subformat <name>', `vmdk: ${VmdkSubformat.options.join(', ')}; vpc and vhdx: fixed, dynamic`)
    .addOption(new Option('--compression <kind>', 'qcow2 compression').choices(['none', 'zlib', 'zstd']))
    .addOption(new Option('--compat <level>', 'qcow2 compatibility level (default 1.1)').choices(['0.10', '1.1']))
    .option('--cluster-size <bytes>', 'qcow2 cluster size, e.g. 64k or 2M', parseSize)
    .addOption(new Option('--preallocation <mode>', 'qcow2 preallocation').choices(['off', 'metadata', 'falloc', 'full']))
    .option('--lazy-refcounts', 'qcow2 lazy refcounts')
    .option('--azure', 'vpc: fixed, virtual size rounded up to a whole MiB (what Azure requires)')
    .addOption(new Option('--verify <method>', 'check the output against the source').choices(['none', 'compare', 'checksum']).default('none'))
    .option('--sha256', 'record the sha256 of every output file')
    .option('--overwrite', 'replace existing output files')
    .option('--rate-limit <bytes/s>', 'throttle the copy, e.g. 50M (bytes of data read per second)', parseSize)
    .option('--coroutines <n>', 'parallel requests of qemu-img (-m, default 8)', positiveInt)
    .option('--no-out-of-order', 'write in order (no qemu-img -W)')
    .addOption(new Option('--cache <mode>', 'target cache (qemu-img -t; default writeback, flushed at the end)').choices(['writeback', 'none']))
    .option('--no-sparse', 'write zeroes instead of leaving holes')
    .option('--member <name>', 'a disk file inside the .ova/.ovf source (repeat for several)', (v: string, prev: string[] | undefined) => [...(prev ?? []), v])
    .option('--priority <n>', 'queue priority 0-100 (default 50)', parsePriority)
    .option('--timeout <seconds>', 'stop the job after this long', positiveInt)
    .option('--attempts <n>', 'attempts in all when interrupted or a tool fails (default 1)', positiveInt)
    .option('--id <id>', 'job id (default: chosen by the worker)')
    .option('--detach', 'submit and print the job id without waiting')
    .option('--json', 'print the job detail as JSON')
    .action(async (paths: string[], o: ConvertCliOptions, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const spec = buildConvertSpec(paths, o, process.cwd(), await describeSources(paths, o));
      const job = await ctx.client().call('jobs.submit', { spec });
      if (o.detach || isTerminal(job.state)) {
        const detail = await ctx.client().call('jobs.get', { id: job.id });
        ctx.out(ctx.json ? JSON.stringify(detail, null, 2) : isTerminal(job.state) ? renderConvertSummary(detail) : `${job.id}  ${job.state}`);
        ctx.setExit(isTerminal(job.state) ? exitCodeForState(job.state) : EXIT.ok);
        noteIfNoRunner(ctx, job, 'convert without --detach to run it here');
        return;
      }
      if (!ctx.json) ctx.err(`job ${job.id} ${job.state}: ${spec.params.disks.map((d) => `${d.source}${d.member ? ` [${d.member}]` : ''} → ${d.output}`).join(', ')}`);
      const final = await waitForJob(ctx, job.id);
      const detail = await ctx.client().call('jobs.get', { id: final.id });
      ctx.out(ctx.json ? JSON.stringify(detail, null, 2) : renderConvertSummary(detail));
      ctx.setExit(exitCodeForState(final.state));
    });
}
