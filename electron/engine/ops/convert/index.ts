/**
 * The convert operation: one or more disks of a VM, each read by `qemu-img convert` and written
 * to the requested format, as one job with one result.
 *
 * Order of work, and why:
 * 1. Pre-flight (source.ts, preflight.ts): every source probed (format from its magic, extents,
 *    backing chain, truncation; or its kept probe results while its files are unchanged), every
 *    output checked (folder, existing file, not an input, free space against the most the
 *    output can take, or `qemu-img measure` when that does not fit). Nothing is written before
 *    all of it passed.
 * 2. Per disk: copy under a temporary name in the destination folder (declared partial first,
 *    so a failure, a cancel or a crash removes it), flush (fsync files and folder), verify
 *    against the source when asked, hash the output files when asked.
 * 3. The sources' size and mtime are compared with the values recorded before the copy.
 * 4. Publish: every disk's files moved to their final names, extents before descriptors, the
 *    destination folders fsynced. Until the last one is in place they are still partial, so a
 *    job either leaves all its outputs or none.
 *
 * Throws WorkerError with a catalogue code (see docs/convert.md for the list); on a cancel or
 * timeout the context's abort reason.
 */
import { mkdir, rm, stat } from 'node:fs/promises';
import { basename, join } from 'node:path';
import type { Artifact, ConvertedDisk, ConvertPayload, ConvertSpec, ConvertVerification, FileStamp } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { formatBytes } from '../../../../shared/format';
import { firstLines, qemuImgRun, type Run } from '../../../tools/qemu-img';
import { buildConvertArgs, buildCreateArgs, classifyConvertError, ioUringSource, progressStream, targetSettings, type TargetSettings } from '../../../tools/qemu-img-convert';
import { ioUringUsable } from './aio';
import type { OperationContext, OperationOutput } from '../../types';
import { makePlan, planWork, RateWindow, type PlanStage, type ProgressPlan } from './plan';
import { planManifestChecks, runManifestChecks } from './package-manifest';
import { freeBytes, preflight, type MeasureMemo, type OutputPlan } from './preflight';
import { probeClock, type Measured } from '../../image/probe-cache';
import { flushFiles, fsyncPath, outputFiles, publishFile, removeEmptyDir } from './publish';
import { describeStamp, resolveSource, sameStamps, stampFiles, untouchedLine, type ResolvedSource } from './source';
import { verifyOutput } from './verify';
import { openPackage, type OvfPackage } from '../../ova/package';
import { hashRange } from '../../ova/manifest';

type ConvertContext = OperationContext<ConvertSpec>;

/** What a progress report may add to its fraction. */
interface ReportExtra {
  /** The stage's own bytes, when they are not its fraction of the virtual size. */
  bytes?: { done: number; total: number };
  message?: string;
  /** The copy's qemu-img has exited: its fraction is no longer capped by the rate limit. */
  exited?: boolean;
}

/** A rate-limited copy reads at most this fraction done until qemu-img has exited. */
const COPY_CAP_MAX = 0.99;

/** One disk's state through the job. */
interface DiskWork {
  src: ResolvedSource;
  out: OutputPlan;
  before: FileStamp[];
  command: string[];
  /** Output files in publishing order: where qemu-img wrote them, and their final path. */
  files: { path: string; final: string; role: 'disk' | 'extent' | 'descriptor' }[];
  outputVirtualSize: number;
  copyS: number;
  flushS: number;
  verification: ConvertVerification;
  sha256: Map<string, string>;
}

/**
 * Run a convert job (see the file comment for the order of work). Resolves with one artifact per
 * output file (extents first, the disk or descriptor last), the ConvertPayload, the virtual bytes
 * converted and the seconds per stage. Throws WorkerError (codes in docs/convert.md), or the
 * abort reason on cancel or timeout; temporary outputs are gone by the time it throws.
 */
