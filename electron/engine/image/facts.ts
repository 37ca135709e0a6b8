/**
 * probeImage: everything the image layer can say about one disk file without starting an
 * appliance. The format comes from the file's own bytes (magic.ts) and is passed explicitly to
 * every qemu-img call; the backing chain is walked one link at a time, each link probed the
 * same way, so a missing link is named and a `json:` or network backing reference is refused
 * before anything opens it. Disks inside an OVF package are probed in place (probePackageDisk).
 */
import { constants } from 'node:fs';
import { access, open, readFile, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, resolve } from 'node:path';
import type { BackingLink, Extent, ImageFacts, ImageFormat } from '../../../shared/protocol';
import { ImageFormat as ImageFormatSchema } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { descriptorText, parseVmdkDescriptor, sniff, sniffFile, vhdxSubformat, type Sniffed } from './magic';
import { checkLayoutTruncation } from './layout';
import { qemuImgInfoLockAware } from './lock';
import type { PackageDisk } from '../ova/package';
import { displayOf, qemuSourceOf } from '../ova/source';
import { firstLines, qemuImgCheck, qemuImgInfo, qemuImgMeasure, type QemuImageInfo, type Run } from '../../tools/qemu-img';

export interface ProbeOptions {
  /** Run `qemu-img check` (default true). */
  check?: boolean;
  /** Run `qemu-img measure` for qcow2 and raw (default true). */
  measure?: boolean;
  /** What determineFormat(path) returned, when the caller has just called it (saves a read). */
  sniffed?: Awaited<ReturnType<typeof determineFormat>>;
}

/**
 * The qcow2 options the qcow2 measure of a probe uses: those a convert with default settings
 * writes (targetSettings: compat 1.1), so a convert after an inspection finds this measure kept
 * (probe-cache.ts) instead of running its own.
 */
export const INSPECT_QCOW2_OPTIONS: readonly string[] = ['compat=1.1'];

/** The internal snapshots `qemu-img info` lists (qcow2), as ImageFacts has them. */
function snapshotsOf(info: QemuImageInfo): ImageFacts['snapshots'] {
  return (info.snapshots ?? []).map((s) => ({
    id: s.id,
    name: s.name,
    date: s['date-sec'] ? new Date(s['date-sec'] * 1000).toISOString() : null,
    vm_state_size: s['vm-state-size'],
  }));
}

/** Throws `image_encrypted` (detail: `label`) when qemu-img info says the image is encrypted. */
function refuseEncrypted(info: QemuImageInfo, label: string): void {
  if (Boolean(info.encrypted) || Boolean(info['format-specific']?.data?.encrypt)) throw new WorkerError('image_encrypted', { detail: label });
}

/** Backing references the worker refuses to follow: json: pseudo-protocol and network protocols. */
export function isRefusedBacking(name: string): boolean {
  if (name.startsWith('json:')) return true;
  return /^[a-z][a-z0-9+.-]*:/i.test(name) && !name.startsWith('file:');
}

/**
 * Determine a file's format from its bytes. Throws WorkerError: `source_missing`,
 * `source_unreadable`, `not_an_image` (unknown or unsupported format), `image_encrypted` (LUKS).
 */
export async function determineFormat(path: string): Promise<Sniffed & { kind: 'image'; size: number }> {
  await assertReadable(path);
  const s = await sniffFile(path);
  if (s.kind === 'image') return s;
  if (s.kind === 'luks') throw new WorkerError('image_encrypted', { detail: `${path}: ${s.evidence}` });
  if (s.kind === 'unsupported') throw new WorkerError('not_an_image', { detail: `${path}: ${s.name} images are not supported (${s.evidence})` });
  throw new WorkerError('not_an_image', {
    detail: `${path}: ${s.evidence}`,
    hint: 'Pick the disk file itself (.vmdk descriptor, .vhd, .vhdx, .vdi, .qcow2) or the .ova/.ovf. A raw disk without a partition table is recognised when named .img or .raw.',
  });
}

