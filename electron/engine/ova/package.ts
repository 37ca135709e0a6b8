/**
 * Opening an OVF package: an `.ova` (a tar archive, DSP0243 §5.3) or an `.ovf` descriptor with
 * its files beside it. The tar is indexed by its headers only (tar.ts) and disks stay where they
 * are: every disk comes back with the location of its bytes, a plain file or a byte range of the
 * .ova, for qemu-img to read in place (source.ts). Nothing is ever written except, when asked,
 * gzip-compressed disks (ovf:compression="gzip") unpacked into `workDir`.
 *
 * Safety: a member whose name is absolute, has a `..` component, is duplicated, or that is a
 * link, device or fifo makes the whole package `unsafe_package`, before anything is read from
 * it; hrefs and manifest names that would leave the package are refused the same way.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, open, readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, isAbsolute, join, posix, relative, resolve, sep } from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import type { ImageFormat } from '../../../shared/protocol';
import { WorkerError } from '../../../shared/errors';
import { checkManifest, parseManifest, type ByteRange, type HashAlgorithm, type ManifestEntry, type ManifestMismatch } from './manifest';
import { parseOvf, type ControllerType, type OvfDescriptor, type OvfDialect, type OvfFile } from './ovf';
import { parseHeader, readTarIndex, type TarMember } from './tar';
import { decodeXmlBytes, MAX_XML_CHARS } from './xml';

/** Where a disk's bytes are: a file of its own, or `size` bytes at `offset` inside the .ova. */
export type DiskLocation = { kind: 'file'; path: string } | { kind: 'tar'; tar_path: string; offset: number; size: number };

/** One disk of the package, with everything needed to read it. Sizes are bytes. */
export interface PackageDisk {
  /** DiskSection ovf:diskId. */
  disk_id: string;
  /** The file's name: the tar member's name (OVA) or the href (folder). */
  file: string;
  /** ovf:capacity in bytes (what the guest sees). */
  capacity_bytes: number;
  /** ovf:populatedSize in bytes, or null. */
  populated_bytes: number | null;
  /** The format the OVF names (ovf:format); probePackageDisk confirms it from the bytes. */
  format: ImageFormat | null;
  subformat: string | null;
  /** The controller the disk hangs off (from the disk drive Item's rasd:Parent). */
  controller: { type: ControllerType; subtype: string | null } | null;
  /** Where qemu reads the image from (an unpacked copy in workDir for a gzip-compressed file). */
  location: DiskLocation;
  /** ovf:compression of the stored file. */
  compression: 'gzip' | null;
  /** False when the bytes at `location` are still gzip-compressed (opened without a workDir). */
  readable: boolean;
  /** Bytes of the file as stored in the package (compressed size when compressed). */
  stored_bytes: number;
}

/** The package's manifest (`.mf`, DSP0243 §5.1) and what checking it found. */
export interface PackageManifest {
  present: boolean;
  /** The manifest's member or file name. */
  file: string | null;
  algorithms: HashAlgorithm[];
  entries: ManifestEntry[];
  /** true: every entry matched; false: see mismatches; null: no manifest, or not verified. */
  verified: boolean | null;
  mismatches: ManifestMismatch[];
  /** Lines of the manifest that could not be read. */
  unparsed: { line: number; text: string }[];
  /** A `.cert` (signature) is present; the worker does not check it. */
  certificate: string | null;
}

/** An opened package. */
export interface OvfPackage {
  kind: 'ova' | 'ovf';
  /** Absolute path of the .ova, or of the .ovf descriptor. */
  path: string;
  descriptor: OvfDescriptor;
  /** The descriptor's member name (OVA) or file name (folder). */
  ovf_member: string;
  dialect: OvfDialect;
  disks: PackageDisk[];
  manifest: PackageManifest;
  /** Members of the OVA: name, data offset and size in bytes (empty for a folder). */
  members: { name: string; offset: number; size: number }[];
  /** Files written into workDir (unpacked compressed disks): the caller removes them. */
  extracted: string[];
  notes: string[];
}

