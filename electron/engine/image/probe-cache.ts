/**
 * Probe results kept while the files they were read from stay as they were. A disk inspected
 * before is converted without probing it again, and a retried or repeated convert of the same
 * disk starts its copy at once: the probe is three qemu-img processes (info, check, measure),
 * 0.1-0.2 s on a laptop and more on a slow share, for facts that cannot have changed.
 *
 * A record holds one image's facts (qemu-img info and the backing chain, qemu-img check, the
 * extents: probeImage) and its qemu-img measure results, with the identity of every file they
 * were read from and of the qemu-img that read them: device, inode, size, mtime and ctime
 * (stat(2), nanoseconds). Every write, truncate, chmod, rename over or touch sets ctime to the
 * current time (stat(2), inode(7)), so a record is used only while all of them are equal.
 *
 * Not recorded, so always probed afresh:
 * - a file changed less than RECENT_NS before its probe started: a write still landing while
 *   the probe read could otherwise leave facts older than the data under a current identity;
 * - block devices and anything else that is not a regular file (their content changes without
 *   their ctime);
 * - an image in use by another process (its write lock held): its content may change without
 *   its ctime changing on a shared filesystem before the next close.
 */
import { constants } from 'node:fs';
import { access, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { ImageFacts } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { descriptorExtents } from './facts';
import { sniffFile } from './magic';

/** What a record is stored in: a key-value table (the store's `probe_cache`). */
export interface ProbeCacheStore {
  get(key: string): string | null;
  put(key: string, value: string): void;
}

/** One file as stat(2) sees it; every number a decimal string (bigint stat). */
const FileIdentity = z.object({ path: z.string(), dev: z.string(), ino: z.string(), size: z.string(), mtime_ns: z.string(), ctime_ns: z.string() });
type FileIdentity = z.infer<typeof FileIdentity>;

/** `qemu-img measure` of the image for one output (QemuMeasure's two numbers, bytes). */
export const Measured = z.object({ required: z.number().int().nonnegative(), fully_allocated: z.number().int().nonnegative() });
export type Measured = z.infer<typeof Measured>;

/** Layout of a stored record; a record of another version is ignored (and replaced). */
const RECORD_VERSION = 2;

const ProbeRecord = z.object({
  v: z.literal(RECORD_VERSION),
  /** The qemu-img that read the facts: another version may read them differently. */
  tool: FileIdentity,
  /** Every file the facts were read from: the image, its extents, its backing chain. */
  files: z.array(FileIdentity).min(1),
  facts: ImageFacts,
  /** `qemu-img check` also ran on every file of the backing chain, and found them sound. */
  chain_checked: z.boolean(),
  /** By measure key (measureKey): the output format and its options. */
  measures: z.record(z.string(), Measured),
});
type ProbeRecord = z.infer<typeof ProbeRecord>;

/** A file changed this recently before its probe started is not recorded (2 s, in ns). */
export const RECENT_NS = 2_000_000_000n;

/** The clock a probe's start is read on: wall-clock nanoseconds, as ctime is. */
export function probeClock(): bigint {
  return BigInt(Date.now()) * 1_000_000n;
}

/** The key of one measure: `qcow2|compat=1.1,cluster_size=65536` (output format, its -o options). */
export function measureKey(out: string, options: readonly string[]): string {
  return `${out}|${options.join(',')}`;
}

/** A regular file's identity, or null when it is missing or not a regular file. */
async function identify(path: string): Promise<FileIdentity | null> {
  try {
    const st = await stat(path, { bigint: true });
    if (!st.isFile()) return null;
    return { path: resolve(path), dev: String(st.dev), ino: String(st.ino), size: String(st.size), mtime_ns: String(st.mtimeNs), ctime_ns: String(st.ctimeNs) };
  } catch {
    return null;
  }
}

function sameIdentity(a: FileIdentity, b: FileIdentity | null): boolean {
  return b !== null && a.path === b.path && a.dev === b.dev && a.ino === b.ino && a.size === b.size && a.mtime_ns === b.mtime_ns && a.ctime_ns === b.ctime_ns;
}

/**
 * The first `name` on PATH that is an executable regular file: what a spawn of `name` runs
 * (execvp(3) skips entries it may not execute).
 */
async function onPathIdentity(name: string, path = process.env.PATH ?? ''): Promise<FileIdentity | null> {
  // An empty entry is the working folder (execvp(3)).
  for (const dir of path.split(':').map((d) => d || '.')) {
    const file = join(dir, name);
    const id = await identify(file);
    if (!id) continue;
    try {
      await access(file, constants.X_OK);
      return id;
    } catch {
      /* not executable: execvp goes on */
    }
  }
  return null;
}

/**
 * Every file behind these facts, as a copy reads them: the image, its extents, its backing
 * chain, and the extents of any vmdk text descriptor in the chain (absolute, de-duplicated).
 * Throws `extent_missing` for a chain descriptor's extent that is not there.
 */
export async function filesOfFacts(facts: ImageFacts): Promise<string[]> {
  const files = [facts.path, ...facts.extents.map((e) => e.path)];
  for (const link of facts.backing_chain) {
    files.push(link.path);
    if (link.format === 'vmdk' && (await sniffFile(link.path).then((s) => s.kind === 'image' && s.descriptor, () => false))) {
      // A vmdk snapshot's parent may be a text descriptor with extents of its own.
      const d = await descriptorExtents(link.path).catch(() => null);
      for (const e of d?.extents ?? []) {
        if (!e.exists) throw new WorkerError('extent_missing', { detail: `${link.path} needs ${e.path} (named "${e.named_as}")` });
        files.push(e.path);
      }
    }
  }
  return [...new Set(files.map((p) => resolve(p)))];
}

/**
 * Probe results per image path, valid while its files and qemu-img are unchanged (see the file
 * comment). Never throws: a store that fails to read or write is a miss.
 */
export class ProbeCache {
  constructor(
    private readonly store: ProbeCacheStore,
    /** The tool whose identity every record carries (looked up on PATH). */
    private readonly tool = 'qemu-img',
  ) {}

  /** The valid record of an image, or null. */
  private async valid(path: string): Promise<ProbeRecord | null> {
    let raw: string | null;
    try {
      raw = this.store.get(resolve(path));
    } catch {
      return null;
    }
    if (!raw) return null;
    let record: ProbeRecord;
    try {
      const parsed = ProbeRecord.safeParse(JSON.parse(raw));
      if (!parsed.success) return null;
      record = parsed.data;
    } catch {
      return null;
    }
    const [tool, ...files] = await Promise.all([onPathIdentity(this.tool), ...record.files.map((f) => identify(f.path))]);
    if (!sameIdentity(record.tool, tool)) return null;
    if (!record.files.every((f, i) => sameIdentity(f, files[i]!))) return null;
    return record;
  }

  /**
   * The image's facts as last probed, when its files and qemu-img are unchanged since, with the
   * files that record covers and whether the backing chain was checked too; else null.
   */
  async kept(path: string): Promise<{ facts: ImageFacts; files: string[]; chainChecked: boolean } | null> {
    const r = await this.valid(path);
    return r ? { facts: { ...r.facts, path }, files: r.files.map((f) => f.path), chainChecked: r.chain_checked } : null;
  }

  /** The image's facts as last probed, when its files and qemu-img are unchanged since; else null. */
  async facts(path: string): Promise<ImageFacts | null> {
    return (await this.kept(path))?.facts ?? null;
  }

  /** A measure of the image for `key` (measureKey) taken while its files were as they are now; else null. */
  async measure(path: string, key: string): Promise<Measured | null> {
    return (await this.valid(path))?.measures[key] ?? null;
  }

  /**
   * Record an image's facts (and measures), read by a probe that started at `since`
   * (probeClock). `files` are every file the facts were read from (filesOfFacts). Measures of a
   * still-valid record of the same files are kept beside the new ones, and so is its having
   * checked the backing chain (`opts.chainChecked`: qemu-img check found every file of the chain
   * sound). Returns whether it was recorded (see the file comment for what is not).
   */
  async record(path: string, facts: ImageFacts, files: readonly string[], since: bigint, measures: Record<string, Measured> = {}, opts: { chainChecked?: boolean } = {}): Promise<boolean> {
    if (facts.in_use) return false;
    const [tool, ...ids] = await Promise.all([onPathIdentity(this.tool), ...files.map((f) => identify(f))]);
    if (!tool || ids.length === 0) return false;
    const identities: FileIdentity[] = [];
    for (const id of ids) {
      if (!id || BigInt(id.ctime_ns) > since - RECENT_NS) return false;
      identities.push(id);
    }
    const previous = await this.valid(path);
    const sameFiles = previous !== null && previous.files.length === identities.length && previous.files.every((f, i) => sameIdentity(f, identities[i]!));
    const record: ProbeRecord = {
      v: RECORD_VERSION,
      tool,
      files: identities,
      facts,
      chain_checked: Boolean(opts.chainChecked) || (sameFiles && previous.chain_checked),
      measures: { ...(sameFiles ? previous.measures : {}), ...measures },
    };
    try {
      this.store.put(resolve(path), JSON.stringify(record));
      return true;
    } catch {
      return false;
    }
  }
}