/** Throws `source_missing` or `source_unreadable` (also for folders and other non-files). */
export async function assertReadable(path: string): Promise<void> {
  let st;
  try {
    st = await stat(path);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new WorkerError('source_missing', { detail: path });
    throw new WorkerError('source_unreadable', { detail: `${path}: ${(err as Error).message}` });
  }
  if (!st.isFile() && !st.isBlockDevice()) throw new WorkerError('not_an_image', { detail: `${path} is ${st.isDirectory() ? 'a folder' : 'not a regular file'}` });
  try {
    await access(path, constants.R_OK);
  } catch {
    throw new WorkerError('source_unreadable', { detail: `${path}: no read permission` });
  }
}

/** Extents of a vmdk text descriptor, each checked for existence. Pure I/O on the descriptor only. */
export async function descriptorExtents(path: string): Promise<{ extents: Extent[]; createType: string | null }> {
  const text = descriptorText((await readFile(path)).subarray(0, 64 * 1024));
  const d = parseVmdkDescriptor(text);
  const extents: Extent[] = [];
  for (const e of d.extents) {
    if (!e.file) continue;
    const p = resolve(dirname(path), e.file);
    let exists = true;
    try {
      await access(p, constants.R_OK);
    } catch {
      exists = false;
    }
    extents.push({ path: p, named_as: e.file, kind: e.kind, size_bytes: e.sectors * 512, exists });
  }
  return { extents, createType: d.createType };
}

async function allocated(path: string): Promise<{ apparent: number; allocated: number }> {
  const st = await stat(path);
  return { apparent: st.size, allocated: st.blocks * 512 };
}

/**
 * Walk the backing chain below `info`, nearest first. Throws `backing_refused` for json: or
 * network references, `backing_missing` naming the missing link, `image_corrupt` for a loop.
 */
export async function walkBackingChain(run: Run, top: string, info: QemuImageInfo): Promise<BackingLink[]> {
  const chain: BackingLink[] = [];
  const seen = new Set<string>([resolve(top)]);
  let current = info;
  let currentPath = top;
  while (current['backing-filename']) {
    const named = current['backing-filename'];
    if (isRefusedBacking(named)) {
      throw new WorkerError('backing_refused', { detail: `${currentPath} refers to backing file ${named.length > 200 ? named.slice(0, 200) + '…' : named}` });
    }
    const path = isAbsolute(named) ? named : resolve(dirname(currentPath), named);
    if (seen.has(path)) throw new WorkerError('image_corrupt', { detail: `backing chain loops back to ${path}` });
    seen.add(path);
    if (chain.length >= 64) throw new WorkerError('image_corrupt', { detail: 'backing chain longer than 64 links' });
    let sniffed;
    try {
      sniffed = await determineFormat(path);
    } catch (err) {
      if (err instanceof WorkerError && err.code === 'source_missing') {
        throw new WorkerError('backing_missing', { detail: `${currentPath} needs ${path} (named "${named}"), which does not exist` });
      }
      throw err;
    }
    const declared = ImageFormatSchema.safeParse(current['backing-filename-format']);
    if (declared.success && declared.data !== sniffed.format) {
      throw new WorkerError('image_corrupt', { detail: `${currentPath} says its backing file ${path} is ${declared.data}, but it is ${sniffed.format}` });
    }
    if (sniffed.format === 'vmdk' && sniffed.descriptor) {
      const d = await descriptorExtents(path);
      const missing = d.extents.filter((e) => !e.exists);
      if (missing.length) throw new WorkerError('extent_missing', { detail: `${path} (in the backing chain of ${top}) needs ${missing.map((e) => e.path).join(', ')}` });
      await checkLayoutTruncation(path, 'vmdk', d.extents);
    } else await checkLayoutTruncation(path, sniffed.format, []);
    const linkInfo = await qemuImgInfo(run, path, sniffed.format);
    const sizes = await allocated(path);
    chain.push({ path, named_as: named, format: sniffed.format, exists: true, virtual_size: linkInfo['virtual-size'], actual_size: sizes.allocated });
    current = linkInfo;
    currentPath = path;
  }
  return chain;
}

/**
 * Formats whose qemu-img driver has no check (it exits 63 for them: QEMU's block/raw-format.c
 * and block/vpc.c define no bdrv_co_check), so no process is spent asking.
 */
const FORMATS_WITHOUT_CHECK: ReadonlySet<ImageFormat> = new Set(['raw', 'vpc']);