/** Options of openPackage. */
export interface OpenPackageOptions {
  /** Hash every file listed in the manifest and throw `manifest_mismatch` on a difference. */
  verifyManifest?: boolean;
  signal?: AbortSignal;
  /** Folder for unpacked gzip-compressed disks; without it such disks are left packed (readable: false). */
  workDir?: string;
}

/**
 * Why a member name is unsafe, or null. Absolute names (`/x`, `C:\x`, `\x`), `..` components
 * (with / or \ separators), NUL bytes and empty names are refused.
 */
export function unsafeName(name: string): string | null {
  if (name === '') return 'an empty name';
  if (name.includes('\0')) return 'a NUL byte in its name';
  if (name.startsWith('/') || name.startsWith('\\') || /^[A-Za-z]:/.test(name)) return 'an absolute name';
  if (name.split(/[/\\]/).includes('..')) return 'a ".." component';
  return null;
}

/** `./a//b/` → `a/b`. Call only on names unsafeName accepted. */
export function normalizeName(name: string): string {
  return name
    .split('/')
    .filter((p) => p !== '' && p !== '.')
    .join('/');
}

/** Resolve an href (relative to the descriptor's folder inside the package) to a package name, or throw `unsafe_package`. */
function packageName(base: string, href: string, what: string): string {
  if (/^[a-z][a-z0-9+.-]*:/i.test(href) && !/^[A-Za-z]:[\\/]/.test(href)) {
    throw new WorkerError('unsafe_package', { detail: `${what} "${href}" is a URL; the worker reads only files inside the package` });
  }
  const why = unsafeName(href);
  if (why) throw new WorkerError('unsafe_package', { detail: `${what} "${href}" has ${why}` });
  const joined = posix.normalize(posix.join(base, normalizeName(href.replace(/\\/g, '/'))));
  if (joined.startsWith('../') || joined === '..') throw new WorkerError('unsafe_package', { detail: `${what} "${href}" points outside the package` });
  return joined;
}

/** The `manifest_mismatch` detail: each file with the digest computed and the manifest's. */
export function describeMismatches(mismatches: readonly ManifestMismatch[]): string {
  return mismatches
    .map((m) => (m.reason === 'missing' ? `${m.file} (listed, but not in the package)` : `${m.file} (${m.algorithm.toUpperCase()} ${m.actual}, manifest says ${m.expected})`))
    .join('; ');
}

/**
 * The bytes of the file a manifest entry (or href) names in an opened package: a member of the
 * .ova, or a file beside the .ovf; null when the package has no such file. Throws
 * `unsafe_package` for a name that would leave the package (openPackage refused those already).
 */
export async function locateInPackage(pkg: OvfPackage, href: string): Promise<{ name: string; range: ByteRange } | null> {
  if (pkg.kind === 'ova') {
    const base = posix.dirname(pkg.ovf_member) === '.' ? '' : posix.dirname(pkg.ovf_member);
    const name = packageName(base, href, 'manifest entry');
    const m = pkg.members.find((x) => x.name === name);
    return m ? { name, range: { path: pkg.path, offset: m.offset, size: m.size } } : null;
  }
  const name = packageName('', href, 'manifest entry');
  const dir = dirname(pkg.path);
  const p = join(dir, ...name.split('/'));
  const rel = relative(dir, p);
  if (rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) throw new WorkerError('unsafe_package', { detail: `manifest entry "${href}" points outside ${dir}` });
  const st = await stat(p).catch(() => null);
  return st?.isFile() ? { name, range: { path: p, offset: 0, size: st.size } } : null;
}

const isOvfName = (n: string) => /\.ovf$/i.test(n);
const stemOf = (n: string) => n.replace(/\.[^./]+$/, '');

/**
 * Open an .ova or an .ovf (also a folder holding exactly one .ovf). Throws WorkerError:
 * `source_missing` (the package, or a disk file it references), `source_unreadable`,
 * `package_invalid` (not a tar, cut off), `unsafe_package` (hostile member or href),
 * `package_unsupported` (chunked disk files, sparse tar members), `xml_entity_refused`,
 * `ovf_invalid`, `manifest_mismatch` (verifyManifest), and `signal.reason` when aborted.
 */
