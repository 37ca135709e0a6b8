/**
 * A disk inside an .ova or .ovf package as a convert source (ConvertDisk.member).
 *
 * The package is opened by the package reader (engine/ova: the tar indexed by its headers, the
 * OVF parsed, hostile names refused) and the disk probed where it lies (probePackageDisk). A disk
 * inside an .ova is read in place: qemu-img gets the `raw` driver's window onto the archive,
 * `json:{"driver":FMT,"file":{"driver":"raw","offset":N,"size":M,"file":{"driver":"file",
 * "filename":OVA}}}` (qemuSourceOf), so nothing is extracted. A disk beside an .ovf is an
 * ordinary file and is resolved like any other source. A gzip-compressed disk
 * (ovf:compression="gzip") is unpacked first when `openPkg` opens the package with a working
 * folder (the convert operation opens each package once per job, into its scratch folder).
 */
import { basename } from 'node:path';
import type { ConvertParams } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { probePackageDisk } from '../../image/facts';
import { sniffFile } from '../../image/magic';
import type { OvfPackage, PackageDisk } from '../../ova/package';
import { qemuSourceOf } from '../../ova/source';
import type { Run } from '../../../tools/qemu-img';
import type { ResolvedSource } from './source';

/** A source is a package (.ova/.ovf) by its name, as `inspect` and the file picker tell them. */
export function isPackageName(path: string): boolean {
  return /\.(ova|ovf)$/i.test(path);
}

/** The package disk a `member` names: its file name in the package, its base name, or its disk id. */
export function findMember(disks: readonly PackageDisk[], member: string): PackageDisk | null {
  return disks.find((d) => d.file === member) ?? disks.find((d) => basename(d.file) === member) ?? disks.find((d) => d.disk_id === member) ?? null;
}

/**
 * Resolve `disk.member` of the package `disk.source`. Throws WorkerError: what openPackage throws
 * (source_missing, package_invalid, unsafe_package, package_unsupported, ovf_invalid,
 * xml_entity_refused), `source_missing` when the package has no such disk (the detail lists
 * the disks it has), and what probing the disk throws (image_truncated, not_an_image, ...).
 */
export async function openMemberSource(
  run: Run,
  disk: ConvertParams['disks'][number],
  index: number,
  signal: AbortSignal,
  resolveFile: (path: string) => Promise<ResolvedSource>,
  /** Opens the package (openPackage); the caller may share one open package between its disks. */
  openPkg: (path: string) => Promise<OvfPackage>,
): Promise<ResolvedSource> {
  const member = disk.member!;
  if (!isPackageName(disk.source)) {
    // A plain disk given with a member: say so, rather than what the package reader makes of it.
    const s = await sniffFile(disk.source).catch(() => null);
    if (s?.kind === 'image') {
      throw new WorkerError('validation_failed', {
        message: 'member names a disk inside a package, but the source is a disk image.',
        hint: 'Leave member out to convert this disk, or give the .ova/.ovf that holds the disk.',
        fields: [{ path: `params.disks.${index}.member`, message: `${disk.source} is a ${s.format}${s.subformat ? ` ${s.subformat}` : ''} disk image, not a package (.ova/.ovf)` }],
      });
    }
  }
  const pkg = await openPkg(disk.source);
  const found = findMember(pkg.disks, member);
  if (!found) {
    throw new WorkerError('source_missing', {
      detail: `${disk.source} has no disk "${member}"; its disks are ${pkg.disks.map((d) => `${d.file} (${d.disk_id})`).join(', ') || 'none'}`,
      hint: 'Name the disk by its file name inside the package, as `h2k-worker inspect` lists it.',
    });
  }
  if (found.location.kind === 'file') {
    // A disk file beside the .ovf (or unpacked from gzip): an ordinary image.
    const r = await resolveFile(found.location.path);
    return { ...r, index, given: disk.source, member };
  }
  const facts = await probePackageDisk(run, found, { check: true, measure: false });
  const src = qemuSourceOf(found, facts.format);
  return {
    index,
    given: disk.source,
    member,
    spec: src.spec,
    format: facts.format,
    subformat: facts.subformat,
    virtualSize: facts.virtual_size,
    allocated: found.location.size,
    backingChain: [],
    files: [found.location.tar_path],
    facts,
    factsReused: false,
  };
}
