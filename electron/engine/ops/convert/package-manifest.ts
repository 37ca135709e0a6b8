/**
 * The manifest (`.mf`) of the packages a convert job reads: before any output exists, the
 * members being converted and the package's descriptor are hashed and compared with the
 * manifest's digests, as inspect does for the whole package (engine/ova/package.ts,
 * verifyManifest). Only those files are read, each once whatever the number of its digests or
 * of the job's disks that read it, so converting one disk of a large package does not hash the
 * others. A mismatch is `manifest_mismatch` naming the file and both digests; a package without
 * a manifest converts, its log saying that nothing was checked.
 */
import { basename } from 'node:path';
import type { ConvertParams } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { checkManifest, type ByteRange, type ManifestEntry } from '../../ova/manifest';
import { describeMismatches, locateInPackage, openPackage, type OvfPackage } from '../../ova/package';
import { findMember } from './ova-member';

/** What checking one package's manifest will read. */
export interface ManifestWork {
  /** The package as the spec gives it. */
  source: string;
  /** The manifest's name in the package, or null when it has none. */
  manifest: string | null;
  /** The manifest entries of the files to check (descriptor and converted members). */
  entries: ManifestEntry[];
  /** Where each entry's file is, by the entry's file name. */
  ranges: Map<string, ByteRange>;
  /** Files the job reads that the manifest does not list: not checked. */
  uncovered: string[];
  /** Bytes hashed: each file once. */
  bytes: number;
}

/**
 * Open each package the job reads (once, whatever the number of its disks; `openPkg` may hand
 * back the package the job already opened) and list what its manifest check reads. Throws what
 * openPackage throws, and `signal.reason`.
 */
export async function planManifestChecks(
  disks: ConvertParams['disks'],
  signal: AbortSignal,
  openPkg: (path: string) => Promise<OvfPackage> = (path) => openPackage(path, { signal }),
): Promise<ManifestWork[]> {
  const members = new Map<string, string[]>();
  for (const d of disks) if (d.member !== undefined) members.set(d.source, [...(members.get(d.source) ?? []), d.member]);
  const works: ManifestWork[] = [];
  for (const [source, names] of members) {
    signal.throwIfAborted();
    const pkg = await openPkg(source);
    const wanted = new Set([pkg.ovf_member, ...names.map((m) => findMember(pkg.disks, m)?.file).filter((f): f is string => f !== undefined)]);
    const work: ManifestWork = { source, manifest: pkg.manifest.present ? pkg.manifest.file : null, entries: [], ranges: new Map(), uncovered: [], bytes: 0 };
    const covered = new Set<string>();
    for (const e of pkg.manifest.entries) {
      const at = await locateInPackage(pkg, e.file);
      if (!at || !wanted.has(at.name)) continue;
      work.entries.push(e);
      if (!work.ranges.has(e.file)) {
        work.ranges.set(e.file, at.range);
        work.bytes += at.range.size;
      }
      covered.add(at.name);
    }
    if (work.manifest) work.uncovered = [...wanted].filter((n) => !covered.has(n));
    works.push(work);
  }
  return works;
}

/**
 * Hash and compare (planManifestChecks' list). `onBytes` gets the bytes hashed so far over all
 * the packages. Throws `manifest_mismatch` (the package, each file with the digest computed and
 * the manifest's), and `signal.reason` on cancel.
 */
export async function runManifestChecks(works: readonly ManifestWork[], signal: AbortSignal, onBytes: (n: number) => void, log: (line: string, level: 'info' | 'warn') => void): Promise<void> {
  let before = 0;
  for (const w of works) {
    const name = basename(w.source);
    if (!w.manifest) {
      log(`${name}: no manifest: integrity not checked`, 'warn');
      continue;
    }
    for (const f of w.uncovered) log(`${name}: ${f} is not listed in the manifest ${w.manifest}: not checked`, 'warn');
    if (!w.entries.length) continue;
    const check = await checkManifest(w.entries, (f) => w.ranges.get(f) ?? null, signal, (n) => onBytes(before + n));
    before += w.bytes;
    if (!check.verified) throw new WorkerError('manifest_mismatch', { detail: `${w.source}: ${describeMismatches(check.mismatches)}` });
    log(`${name}: manifest ${w.manifest} verified for ${check.checked.join(', ')}`, 'info');
  }
}