/**
 * `qemu-img check` and `measure` (qcow2 and raw) of one image, side by side. `target` is what
 * qemu-img opens (a path or a json: spec), `label` names it in errors. Throws `image_truncated`
 * when check finds data past the end of the file.
 */
async function checkAndMeasure(
  run: Run,
  target: string,
  label: string,
  format: ImageFormat,
  opts: ProbeOptions,
  virtualSize: Promise<number>,
): Promise<{ integrity: ImageFacts['integrity']; measure: ImageFacts['measure']; dirty: boolean; notes: string[] }> {
  const [check, measured] = await Promise.all([
    opts.check === false ? Promise.resolve(null) : FORMATS_WITHOUT_CHECK.has(format) ? Promise.resolve({ supported: false } as const) : qemuImgCheck(run, target, format),
    opts.measure === false ? Promise.resolve(null) : qemuImgMeasure(run, target, format, 'qcow2', [...INSPECT_QCOW2_OPTIONS]),
  ]);
  const notes: string[] = [];
  let dirty = false;
  const integrity: ImageFacts['integrity'] = { checked: false, ok: null, corruptions: 0, leaks: 0, check_errors: 0, detail: null };
  if (check?.supported) {
    integrity.checked = true;
    integrity.corruptions = check.result?.corruptions ?? 0;
    integrity.leaks = check.result?.leaks ?? 0;
    integrity.check_errors = check.result?.['check-errors'] ?? (check.exitCode === 1 ? 1 : 0);
    integrity.detail = check.detail;
    integrity.ok = check.exitCode === 0 || check.exitCode === 3;
    const text = (check.detail ?? '').toLowerCase();
    if (/points after eof|exceeding the end of the file|beyond the end/.test(text)) {
      throw new WorkerError('image_truncated', { detail: `${label}: ${firstLines(check.detail ?? '', 4)}` });
    }
    if (/log.*replay|dirty/.test(text)) dirty = true;
  } else if (check) notes.push(`qemu-img cannot check ${format} images; integrity not verified`);

  // A raw copy needs the virtual size, always: `qemu-img measure -O raw` answers exactly that
  // (block/raw-format.c raw_measure), so it is not worth a process of its own.
  const measure: ImageFacts['measure'] = measured
    ? {
        qcow2: { required_bytes: measured.required, fully_allocated_bytes: measured['fully-allocated'] },
        raw: { required_bytes: await virtualSize, fully_allocated_bytes: await virtualSize },
      }
    : null;
  return { integrity, measure, dirty, notes };
}

/**
 * Probe one disk image. Throws WorkerError for what makes the image unusable: source_missing,
 * source_unreadable, not_an_image, image_encrypted, extent_missing, backing_missing,
 * backing_refused, image_truncated, image_corrupt, tool_missing. Everything else (leaks, a
 * dirty flag, snapshots, `in_use`: another process holds the image's write lock, see lock.ts)
 * is reported in the facts.
 */