export async function openPackage(path: string, opts: OpenPackageOptions = {}): Promise<OvfPackage> {
  let abs = resolve(path);
  let st;
  try {
    st = await stat(abs);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') throw new WorkerError('source_missing', { detail: abs });
    throw new WorkerError('source_unreadable', { detail: `${abs}: ${(err as Error).message}` });
  }
  if (st.isDirectory()) {
    const ovfs = (await readdir(abs)).filter(isOvfName);
    if (ovfs.length !== 1) throw new WorkerError('ovf_invalid', { detail: `${abs} is a folder with ${ovfs.length} .ovf files; pick the .ovf or .ova itself` });
    abs = join(abs, ovfs[0]!);
  } else if (!st.isFile()) {
    throw new WorkerError('source_unreadable', { detail: `${abs} is not a regular file` });
  }
  const head = await readRange({ path: abs, offset: 0, size: 512 }, 512);
  let isTar: boolean;
  try {
    isTar = head.length === 512 && parseHeader(head) !== null;
  } catch {
    isTar = false;
  }
  if (!isTar && /\.ova$/i.test(abs)) {
    // Let the tar reader say what the file is instead.
    await readTarIndex(abs, { signal: opts.signal });
  }
  return isTar ? openOva(abs, opts) : openOvfFolder(abs, opts);
}

async function readRange(range: ByteRange, max: number): Promise<Buffer> {
  const len = Math.min(range.size, max);
  let fh;
  try {
    fh = await open(range.path, 'r');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new WorkerError('source_missing', { detail: range.path });
    throw new WorkerError('source_unreadable', { detail: `${range.path}: ${(err as Error).message}` });
  }
  try {
    const b = Buffer.alloc(len);
    const { bytesRead } = await fh.read(b, 0, len, range.offset);
    return b.subarray(0, bytesRead);
  } finally {
    await fh.close();
  }
}

function parseDescriptorBytes(bytes: Buffer, where: string): OvfDescriptor {
  if (bytes.length > MAX_XML_CHARS) throw new WorkerError('ovf_invalid', { detail: `${where} is ${bytes.length} bytes; more than ${MAX_XML_CHARS} is not a real OVF descriptor` });
  try {
    return parseOvf(decodeXmlBytes(bytes));
  } catch (err) {
    if (err instanceof WorkerError) throw new WorkerError(err.code, { detail: `${where}: ${err.info.detail ?? err.message}` });
    throw err;
  }
}

interface Resolved {
  /** Name inside the package. */
  name: string;
  range: ByteRange | null;
  location: ((range: ByteRange) => DiskLocation) | null;
}