export async function convertOperation(ctx: ConvertContext): Promise<OperationOutput> {
  const params = ctx.spec.params;
  const run: Run = qemuImgRun((r) => ctx.run(r));
  const stages: Record<string, number> = { preflight: 0, copy: 0, flush: 0, verify: 0, hash: 0, publish: 0 };
  let mark = Date.now();
  const lap = (stage: string) => {
    const now = Date.now();
    stages[stage] = (stages[stage] ?? 0) + (now - mark) / 1000;
    mark = now;
  };
  const checkAbort = () => {
    if (ctx.signal.aborted) throw ctx.signal.reason;
  };

  ctx.progress({ stage: 'preflight', percent: 0, message: `checking ${params.disks.length} disk(s) and their destinations` });
  const target = targetSettings(params);
  const sources: ResolvedSource[] = [];
  // Each package is opened once per job, whatever the number of its disks: its tar indexed, its
  // OVF parsed and its gzip-compressed disks unpacked into the scratch folder only once.
  const packages = new Map<string, Promise<OvfPackage>>();
  const openPkg = (path: string): Promise<OvfPackage> => {
    let pkg = packages.get(path);
    if (!pkg) {
      pkg = openPackage(path, { signal: ctx.signal, workDir: ctx.scratchDir });
      packages.set(path, pkg);
    }
    return pkg;
  };
  // Probe results kept from earlier jobs: a plain image whose files are unchanged since is not
  // probed or measured again (probe-cache.ts); new ones are kept once the pre-flight passed.
  const cache = ctx.probeCache;
  const probeStarts: bigint[] = [];
  const taken: Record<string, Measured>[] = params.disks.map(() => ({}));
  const memos: (MeasureMemo | undefined)[] = [];
  for (const [i, disk] of params.disks.entries()) {
    if (disk.member !== undefined) await mkdir(ctx.scratchDir, { recursive: true, mode: 0o700 });
    probeStarts[i] = probeClock();
    memos[i] = cache && disk.member === undefined ? { known: (key) => cache.measure(disk.source, key), taken: (key, m) => void (taken[i]![key] = m) } : undefined;
    sources.push(await resolveSource(run, disk, i, ctx.signal, openPkg, cache));
    checkAbort();
  }
  const befores = await Promise.all(sources.map((s) => stampFiles(s.files)));
  const manifests = await planManifestChecks(params.disks, ctx.signal, openPkg);
  const outputs = await preflight(run, ctx.jobId, params, target, sources, memos);
  checkAbort();
  if (cache) {
    for (const [i, s] of sources.entries()) {
      if (s.member !== null || !s.facts || (s.factsReused && Object.keys(taken[i]!).length === 0)) continue;
      await cache.record(s.given, s.facts, s.files, probeStarts[i]!, taken[i], { chainChecked: true });
    }
  }
  for (const [i, s] of sources.entries()) {
    const o = outputs[i]!;
    if (s.factsReused) ctx.log('info', `disk ${i + 1}: image facts reused from an earlier probe (its ${s.files.length === 1 ? 'file is' : `${s.files.length} files are`} unchanged since: device, inode, size, mtime, ctime)`);
    ctx.log(
      'info',
      `disk ${i + 1}: ${s.given}${s.member ? ` member ${s.member}` : ''} (${s.format}${s.subformat ? ` ${s.subformat}` : ''}, virtual ${formatBytes(s.virtualSize)}, ` +
        `${s.backingChain.length ? `backing chain of ${s.backingChain.length} flattened, ` : ''}source before: ${befores[i]!.map(describeStamp).join('; ')}) ` +
        `→ ${o.final} (${target.format}${target.subformat ? ` ${target.subformat}` : ''}); ${o.requiredFrom === 'upper bound' ? `needs at most ${formatBytes(o.required)} (the most such an output can take, so qemu-img measure was not needed)` : `needs about ${formatBytes(o.required)}`}, ${formatBytes(o.free)} free`,
    );
  }
  const manifestBytes = manifests.reduce((a, m) => a + m.bytes, 0);
  const plan = makePlan(
    sources.map((s) => s.virtualSize),
    { verify: params.verify !== 'none', hash: params.sha256, manifestBytes },
  );
  const allocatedTotal = sources.reduce((a, s) => a + s.allocated, 0);

  // Packages: the converted members and the descriptor against the manifest, before any output
  // exists (package-manifest.ts). Its seconds count as pre-flight.
  if (manifests.length) {
    let shown = -1;
    const hashed = (n: number) => {
      const work = planWork(plan, -1, 'manifest', n / Math.max(1, manifestBytes));
      if (work.done === shown) return;
      shown = work.done;
      ctx.progress({
        stage: 'manifest',
        percent: work.percent,
        bytes_done: work.done,
        bytes_total: work.total,
        allocated_bytes: allocatedTotal,
        message: `checking the package manifest (${formatBytes(n)} of ${formatBytes(manifestBytes)} hashed)`,
      });
    };
    if (manifestBytes > 0) hashed(0);
    await runManifestChecks(manifests, ctx.signal, hashed, (line, level) => ctx.log(level, line, 'ova'));
    checkAbort();
  }
  lap('preflight');
  // With a rate limit, the copy's rate is measured here over a window and shown clamped to the
  // limit: qemu-img lets its first requests through at once, so an instant rate can read many
  // times the limit (docs/convert.md, Progress).
  const limit = params.rate_limit_bps ?? null;
  const copyRate = new RateWindow();
  let copyStarted = Date.now();
  /** The fraction of disk `disk`'s copy the rate limit allows after the time elapsed. */
  const copyCap = (disk: number) => ((Date.now() - copyStarted) / 1000) * (limit ?? Infinity) / Math.max(1, sources[disk]!.allocated);
  let last = '';
  const report = (disk: number, stage: PlanStage, fraction: number, extra: ReportExtra = {}) => {
    if (limit !== null && stage === 'copy') {
      if (fraction === 0) copyStarted = Date.now();
      // qemu-img -p with -r counts the requests it has submitted, not the data the limit let
      // through: it reads 100 % long before the copy ends. The fraction shown is what the limit
      // allows so far over the disk's data (its allocated bytes), and stays below 1 until
      // qemu-img has exited (the caller then reports 1).
      else if (!extra.exited) fraction = Math.min(fraction, copyCap(disk), COPY_CAP_MAX);
    }
    // The same point twice (qemu-img prints 0.00 and 100.00 twice) would only read as 0 B/s.
    const key = `${disk}:${stage}:${fraction}:${extra.bytes?.done ?? ''}`;
    if (key === last) return;
    last = key;
    const work = planWork(plan, disk, stage, fraction);
    const size = sources[disk]!.virtualSize;
    const own = extra.bytes ?? { done: Math.round(Math.min(1, Math.max(0, fraction)) * size), total: size };
    let timing: { rate_bps?: number; eta_s?: number } = {};
    if (limit !== null && stage === 'copy') {
      if (fraction === 0) copyRate.reset();
      copyRate.add(Date.now(), work.done);
      const measured = copyRate.rate();
      if (fraction > 0) {
        timing = { rate_bps: Math.min(limit, measured ?? limit) };
        if (measured) timing.eta_s = Math.max(0, (work.total - work.done) / measured);
      }
    }
    ctx.progress({
      stage,
      percent: work.percent,
      bytes_done: work.done,
      bytes_total: work.total,
      ...timing,
      allocated_bytes: allocatedTotal,
      message:
        extra.message ??
        `disk ${disk + 1} of ${sources.length}: ${basename(sources[disk]!.given)}${sources[disk]!.member ? `:${sources[disk]!.member}` : ''} (${stage} ${formatBytes(own.done)} of ${formatBytes(own.total)})`,
    });
  };

  const works: DiskWork[] = [];
  /** The sources' stamps after the copy, checked equal to those before (the payload's source_after). */
  let afters: FileStamp[][];
  const owned: string[] = [];
  let published = false;
  try {
    for (const [i, src] of sources.entries()) {
      const out = outputs[i]!;
      const work = await convertOne(ctx, run, params, target, plan, src, out, befores[i]!, report, lap);
      works.push(work);
    }

    // The audit trail: the sources are as they were before the copy.
    afters = await Promise.all(sources.map((s) => stampFiles(s.files)));
    for (const [i, w] of works.entries()) {
      const untouched = sameStamps(w.before, afters[i]!);
      ctx.log(untouched ? 'info' : 'error', `disk ${i + 1}: ${untouchedLine(w.before, afters[i]!)}`);
      if (!untouched) throw new WorkerError('source_changed', { detail: `${w.src.given}: ${untouchedLine(w.before, afters[i]!)}` });
    }

    // A verification mismatch: that output is kept under its final name for analysis (as the
    // catalogue's hint says), the others are removed, the job fails.
    const bad = works.find((w) => w.verification.ok === false);
    if (bad) {
      await publishDisk(bad, params.overwrite, () => undefined);
      await fsyncPath(bad.out.dir);
      ctx.settled(bad.out.partial);
      throw new WorkerError('verification_failed', { detail: `${bad.out.final}: ${bad.verification.detail ?? 'mismatch'}` });
    }

    for (const w of works) {
      await publishDisk(w, params.overwrite, (p) => {
        ctx.partial(p, 'file');
        owned.push(p);
      });
    }
    for (const d of new Set(works.map((w) => w.out.dir))) await fsyncPath(d);
    for (const p of owned) ctx.settled(p);
    for (const w of works) ctx.settled(w.out.partial);
    published = true;
    lap('publish');
  } finally {
    if (!published) {
      // Temporary outputs go now; published-but-partial finals are the runner's (declared).
      for (const o of outputs) {
        await rm(o.partial, { recursive: true, force: true }).catch(() => undefined);
      }
      for (const o of outputs) ctx.settled(o.partial);
    }
  }

  // Artifacts, from the final files.
  const artifacts: Artifact[] = [];
  const disks: ConvertedDisk[] = [];
  for (const [i, w] of works.entries()) {
    for (const f of w.files) {
      const finalPath = f.final;
      const st = await stat(finalPath);
      const isDisk = f.role !== 'extent';
      artifacts.push({
        path: finalPath,
        role: f.role,
        format: target.format,
        size_bytes: st.size,
        allocated_bytes: st.blocks * 512,
        virtual_size: isDisk ? w.outputVirtualSize : null,
        sha256: w.sha256.get(f.path) ?? null,
        ...(isDisk
          ? {
              verification: {
                method: w.verification.method,
                ok: w.verification.ok,
                detail: w.verification.detail,
                guest_sha256: w.verification.output_guest_sha256,
              },
            }
          : {}),
      });
    }
    disks.push({
      source: w.src.given,
      member: w.src.member,
      source_format: w.src.format,
      source_subformat: w.src.subformat,
      source_files: w.src.files,
      backing_chain: w.src.backingChain,
      virtual_size: w.src.virtualSize,
      source_allocated_bytes: w.src.allocated,
      output: w.out.final,
      output_format: target.format,
      output_subformat: target.subformat,
      output_virtual_size: w.outputVirtualSize,
      files: w.files.map((f) => f.final),
      command: w.command,
      preflight: { required_bytes: w.out.required, required_from: w.out.requiredFrom, free_bytes: w.out.free },
      source_before: w.before,
      source_after: afters[i]!,
      source_untouched: true,
      copy_s: w.copyS,
      flush_s: w.flushS,
      verification: w.verification,
    });
  }
  const payload: ConvertPayload = { format: target.format, verify: params.verify, disks, virtual_bytes: plan.virtualTotal };
  ctx.progress({ stage: 'done', percent: 100, bytes_done: Math.round(plan.total), bytes_total: Math.round(plan.total), allocated_bytes: allocatedTotal, message: `${works.length} disk(s) converted` });
  return { artifacts, payload, bytes_processed: plan.virtualTotal, stages };
}