export async function probeImage(run: Run, path: string, opts: ProbeOptions = {}): Promise<ImageFacts> {
  const sniffed = opts.sniffed ?? (await determineFormat(path));
  const format: ImageFormat = sniffed.format;
  const notes: string[] = [];
  let extents: Extent[] = [];
  let subformat = sniffed.subformat;

  if (format === 'vmdk' && sniffed.descriptor) {
    const d = await descriptorExtents(path);
    extents = d.extents;
    subformat = d.createType ?? subformat;
    const missing = extents.filter((e) => !e.exists);
    if (missing.length) {
      throw new WorkerError('extent_missing', { detail: `${path} needs ${missing.map((e) => `${e.path} (named "${e.named_as}")`).join(', ')}` });
    }
  }

  // Truncation qemu-img would not report (flat extents shorter than the descriptor says, vdi):
  // read beside the tools below, its error wins over theirs.
  const truncation = checkLayoutTruncation(path, format, extents);

  // info (then the backing chain), check and measure only read: run them side by side. When
  // info fails its error is the more precise, so it wins over check's.
  // info first WITHOUT -U: a lock held by another process (a running VM) means the disk is in
  // use (lock.ts); it is then read with -U, and the facts say so.
  const infoAndChain = (async () => {
    const { info, in_use, lock_detail } = await qemuImgInfoLockAware(run, path, format);
    refuseEncrypted(info, path);
    return { info, in_use, lock_detail, chain: await walkBackingChain(run, path, info) };
  })();
  const virtualSize = infoAndChain.then((x) => x.info['virtual-size']);
  virtualSize.catch(() => undefined); // its failure is infoAndChain's, reported below
  const [tr, ic, cmr] = await Promise.allSettled([truncation, infoAndChain, checkAndMeasure(run, path, path, format, opts, virtualSize)]);
  if (tr.status === 'rejected') throw tr.reason;
  if (ic.status === 'rejected') throw ic.reason;
  if (cmr.status === 'rejected') throw cmr.reason;
  const { info, in_use, lock_detail, chain: backing_chain } = ic.value;
  if (lock_detail) notes.push(`in use by another process: ${lock_detail}; the facts may change while it writes`);
  const cm = cmr.value;
  const fsData = info['format-specific']?.data;
  // A qcow2 whose data lives in an external file (`-o data_file=`): that file is read by every
  // copy and must never be an output, so it is listed as an extent of the image. qemu resolves
  // a relative name against its working folder, so it is resolved the same way here.
  if (format === 'qcow2' && fsData?.['data-file']) {
    const named = fsData['data-file'];
    const p = resolve(named);
    const exists = await access(p, constants.R_OK).then(
      () => true,
      () => false,
    );
    if (!exists) throw new WorkerError('extent_missing', { detail: `${path} keeps its data in ${p} (named "${named}"), which cannot be read` });
    extents.push({ path: p, named_as: named, kind: 'DATA_FILE', size_bytes: null, exists: true });
  }
  if (format === 'vmdk') {
    subformat = fsData?.['create-type'] ?? subformat;
    if (extents.length === 0) {
      // Sparse vmdk with an embedded descriptor: the file is its own single extent.
      // qemu-img names extents by the path it opened them with (relative to its working folder).
      extents = (fsData?.extents ?? []).map((e) => ({ path: resolve(e.filename), named_as: basename(e.filename), kind: e.format || 'SPARSE', size_bytes: e['virtual-size'] ?? null, exists: true }));
    }
  }

  // Allocated bytes: the file itself, plus any extent files beside it.
  const own = await allocated(path);
  let actual = own.allocated;
  for (const e of extents) if (resolve(e.path) !== resolve(path)) actual += (await allocated(e.path)).allocated;

  const dirty = Boolean(info['dirty-flag']) || cm.dirty;
  const { integrity, measure } = cm;
  notes.push(...cm.notes);

  if (format === 'raw') notes.push(`recognised as raw by ${sniffed.evidence}`);
  return {
    path,
    format,
    subformat,
    virtual_size: info['virtual-size'],
    actual_size: actual,
    file_size: own.apparent,
    cluster_size: info['cluster-size'] ?? null,
    backing_chain,
    snapshots: snapshotsOf(info),
    extents,
    encrypted: false, // an encrypted image was refused above
    dirty,
    in_use,
    integrity,
    measure,
    notes,
  };
}