async function openOva(tarPath: string, opts: OpenPackageOptions): Promise<OvfPackage> {
  const index = await readTarIndex(tarPath, { signal: opts.signal });
  const notes = [...index.notes];
  const files = new Map<string, TarMember>();
  const order: string[] = [];
  for (const m of index.members) {
    const why = unsafeName(m.name);
    if (why) throw new WorkerError('unsafe_package', { detail: `member "${m.name}" of ${tarPath} has ${why}` });
    if (m.type === 'symlink' || m.type === 'hardlink') throw new WorkerError('unsafe_package', { detail: `member "${m.name}" of ${tarPath} is a ${m.type === 'symlink' ? 'symbolic' : 'hard'} link (to "${m.link_name ?? ''}")` });
    if (m.type === 'char' || m.type === 'block' || m.type === 'fifo') throw new WorkerError('unsafe_package', { detail: `member "${m.name}" of ${tarPath} is a ${m.type === 'fifo' ? 'fifo' : `${m.type} device`}` });
    if (m.type === 'sparse' || m.type === 'multivolume' || m.type === 'other') {
      throw new WorkerError('package_unsupported', { detail: `member "${m.name}" of ${tarPath} is a tar member of type '${m.typeflag}' (${m.type}), which cannot be read in place` });
    }
    if (m.type !== 'file') continue; // directories (also `./`) and volume labels carry nothing
    const name = normalizeName(m.name);
    if (name === '') throw new WorkerError('unsafe_package', { detail: `member "${m.name}" of ${tarPath} is a file without a name` });
    if (files.has(name)) throw new WorkerError('unsafe_package', { detail: `${tarPath} holds two members named "${name}"` });
    files.set(name, m);
    order.push(name);
  }
  const ovfNames = order.filter(isOvfName);
  if (ovfNames.length === 0) throw new WorkerError('ovf_invalid', { detail: `${tarPath} holds no .ovf descriptor (members: ${order.slice(0, 8).join(', ')})` });
  const ovfName = ovfNames[0]!;
  if (ovfNames.length > 1) notes.push(`the package holds ${ovfNames.length} .ovf descriptors; ${ovfName} was read`);
  if (order[0] !== ovfName) notes.push(`the descriptor ${ovfName} is not the first member, as DSP0243 §5.3 asks (first is ${order[0]})`);
  const ovfMember = files.get(ovfName)!;
  opts.signal?.throwIfAborted();
  const descriptor = parseDescriptorBytes(await readRange({ path: tarPath, offset: ovfMember.data_offset, size: ovfMember.size }, MAX_XML_CHARS + 1), `${tarPath} member ${ovfName}`);

  const base = posix.dirname(ovfName) === '.' ? '' : posix.dirname(ovfName);
  const rangeOf = (name: string): ByteRange | null => {
    const m = files.get(name);
    return m ? { path: tarPath, offset: m.data_offset, size: m.size } : null;
  };
  const resolveName = (href: string, what: string): Resolved => {
    const name = packageName(base, href, what);
    const range = rangeOf(name);
    return { name, range, location: (r) => ({ kind: 'tar', tar_path: tarPath, offset: r.offset, size: r.size }) };
  };
  const pkg = await assemble('ova', tarPath, ovfName, descriptor, base, resolveName, (n) => files.has(n), order, notes, opts);
  pkg.members = order.map((n) => ({ name: n, offset: files.get(n)!.data_offset, size: files.get(n)!.size }));
  // DSP0243 §5.3: descriptor, manifest, certificate, then the files in References order.
  const expected = [ovfName, pkg.manifest.file, pkg.manifest.certificate].filter((x): x is string => Boolean(x));
  if (order.slice(0, expected.length).join('\n') !== expected.join('\n') && order[0] === ovfName) {
    notes.push('the manifest and certificate do not directly follow the descriptor, as DSP0243 §5.3 asks');
  }
  return pkg;
}

async function openOvfFolder(ovfPath: string, opts: OpenPackageOptions): Promise<OvfPackage> {
  const dir = dirname(ovfPath);
  const size = (await stat(ovfPath)).size;
  const descriptor = parseDescriptorBytes(await readRange({ path: ovfPath, offset: 0, size }, MAX_XML_CHARS + 1), ovfPath);
  const present = new Map<string, number>();
  const resolveName = (href: string, what: string): Resolved => {
    const name = packageName('', href, what);
    const p = join(dir, ...name.split('/'));
    const rel = relative(dir, p);
    if (rel.startsWith('..' + sep) || rel === '..' || isAbsolute(rel)) throw new WorkerError('unsafe_package', { detail: `${what} "${href}" points outside ${dir}` });
    const sz = present.get(name);
    return { name, range: sz === undefined ? null : { path: p, offset: 0, size: sz }, location: () => ({ kind: 'file', path: p }) };
  };
  // Which names exist beside the descriptor (only those the descriptor or the manifest names).
  const probe = async (name: string) => {
    try {
      const s = await stat(join(dir, ...name.split('/')));
      if (s.isFile()) present.set(name, s.size);
    } catch {
      /* absent */
    }
  };
  const ovfName = basename(ovfPath);
  const stem = stemOf(ovfName);
  await Promise.all([ovfName, `${stem}.mf`, `${stem}.cert`].map(probe));
  for (const f of descriptor.files) {
    try {
      await probe(packageName('', f.href, `File ${f.id} href`));
    } catch {
      /* refused below, in assemble, with the href named */
    }
  }
  const manifestText = present.has(`${stem}.mf`) ? await readRange({ path: join(dir, `${stem}.mf`), offset: 0, size: present.get(`${stem}.mf`)! }, 4 * 1024 * 1024) : null;
  if (manifestText) {
    for (const e of parseManifest(manifestText.toString('utf8')).entries) {
      try {
        await probe(packageName('', e.file, 'manifest entry'));
      } catch {
        /* refused in assemble */
      }
    }
  }
  const order = [...present.keys()];
  return assemble('ovf', ovfPath, ovfName, descriptor, '', resolveName, (n) => present.has(n), order, [], opts);
}

