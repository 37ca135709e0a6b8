/**
 * The sources of a convert job: each disk's image probed (format from its magic, extents and
 * backing chain checked, truncation and corruption found) before anything is written, the list
 * of every file the copy will read, and their size and modification time for the audit trail.
 */
import { stat } from 'node:fs/promises';
import type { FileStamp, ImageFacts, ImageFormat } from '../../../../shared/protocol';
import { firstLines, qemuImgCheck, type CheckOutcome } from '../../../tools/qemu-img';
import type { ConvertParams } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { determineFormat, probeImage } from '../../image/facts';
import type { Run } from '../../../tools/qemu-img';
import { isPackageName, openMemberSource } from './ova-member';
import { openPackage, type OvfPackage } from '../../ova/package';
import { filesOfFacts, type ProbeCache } from '../../image/probe-cache';

/** A disk to convert, as qemu-img will read it. */
export interface ResolvedSource {
  /** The disk as the spec gave it (index in params.disks). */
  index: number;
  /** The source path as given (an image, or the package holding it). */
  given: string;
  member: string | null;
  /** What qemu-img opens: a path, or a `json:{...}` spec reading a package member in place. */
  spec: string;
  format: ImageFormat;
  subformat: string | null;
  virtualSize: number;
  /** Host bytes allocated to the source files (the image, its extents, its backing chain). */
  allocated: number;
  /** Backing files flattened into the output, nearest first. */
  backingChain: string[];
  /** Every file the copy reads (absolute, de-duplicated): outputs must be none of these. */
  files: string[];
  facts: ImageFacts | null;
  /** The facts are a probe's kept from before (probe-cache.ts): the files are unchanged since. */
  factsReused: boolean;
}

/** Size and mtime (ns) of each file, for the before/after record. Throws source_missing. */
export async function stampFiles(files: readonly string[]): Promise<FileStamp[]> {
  const out: FileStamp[] = [];
  for (const path of files) {
    try {
      const st = await stat(path, { bigint: true });
      out.push({ path, size_bytes: Number(st.size), mtime_ns: st.mtimeNs.toString() });
    } catch {
      throw new WorkerError('source_missing', { detail: `${path} disappeared during the job` });
    }
  }
  return out;
}

/**
 * What `qemu-img check` found, read as probeImage reads it (exit codes per qemu-img(1): 0 clean,
 * 1 check not completed, 2 corruptions, 3 leaks only, 63 not supported), with one rule more for
 * a copy: an image with corruptions is refused, since what qemu-img would read from it cannot
 * be trusted. Leaks (unused clusters) are harmless to a copy. Throws `image_truncated` (data
 * "points after EOF" / "exceeding the end of the file") and `image_corrupt`.
 */
export function integrityOf(path: string, check: CheckOutcome): ImageFacts['integrity'] {
  if (!check.supported) return { checked: false, ok: null, corruptions: 0, leaks: 0, check_errors: 0, detail: null };
  const text = (check.detail ?? '').toLowerCase();
  if (/points after eof|exceeding the end of the file|beyond the end/.test(text)) {
    throw new WorkerError('image_truncated', { detail: `${path}: ${firstLines(check.detail ?? '', 4)}` });
  }
  const integrity = {
    checked: true,
    ok: check.exitCode === 0 || check.exitCode === 3,
    corruptions: check.result?.corruptions ?? 0,
    leaks: check.result?.leaks ?? 0,
    check_errors: check.result?.['check-errors'] ?? (check.exitCode === 1 ? 1 : 0),
    detail: check.detail,
  };
  if (integrity.corruptions > 0 || check.exitCode === 2) {
    throw new WorkerError('image_corrupt', { detail: `${path}: qemu-img check found ${integrity.corruptions} corruption(s)${check.detail ? `: ${firstLines(check.detail, 6)}` : ''}` });
  }
  return integrity;
}

/**
 * A FileStamp's mtime (nanoseconds since the epoch, a decimal string) as ISO 8601 UTC with the
 * nanoseconds kept: `2026-11-29T14:49:08.843168033Z`. Pure.
 */
export function isoFromNs(ns: string): string {
  const n = BigInt(ns);
  const sec = n / 1_000_000_000n;
  const frac = (n % 1_000_000_000n).toString().padStart(9, '0');
  return `${new Date(Number(sec) * 1000).toISOString().slice(0, 19)}.${frac}Z`;
}

/** One file's stamp for the log: `path: size 18677760 bytes, mtime 2026-11-29T14:49:08.843168033Z`. */
export function describeStamp(s: FileStamp): string {
  return `${s.path}: size ${s.size_bytes} bytes, mtime ${isoFromNs(s.mtime_ns)}`;
}

/**
 * The audit line of one disk after the copy: `source untouched: size X, mtime Y (before = after)`
 * (one file), each file's size and mtime for an image of several files, or what changed. Pure.
 */
export function untouchedLine(before: readonly FileStamp[], after: readonly FileStamp[]): string {
  if (sameStamps(before, after)) {
    if (after.length === 1) return `source untouched: size ${after[0]!.size_bytes} bytes, mtime ${isoFromNs(after[0]!.mtime_ns)} (before = after)`;
    return `source untouched: ${after.map((a) => `${a.path} size ${a.size_bytes} bytes, mtime ${isoFromNs(a.mtime_ns)}`).join('; ')} (before = after)`;
  }
  const changes = before.map((b, i) => {
    const a = after[i];
    if (!a || a.path !== b.path) return `${b.path}: no longer read the same`;
    return `${b.path}: size ${b.size_bytes} → ${a.size_bytes} bytes, mtime ${isoFromNs(b.mtime_ns)} → ${isoFromNs(a.mtime_ns)}`;
  });
  return `source CHANGED during the job: ${changes.join('; ')}`;
}