/** Read `length` bytes at `offset` of a file (fewer at its end). */
async function readBytes(path: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(path, 'r');
  try {
    const b = Buffer.alloc(Math.max(0, length));
    const { bytesRead } = await fh.read(b, 0, b.length, offset);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

/**
 * Probe one disk of an OVF package (package.ts). A disk that is a file of its own (an .ovf
 * folder, or a compressed disk unpacked into the work folder) is probed as any image. A disk
 * inside an .ova is probed in place: its format is read from the member's own first and last
 * bytes (`sniff` on range reads), compared with the format the descriptor names (the bytes win,
 * with a note), and info, check and measure run on the `json:` spec of the member (source.ts).
 * Throws as probeImage, plus `package_unsupported` for a disk still gzip-compressed, and
 * `not_an_image` for a vmdk text descriptor inside an .ova (its extents cannot be opened in place).
 */
export async function probePackageDisk(run: Run, disk: PackageDisk, opts: ProbeOptions = {}): Promise<ImageFacts> {
  if (!disk.readable) qemuSourceOf(disk); // throws package_unsupported
  const notes: string[] = [];
  const declared = disk.format;
  const compare = (found: ImageFormat) => {
    if (declared && declared !== found) notes.push(`the descriptor says ${disk.file} is ${declared}, its bytes say ${found}; read as ${found}`);
    if (!declared) notes.push(`the descriptor names no known format for ${disk.file}; its bytes say ${found}`);
  };
  const sizeNote = (virtual: number) => {
    if (virtual !== disk.capacity_bytes) notes.push(`the descriptor gives disk ${disk.disk_id} a capacity of ${disk.capacity_bytes} bytes, the image holds ${virtual}`);
  };

  if (disk.location.kind === 'file') {
    const facts = await probeImage(run, disk.location.path, opts);
    compare(facts.format);
    sizeNote(facts.virtual_size);
    return { ...facts, notes: [...facts.notes, ...notes] };
  }

  const loc = disk.location;
  const display = displayOf(disk);
  const head = await readBytes(loc.tar_path, loc.offset, Math.min(loc.size, 1024 * 1024));
  const tail = loc.size >= 512 ? await readBytes(loc.tar_path, loc.offset + loc.size - 512, 512) : Buffer.alloc(512);
  const sniffed = sniff(head, tail, loc.size, disk.file);
  if (sniffed.kind === 'luks') throw new WorkerError('image_encrypted', { detail: `${display}: ${sniffed.evidence}` });
  if (sniffed.kind === 'unsupported') throw new WorkerError('not_an_image', { detail: `${display}: ${sniffed.name} images are not supported (${sniffed.evidence})` });
  let format: ImageFormat;
  let subformat: string | null;
  if (sniffed.kind === 'image') {
    if (sniffed.descriptor) {
      throw new WorkerError('not_an_image', { detail: `${display} is a vmdk text descriptor; its extent files cannot be opened inside an .ova. Unpack the package (tar -xf) and open the .ovf` });
    }
    format = sniffed.format;
    subformat = sniffed.subformat;
    if (format === 'vhdx') {
      subformat = await vhdxSubformat((offset, length) => readBytes(loc.tar_path, loc.offset + offset, Math.max(0, Math.min(length, loc.size - offset))));
    }
    compare(format);
  } else if (declared === 'raw' && loc.size % 512 === 0) {
    // Raw has no magic; the descriptor's word and a whole number of sectors are the evidence.
    format = 'raw';
    subformat = null;
    notes.push(`recognised as raw by the descriptor's ovf:format (${sniffed.evidence})`);
  } else {
    throw new WorkerError('not_an_image', { detail: `${display}: ${sniffed.evidence}` });
  }

  const source = qemuSourceOf(disk, format);
  const info = await qemuImgInfo(run, source.spec, format);
  const named = info['backing-filename'];
  if (named) throw new WorkerError('backing_refused', { detail: `${display} refers to backing file ${named.length > 200 ? named.slice(0, 200) + '…' : named}; a disk inside a package must stand alone` });
  refuseEncrypted(info, display);
  const fsData = info['format-specific']?.data;
  if (format === 'vmdk') subformat = fsData?.['create-type'] ?? subformat ?? disk.subformat;
  const extents: Extent[] =
    format === 'vmdk'
      ? (fsData?.extents ?? []).map((e) => ({ path: display, named_as: disk.file, kind: e.format || 'SPARSE', size_bytes: e['virtual-size'] ?? null, exists: true }))
      : [];
  const cm = await checkAndMeasure(run, source.spec, display, format, opts, Promise.resolve(info['virtual-size']));
  sizeNote(info['virtual-size']);
  notes.push(`read in place from ${loc.size} bytes at offset ${loc.offset} of ${loc.tar_path}`);
  return {
    path: display,
    format,
    subformat,
    virtual_size: info['virtual-size'],
    actual_size: loc.size,
    file_size: loc.size,
    cluster_size: info['cluster-size'] ?? null,
    backing_chain: [],
    snapshots: snapshotsOf(info),
    extents,
    encrypted: false,
    dirty: Boolean(info['dirty-flag']) || cm.dirty,
    // Read in place from the archive (a json: spec over the .ova): no VM runs on a package member.
    in_use: false,
    integrity: cm.integrity,
    measure: cm.measure,
    notes: [...cm.notes, ...notes],
  };
}