async function assemble(
  kind: 'ova' | 'ovf',
  path: string,
  ovfName: string,
  descriptor: OvfDescriptor,
  base: string,
  resolveName: (href: string, what: string) => Resolved,
  has: (name: string) => boolean,
  order: string[],
  notes: string[],
  opts: OpenPackageOptions,
): Promise<OvfPackage> {
  const stem = stemOf(ovfName);
  const pick = (ext: string): string | null => {
    if (has(`${stem}.${ext}`)) return `${stem}.${ext}`;
    const all = order.filter((n) => n.toLowerCase().endsWith(`.${ext}`) && posix.dirname(n) === (base || '.'));
    if (all.length === 1) {
      notes.push(`the ${ext === 'mf' ? 'manifest' : 'certificate'} ${all[0]} is not named after the descriptor`);
      return all[0]!;
    }
    return null;
  };
  const mfName = pick('mf');
  const certName = pick('cert');
  if (certName) notes.push(`the package is signed (${certName}); the signature is not checked`);

  // Every href must stay inside the package, whether or not its file is there.
  const byId = new Map<string, { file: OvfFile; res: Resolved }>();
  for (const f of descriptor.files) byId.set(f.id, { file: f, res: resolveName(f.href, `File ${f.id} href`) });

  const extracted: string[] = [];
  const disks: PackageDisk[] = [];
  let workFolder: string | null = null;
  try {
    for (const d of descriptor.disks) {
      if (d.file_ref === null) continue;
      opts.signal?.throwIfAborted();
      const { file, res } = byId.get(d.file_ref)!;
      if (file.chunk_size !== null) {
        throw new WorkerError('package_unsupported', { detail: `disk ${d.disk_id} is stored in chunks of ${file.chunk_size} bytes (${file.href}.000000000, …); join the chunks first` });
      }
      if (!res.range) throw new WorkerError('source_missing', { detail: `disk ${d.disk_id}: the file "${file.href}" is not in ${kind === 'ova' ? 'the package' : `the folder of ${path}`}` });
      if (file.size !== null && file.size !== res.range.size) notes.push(`${file.href}: the descriptor says ${file.size} bytes (ovf:size), the file has ${res.range.size}`);
      const drive = descriptor.hardware.disk_drives.find((x) => x.disk_id === d.disk_id);
      let location = res.location!(res.range);
      let readable = true;
      if (file.compression === 'gzip') {
        if (opts.workDir) {
          if (!workFolder) {
            await mkdir(opts.workDir, { recursive: true });
            workFolder = await mkdtemp(join(resolve(opts.workDir), 'ova-'));
          }
          const dest = join(workFolder, `${disks.length + 1}-${basename(res.name).replace(/\.gz$/i, '')}`);
          await gunzipRange(res.range, dest, d.capacity_bytes + Math.ceil(d.capacity_bytes / 8) + 64 * 1024 * 1024, res.name, opts.signal);
          extracted.push(dest);
          location = { kind: 'file', path: dest };
          notes.push(`${res.name} is gzip-compressed; unpacked to ${dest}`);
        } else {
          readable = false;
          notes.push(`${res.name} is gzip-compressed; open the package with a working folder to unpack it`);
        }
      }
      disks.push({
        disk_id: d.disk_id,
        file: res.name,
        capacity_bytes: d.capacity_bytes,
        populated_bytes: d.populated_bytes,
        format: d.format,
        subformat: d.subformat,
        controller: drive?.controller ?? null,
        location,
        compression: file.compression,
        readable,
        stored_bytes: res.range.size,
      });
    }
    for (const { file, res } of byId.values()) {
      if (!res.range && !descriptor.disks.some((d) => d.file_ref === file.id)) notes.push(`the file "${file.href}" (${file.id}) named in References is not in the package`);
    }
    const diskFiles = new Set(disks.map((d) => d.file));
    const known = new Set([ovfName, mfName, certName, ...[...byId.values()].map((x) => x.res.name)]);
    const unreferenced = order.filter((n) => !known.has(n));
    if (kind === 'ova' && unreferenced.length) notes.push(`members not named by the descriptor: ${unreferenced.slice(0, 10).join(', ')}`);

    // Manifest.
    const manifest: PackageManifest = { present: false, file: mfName, algorithms: [], entries: [], verified: null, mismatches: [], unparsed: [], certificate: certName };
    if (mfName) {
      const mfRes = resolveName(posix.relative(base || '.', mfName), 'manifest');
      const text = (await readRange(mfRes.range!, 4 * 1024 * 1024)).toString('utf8');
      const parsed = parseManifest(text);
      Object.assign(manifest, { present: true, algorithms: parsed.algorithms, entries: parsed.entries, unparsed: parsed.unparsed });
      if (parsed.unparsed.length) notes.push(`${mfName}: ${parsed.unparsed.length} line(s) are not digest lines (first: line ${parsed.unparsed[0]!.line})`);
      // Names must stay inside the package even when not verifying (they are shown to the user).
      const located = new Map(parsed.entries.map((e) => [e.file, resolveName(e.file, 'manifest entry')] as const));
      for (const f of diskFiles) if (![...located.values()].some((r) => r.name === f)) notes.push(`${f} is not covered by the manifest`);
      if (opts.verifyManifest) {
        const check = await checkManifest(parsed.entries, (f) => located.get(f)?.range ?? null, opts.signal);
        manifest.verified = check.verified;
        manifest.mismatches = check.mismatches;
        if (!check.verified) {
          throw new WorkerError('manifest_mismatch', { detail: describeMismatches(check.mismatches) });
        }
      }
    } else {
      notes.push('the package has no manifest (.mf): its files cannot be checked');
    }

    return {
      kind,
      path,
      descriptor,
      ovf_member: ovfName,
      dialect: descriptor.exporter.dialect,
      disks,
      manifest,
      members: [],
      extracted,
      notes: [...notes, ...descriptor.notes],
    };
  } catch (err) {
    // Nothing half-made stays behind in workDir.
    if (workFolder) await rm(workFolder, { recursive: true, force: true });
    throw err;
  }
}