/** Move one disk's files into place: extents first, the descriptor (or the disk) last. */
async function publishDisk(w: DiskWork, overwrite: boolean, onOwned: (path: string) => void): Promise<void> {
  for (const f of w.files) await publishFile(f.path, f.final, overwrite, onOwned);
  if (w.out.tempDir) await removeEmptyDir(w.out.tempDir);
}

/** Copy, flush, verify and hash one disk, under its temporary name. */
async function convertOne(
  ctx: ConvertContext,
  run: Run,
  params: ConvertSpec['params'],
  target: TargetSettings,
  plan: ProgressPlan,
  src: ResolvedSource,
  out: OutputPlan,
  before: FileStamp[],
  report: (disk: number, stage: PlanStage, fraction: number, extra?: ReportExtra) => void,
  lap: (stage: string) => void,
): Promise<DiskWork> {
  const i = src.index;
  const copyStarted = Date.now();
  report(i, 'copy', 0);

  // Declared before it exists: a failure, a cancel or a crash removes it.
  ctx.partial(out.partial, out.partialKind);
  if (out.tempDir) await mkdir(out.tempDir, { mode: 0o755 });
  if (out.createFirst) {
    const r = await run({ command: 'qemu-img', args: buildCreateArgs(out.target, target, out.virtualSize) });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    if (r.exitCode !== 0) throw new WorkerError(classifyConvertError(r.stderr), { detail: `qemu-img create ${out.target}: ${firstLines(r.stderr)}` });
  }
  // One-file sources are read with io_uring when the host allows it (aio.ts, docs/convert.md).
  const oneFile = src.member === null && src.spec === src.given && src.files.length === 1 && src.backingChain.length === 0;
  const args = buildConvertArgs({
    source: oneFile && (await ioUringUsable()) ? ioUringSource(src.spec) : src.spec,
    sourceFormat: src.format,
    target: out.target,
    target_settings: target,
    targetExists: out.createFirst,
    targetIsZero: out.createFirst,
    rateLimitBps: params.rate_limit_bps,
    tuning: params.tuning,
    progress: true,
  });
  const stream = progressStream();
  // With a rate limit the fraction shown follows the clock (report caps it by what the limit
  // allows so far), so it is reported again every half second, not only when qemu-img prints.
  let qemuFraction = 0;
  const ticker = params.rate_limit_bps
    ? setInterval(() => {
        if (qemuFraction > 0) report(i, 'copy', qemuFraction);
      }, 500)
    : undefined;
  const r = await run({
    command: 'qemu-img',
    args,
    onStdout: (chunk) => {
      const ps = stream.push(chunk);
      if (ps.length) {
        qemuFraction = ps[ps.length - 1]! / 100;
        report(i, 'copy', qemuFraction);
      }
    },
  }).finally(() => clearInterval(ticker));
  if (ctx.signal.aborted) throw ctx.signal.reason;
  ctx.log('debug', `disk ${i + 1}: qemu-img convert ran ${(r.durationMs / 1000).toFixed(3)} s, exit ${r.signal ?? r.exitCode}`, 'qemu-img');
  if (r.exitCode !== 0) {
    const code = classifyConvertError(r.stderr);
    const free = code === 'no_space' ? await freeBytes(out.dir).catch(() => null) : null;
    throw new WorkerError(code, {
      detail: `qemu-img convert ${src.given} → ${out.final}: ${firstLines(r.stderr) || `exit ${r.signal ?? r.exitCode}`}${free !== null ? ` (${formatBytes(free)} free in ${out.dir} now; pre-flight estimated ${formatBytes(out.required)} needed with ${formatBytes(out.free)} free)` : ''}`,
    });
  }
  report(i, 'copy', 1, { exited: true });
  const copyS = (Date.now() - copyStarted) / 1000;
  lap('copy');

  const flushStarted = Date.now();
  const files = (await outputFiles(out.target, out.tempDir !== null)).map((f) => ({ ...f, final: out.tempDir ? join(out.dir, basename(f.path)) : out.final }));
  await flushFiles(files.map((f) => f.path));
  const flushS = (Date.now() - flushStarted) / 1000;
  lap('flush');

  let verification: ConvertVerification = { method: 'none', ok: null, detail: null, source_guest_sha256: null, output_guest_sha256: null, seconds: 0 };
  if (params.verify !== 'none') {
    report(i, 'verify', 0);
    verification = await verifyOutput(ctx, {
      method: params.verify,
      source: src.spec,
      sourceFormat: src.format,
      sourceVirtualSize: src.virtualSize,
      output: out.target,
      outputFormat: target.format,
      onFraction: (f) => report(i, 'verify', f),
    });
    ctx.log(verification.ok ? 'info' : 'error', `disk ${i + 1}: verification by ${verification.method}: ${verification.ok ? 'identical' : 'MISMATCH'} (${verification.detail})`);
    lap('verify');
  }

  const sha256 = new Map<string, string>();
  if (params.sha256) {
    const sizes = await Promise.all(files.map((f) => stat(f.path).then((s) => s.size)));
    const total = sizes.reduce((a, b) => a + b, 0);
    let before = 0;
    for (const [k, f] of files.entries()) {
      const { sha256: digest } = await hashRange({ path: f.path, offset: 0, size: sizes[k]! }, ['sha256'], ctx.signal, (n) =>
        report(i, 'hash', (before + n) / Math.max(1, total), { bytes: { done: before + n, total } }),
      );
      sha256.set(f.path, digest!);
      before += sizes[k]!;
    }
    lap('hash');
  }
  return { src, out, before, command: ['qemu-img', ...args], files, outputVirtualSize: out.virtualSize, copyS, flushS, verification, sha256 };
}
