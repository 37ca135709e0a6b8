/**
 * `h2k-worker convert <src>... <dst>`: convert disks through the worker (a convert job), watch
 * its progress, print what it produced.
 *
 * Paths are resolved to absolute paths before the spec is built, so a file named `-x.vmdk`
 * (given as `./-x.vmdk`, or after `--`) reaches qemu-img as `/…/-x.vmdk` and can never be read
 * as an option. When `<dst>` is a folder (it exists as one, ends with `/`, or several sources are
 * given), each output is named `<dst>/<source name without extension>.<format extension>`.
 *
 * Exit codes (main.ts): 0 completed, 1 failed, 2 bad usage or invalid spec, 3 cancelled
 * (Ctrl-C cancels the job and waits for its clean-up), 4 this machine cannot run it.
 */
import { InvalidArgumentError, Option, type Command } from 'commander';
import { statSync } from 'node:fs';
import { basename, extname, join, resolve, sep } from 'node:path';
import type { ConvertPayload, JobDetail, JobSpecInput } from '../../shared/protocol';
import { ImageFormat, VmdkSubformat, isTerminal } from '../../shared/protocol';
import { WorkerError, formatError } from '../../shared/errors';
import { formatBytes, formatDuration, formatRate } from '../../shared/format';
import { extensionOf } from '../tools/qemu-img-convert';
import { EXIT, exitCodeForState, waitForJob, type CliContext } from './main';

type ConvertInput = Extract<JobSpecInput, { operation: 'convert' }>;

/** Options of the command, as commander parses them. */
export interface ConvertCliOptions {
  format: string;
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

/**
 * "50M", "1.5G", "64k", "1048576" → bytes (binary units, as qemu-img reads sizes). Throws
 * commander's InvalidArgumentError for anything else.
 */
export function parseSize(v: string): number {
  const m = /^\s*(\d+(?:\.\d+)?)\s*([kmgt]?)(?:i?b)?\s*$/i.exec(v);
  if (!m) throw new InvalidArgumentError('a size is expected, e.g. 65536, 64k, 50M, 1G');
  const mult = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 }[m[2]!.toLowerCase() as '' | 'k' | 'm' | 'g' | 't'];
  const n = Math.round(Number(m[1]) * mult);
  if (!Number.isSafeInteger(n) || n < 1) throw new InvalidArgumentError('a size of at least 1 byte is expected');
  return n;
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of 1 or more is expected');
  return n;
}

/** True when `dst` names a folder: it is one, or it ends with a slash. */
function isFolder(dst: string): boolean {
  if (dst.endsWith('/') || dst.endsWith(sep)) return true;
  try {
    return statSync(dst).isDirectory();
  } catch {
    return false;
  }
}

/** The output name for a source in a folder: `<name without extension>.<ext>`. */
export function derivedOutputName(source: string, member: string | undefined, format: ImageFormat): string {
  const name = basename(member ?? source);
  const ext = extname(name);
  const stem = ext && ext !== name ? name.slice(0, -ext.length) : name;
  return `${stem || 'disk'}.${extensionOf(format)}`;
}

/**
 * Build the convert spec from the command line. Pure apart from `cwd` (paths are resolved
 * against it) and the folder test on `<dst>`. Throws WorkerError `validation_failed` for
 * combinations the command refuses.
 */
export function buildConvertSpec(paths: string[], o: ConvertCliOptions, cwd = process.cwd()): ConvertInput {
  if (paths.length < 2) throw new WorkerError('validation_failed', { fields: [{ path: 'paths', message: 'a source and a destination are needed: convert <src>... <dst>' }] });
  const format = ImageFormat.parse(o.format);
  const sources = paths.slice(0, -1).map((p) => resolve(cwd, p));
  const dstGiven = paths.at(-1)!;
  const dst = resolve(cwd, dstGiven);
  const members = o.member ?? [];
  if (members.length && sources.length !== 1) {
    throw new WorkerError('validation_failed', { fields: [{ path: '--member', message: '--member needs exactly one package (.ova/.ovf) as source' }] });
  }
  const pairs: { source: string; member?: string }[] = members.length ? members.map((m) => ({ source: sources[0]!, member: m })) : sources.map((s) => ({ source: s }));
  const folder = pairs.length > 1 || isFolder(dstGiven) || isFolder(dst);
  const disks = pairs.map((p) => ({ ...p, output: folder ? join(dst, derivedOutputName(p.source, p.member, format)) : dst }));

  const params: ConvertInput['params'] = { disks, format, verify: o.verify as 'none' | 'compare' | 'checksum' };
  const sub = o.subformat;
  if (sub !== undefined) {
    if (format === 'vmdk') params.vmdk_subformat = VmdkSubformat.parse(sub);
    else if (format === 'vpc' && (sub === 'fixed' || sub === 'dynamic')) params.vpc_subformat = sub;
    else if (format === 'vhdx' && (sub === 'fixed' || sub === 'dynamic')) params.vhdx_subformat = sub;
    else throw new WorkerError('validation_failed', { fields: [{ path: '--subformat', message: `${sub} is not a subformat of ${format} (vmdk: ${VmdkSubformat.options.join(', ')}; vpc and vhdx: fixed, dynamic)` }] });
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
    params.vpc_subformat = sub === 'dynamic' ? 'dynamic' : 'fixed';
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
    out.push(`    copied in ${formatDuration(disk.copy_s)}, flushed in ${formatDuration(disk.flush_s)}; source ${disk.source_untouched ? 'untouched (size and mtime unchanged)' : 'CHANGED'}`);
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
    .addOption(new Option('--format <format>', 'output format').choices(ImageFormat.options).default('qcow2'))
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
    .option('--priority <n>', 'queue priority 0-100 (default 50)', (v) => Number(v))
    .option('--timeout <seconds>', 'stop the job after this long', positiveInt)
    .option('--attempts <n>', 'attempts in all when interrupted or a tool fails (default 1)', positiveInt)
    .option('--id <id>', 'job id (default: chosen by the worker)')
    .option('--detach', 'submit and print the job id without waiting')
    .option('--json', 'print the job detail as JSON')
    .action(async (paths: string[], o: ConvertCliOptions, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const spec = buildConvertSpec(paths, o);
      const job = await ctx.client().call('jobs.submit', { spec });
      if (o.detach || isTerminal(job.state)) {
        const detail = await ctx.client().call('jobs.get', { id: job.id });
        ctx.out(ctx.json ? JSON.stringify(detail, null, 2) : isTerminal(job.state) ? renderConvertSummary(detail) : `${job.id}  ${job.state}`);
        ctx.setExit(isTerminal(job.state) ? exitCodeForState(job.state) : EXIT.ok);
        return;
      }
      if (!ctx.json) ctx.err(`job ${job.id} ${job.state}: ${spec.params.disks.map((d) => `${d.source}${d.member ? ` [${d.member}]` : ''} → ${d.output}`).join(', ')}`);
      const final = await waitForJob(ctx, job.id);
      const detail = await ctx.client().call('jobs.get', { id: final.id });
      ctx.out(ctx.json ? JSON.stringify(detail, null, 2) : renderConvertSummary(detail));
      ctx.setExit(exitCodeForState(final.state));
    });
}