/** True when two stamp lists describe the same files with the same size and mtime. */
export function sameStamps(a: readonly FileStamp[], b: readonly FileStamp[]): boolean {
  return a.length === b.length && a.every((x, i) => b[i]?.path === x.path && b[i]?.size_bytes === x.size_bytes && b[i]?.mtime_ns === x.mtime_ns);
}

/**
 * Probe one disk of the spec. Throws WorkerError for an unusable source, before any output
 * exists: source_missing, source_unreadable, not_an_image, image_encrypted, extent_missing,
 * backing_missing, backing_refused, image_truncated, image_corrupt, tool_missing; for a package
 * member, what the package reader throws (see ova-member.ts).
 */
export async function resolveSource(
  run: Run,
  disk: ConvertParams['disks'][number],
  index: number,
  signal: AbortSignal,
  /**
   * Opens a package holding a member disk (openPackage; with a working folder, gzip-compressed
   * disks are unpacked there). The operation passes one that opens each package once per job.
   */
  openPkg: (path: string) => Promise<OvfPackage> = (path) => openPackage(path, { signal }),
  /** Probe results kept from before: a plain image file whose files are unchanged is not probed again. */
  cache?: ProbeCache,
): Promise<ResolvedSource> {
  if (disk.member === undefined && isPackageName(disk.source)) {
    const pkg = await openPackage(disk.source, { signal });
    throw new WorkerError('validation_failed', {
      message: 'The source is a package: name the disk to convert.',
      hint: 'Give the disk as `member` (`--member NAME` on the command line), one entry per disk, or give a destination folder to `h2k-worker convert` to convert them all.',
      fields: [{ path: `params.disks.${index}.member`, message: `this is a package, its disks: ${pkg.disks.map((d) => d.file).join(', ') || 'none'}; give member` }],
    });
  }
  if (disk.member !== undefined) {
    return openMemberSource(run, disk, index, signal, (path) => resolveSource(run, { source: path, output: disk.output }, index, signal), openPkg);
  }
  const sniffed = await determineFormat(disk.source);
  const format = sniffed.format;
  let kept = cache ? await reusableFacts(cache, disk.source, format) : null;
  let facts = kept?.facts ?? (await probeSource(run, disk.source, format, sniffed));
  let read = await filesRead(facts);
  // Kept facts serve only when their record covers every file this copy reads.
  if (kept && read.files.some((f) => !kept!.files.includes(f))) {
    kept = null;
    facts = await probeSource(run, disk.source, format, sniffed);
    read = await filesRead(facts);
  }
  const { files, allocated } = read;
  return {
    index,
    given: disk.source,
    member: null,
    spec: disk.source,
    format: facts.format,
    subformat: facts.subformat,
    virtualSize: facts.virtual_size,
    allocated,
    backingChain: facts.backing_chain.map((l) => l.path),
    files,
    facts,
    factsReused: kept !== null,
  };
}

/**
 * Every file a copy from this image reads (filesOfFacts) and the host bytes allocated to them
 * (the image with its extents, and each file of the backing chain). Throws `extent_missing`.
 */
async function filesRead(facts: ImageFacts): Promise<{ files: string[]; allocated: number }> {
  const allocated = facts.backing_chain.reduce((n, l) => n + (l.actual_size ?? 0), facts.actual_size);
  return { files: await filesOfFacts(facts), allocated };
}

/**
 * Facts kept from an earlier probe of this image (probe-cache.ts), when its files are unchanged
 * since and they show a sound image of the format its bytes say now: a check that found
 * corruptions or could not finish is run again, so the copy is refused as a fresh probe would.
 */
async function reusableFacts(cache: ProbeCache, path: string, format: ImageFormat): Promise<{ facts: ImageFacts; files: string[] } | null> {
  const kept = await cache.kept(path);
  if (!kept || kept.facts.format !== format) return null;
  if (kept.facts.integrity.checked && kept.facts.integrity.ok !== true) return null;
  // A backing chain is read by the copy: its files must have been checked too (an inspection
  // checks the top image only).
  if (kept.facts.backing_chain.length && !kept.chainChecked) return null;
  return kept;
}

/**
 * probeImage (info, the backing chain, extents, truncation) with `qemu-img check` beside it
 * (both only read): the probe's error, when it has one, is the more precise, so it wins; then
 * the check is read by integrityOf; then every file of the backing chain is checked the same way. raw and vpc have no check in qemu-img (block/raw-format.c
 * and block/vpc.c define none).
 */
async function probeSource(run: Run, path: string, format: ImageFormat, sniffed: Awaited<ReturnType<typeof determineFormat>>): Promise<ImageFacts> {
  const noCheck: CheckOutcome = { supported: false, result: null, exitCode: 63, detail: null };
  const [probed, checked] = await Promise.allSettled([
    probeImage(run, path, { check: false, measure: false, sniffed }),
    format === 'raw' || format === 'vpc' ? Promise.resolve(noCheck) : qemuImgCheck(run, path, format),
  ]);
  if (probed.status === 'rejected') throw probed.reason;
  if (checked.status === 'rejected') throw checked.reason;
  const facts = { ...probed.value, integrity: integrityOf(path, checked.value) };
  // The copy reads the backing files too: a truncated or corrupt one would come out as zeroes
  // (or worse) in the output, so each is checked as the top image is, side by side.
  await Promise.all(
    facts.backing_chain
      .filter((l) => l.format !== null && l.format !== 'raw' && l.format !== 'vpc')
      .map(async (l) => {
        integrityOf(l.path, await qemuImgCheck(run, l.path, l.format!));
      }),
  );
  return facts;
}
