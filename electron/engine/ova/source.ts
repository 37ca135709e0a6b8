/**
 * Handing a package disk to QEMU without copying it. A disk that is a file of its own is its
 * absolute path; a disk inside an .ova is the `raw` block driver's window onto the archive
 * (`offset`, `size`: QEMU's qapi BlockdevOptionsRaw) under the image's format driver, written as
 * a `json:` pseudo-protocol filename for qemu-img, or as `--image-opts` dotted keys for qemu-nbd.
 * The format is always named, so QEMU never probes.
 */
import type { ImageFormat } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import type { PackageDisk } from './package';

/** A package disk as qemu-img takes it. */
export interface QemuSource {
  /** What to pass to qemu-img as the image: an absolute path, or a `json:{…}` spec. */
  spec: string;
  /** The format to pass with `-f` (the same as the spec's driver). */
  format: ImageFormat;
  /** For people: the path, or `/x/vm.ova (member disk1.vmdk)`. */
  display: string;
}

function formatFor(disk: PackageDisk, format: ImageFormat | undefined): ImageFormat {
  const f = format ?? disk.format;
  if (!f) throw new WorkerError('not_an_image', { detail: `disk ${disk.disk_id} (${disk.file}): the descriptor names no known format; probe the disk (probePackageDisk) and pass the format it found` });
  if (!disk.readable) {
    throw new WorkerError('package_unsupported', { detail: `disk ${disk.disk_id} (${disk.file}) is gzip-compressed; open the package with a working folder so it is unpacked first` });
  }
  return f;
}

/** For people: where a package disk's bytes are. */
export function displayOf(disk: PackageDisk): string {
  return disk.location.kind === 'file' ? disk.location.path : `${disk.location.tar_path} (member ${disk.file})`;
}

/** The block-node tree for a tar member: FORMAT over raw(offset, size) over file(TAR). */
function nodeTree(disk: PackageDisk & { location: { kind: 'tar' } }, format: ImageFormat) {
  const loc = disk.location;
  return { driver: format, file: { driver: 'raw', offset: loc.offset, size: loc.size, file: { driver: 'file', filename: loc.tar_path } } };
}

/**
 * The source argument for qemu-img (`info`, `check`, `measure`, `convert`, `compare`) reading a
 * package disk, with its format (`format` overrides the descriptor's, e.g. the one the bytes
 * showed). Throws `not_an_image` (no format known) and `package_unsupported` (still compressed).
 */
export function qemuSourceOf(disk: PackageDisk, format?: ImageFormat): QemuSource {
  const f = formatFor(disk, format);
  if (disk.location.kind === 'file') return { spec: disk.location.path, format: f, display: displayOf(disk) };
  const tree = nodeTree(disk as PackageDisk & { location: { kind: 'tar' } }, f);
  return { spec: `json:${JSON.stringify(tree)}`, format: f, display: displayOf(disk) };
}

/** QemuOpts escaping: a comma in a value is doubled (QEMU docs/system/invocation, "-blockdev"). */
export function escapeOptValue(v: string): string {
  return v.replace(/,/g, ',,');
}

/** `driver=vmdk,file.driver=raw,file.offset=…` from a nested block-node tree. */
function dotted(tree: Record<string, unknown>, prefix = ''): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(tree)) {
    if (v !== null && typeof v === 'object') out.push(...dotted(v as Record<string, unknown>, `${prefix}${k}.`));
    else out.push(`${prefix}${k}=${escapeOptValue(String(v))}`);
  }
  return out;
}

/** How qemu-nbd is to serve a package disk. */
export interface NbdExportOptions {
  /** Unix socket qemu-nbd listens on (`--socket`). */
  socket: string;
  /** Export name (`--export-name`); default "" (the default export). */
  exportName?: string;
  /** Keep serving after the last client disconnects (`--persistent`), default true. */
  persistent?: boolean;
  /** Clients allowed at once (`--shared`), default 4. */
  shared?: number;
  /** Overrides the descriptor's format, as for qemuSourceOf. */
  format?: ImageFormat;
}

/**
 * Arguments for `qemu-nbd` (an argument array, to run with the spawn module) that serve a
 * package disk read-only, decoded (the NBD export is the guest's raw disk), without copying it:
 * `--read-only --persistent --shared=4 --socket=S --image-opts -- driver=FORMAT,file.driver=raw,…`.
 * Throws as qemuSourceOf.
 */
export function nbdExportArgs(disk: PackageDisk, opts: NbdExportOptions): string[] {
  const f = formatFor(disk, opts.format);
  const tree =
    disk.location.kind === 'file'
      ? { driver: f, file: { driver: 'file', filename: disk.location.path } }
      : nodeTree(disk as PackageDisk & { location: { kind: 'tar' } }, f);
  const args = ['--read-only'];
  if (opts.persistent !== false) args.push('--persistent');
  args.push(`--shared=${opts.shared ?? 4}`, `--socket=${opts.socket}`);
  if (opts.exportName !== undefined) args.push(`--export-name=${opts.exportName}`);
  args.push('--image-opts', '--', dotted(tree).join(','));
  return args;
}