/**
 * Unpack a gzip-compressed byte range into `dest` (created exclusively: never overwrites, never
 * follows a link), refusing to write more than `limit` bytes. Throws `package_invalid` for bad
 * gzip data or a decompression bomb; removes the partial file on any failure.
 */
async function gunzipRange(range: ByteRange, dest: string, limit: number, name: string, signal?: AbortSignal): Promise<void> {
  let written = 0;
  const cap = new Transform({
    transform(chunk: Buffer, _enc, cb) {
      written += chunk.length;
      if (written > limit) cb(new WorkerError('package_invalid', { detail: `${name} unpacks to more than ${limit} bytes, more than its disk can hold` }));
      else cb(null, chunk);
    },
  });
  try {
    await pipeline(
      createReadStream(range.path, { start: range.offset, end: range.offset + range.size - 1 }),
      createGunzip(),
      cap,
      createWriteStream(dest, { flags: 'wx', mode: 0o600 }),
      { signal },
    );
  } catch (err) {
    await rm(dest, { force: true });
    if (signal?.aborted) throw signal.reason;
    if (err instanceof WorkerError) throw err;
    const code = (err as NodeJS.ErrnoException).code ?? '';
    if (code.startsWith('Z_') || /incorrect header|invalid|unexpected end/i.test((err as Error).message)) {
      throw new WorkerError('package_invalid', { detail: `${name} is marked gzip-compressed but cannot be unpacked: ${(err as Error).message}` });
    }
    throw err;
  }
}
