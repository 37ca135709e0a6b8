/**
 * Indexing a tar archive (an OVA) without reading its members: each member's name, type, size
 * and the byte offset of its data in the archive, from the 512-byte headers alone, by positional
 * reads that jump over the data. A 50 GB OVA is indexed with a few kilobytes of reads, and disks
 * are then read in place at [data_offset, data_offset + size).
 *
 * Formats (POSIX.1-2001 pax, `man 5 tar`): v7 and POSIX ustar headers (with the ustar `prefix`
 * field), GNU long names and long link names (types `L` and `K`), pax extended headers (types
 * `x` and `g`: `path`, `linkpath`, `size`), and sizes in base-256 (GNU, for members of 8 GiB and
 * more). tar-stream cannot be used for this: it hands out data streams, not offsets, and would
 * read every byte of every disk to get to the next header.
 *
 * This module only reports what the archive says; deciding which members are acceptable is the
 * package's job (package.ts refuses links, devices and names leaving the package).
 */
import { open, type FileHandle } from 'node:fs/promises';
import { WorkerError } from '../../../shared/errors';

/** Tar block size in bytes: headers are one block, data is padded to whole blocks. */
export const BLOCK = 512;

/** A member's kind, from its header's type flag ('0'/'7' file, '5' directory, '2' symlink, '1' hard link, ...). */
export type TarMemberType = 'file' | 'directory' | 'symlink' | 'hardlink' | 'char' | 'block' | 'fifo' | 'sparse' | 'multivolume' | 'volume-label' | 'other';

/** One member of the archive. Offsets and sizes are bytes. */
export interface TarMember {
  /** The name as the archive gives it (pax `path`, GNU long name, or ustar prefix + name). */
  name: string;
  /** The header's type flag character ('0', '5', '2', ...); '\0' is shown as '0'. */
  typeflag: string;
  type: TarMemberType;
  /** Size of the member's data in the archive, in bytes. */
  size: number;
  /** Offset of the member's (last) header block. */
  header_offset: number;
  /** Offset of the member's first data byte. */
  data_offset: number;
  /** Target of a symlink or hard link, else null. */
  link_name: string | null;
  mode: number;
}

/** The members of an archive, in archive order. */
export interface TarIndex {
  members: TarMember[];
  /** Size of the archive file in bytes. */
  archive_size: number;
  /** Offset just past the last member's data (where the end-of-archive blocks start). */
  end_offset: number;
  /** Header flavour of the first member: 'ustar' (POSIX), 'gnu' or 'v7'. */
  flavour: 'ustar' | 'gnu' | 'v7';
  notes: string[];
}

/** The fields of one header block that the index needs. */
export interface RawHeader {
  name: string;
  mode: number;
  size: number;
  typeflag: string;
  link_name: string;
  magic: 'ustar' | 'gnu' | 'v7';
}

const MAX_MEMBERS = 10_000;
const MAX_META_BYTES = 1024 * 1024;

function invalid(detail: string): WorkerError {
  return new WorkerError('package_invalid', { detail });
}

function cstring(b: Buffer, start: number, len: number): string {
  const field = b.subarray(start, start + len);
  const nul = field.indexOf(0);
  return field.subarray(0, nul === -1 ? field.length : nul).toString('utf8');
}

/**
 * A numeric header field: octal text (NUL- or space-terminated), or base-256 when the first
 * byte has its high bit set (GNU tar, star). Throws `package_invalid` for garbage or negatives.
 */
export function parseNumeric(b: Buffer, start: number, len: number, what: string): number {
  const field = b.subarray(start, start + len);
  if (field[0]! & 0x80) {
    if (field[0]! & 0x40) throw invalid(`negative ${what} in a tar header`);
    let v = BigInt(field[0]! & 0x3f);
    for (let i = 1; i < field.length; i++) v = (v << 8n) | BigInt(field[i]!);
    if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${what} ${v} in a tar header is too large`);
    return Number(v);
  }
  const text = field.toString('latin1').replace(/\0.*$/s, '').trim();
  if (text === '') return 0;
  if (!/^[0-7]+$/.test(text)) throw invalid(`${what} field "${text.slice(0, 16)}" in a tar header is not octal`);
  const v = parseInt(text, 8);
  if (!Number.isSafeInteger(v)) throw invalid(`${what} ${text} in a tar header is too large`);
  return v;
}

function isZeroBlock(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) return false;
  return true;
}

/**
 * Parse one 512-byte header block. Returns null for an all-zero block (end of archive). Throws
 * `package_invalid` when the checksum does not match (POSIX: the sum of the header bytes with the
 * checksum field taken as spaces; historic tars summed signed bytes, which is accepted too).
 */
export function parseHeader(block: Buffer): RawHeader | null {
  if (block.length < BLOCK) throw invalid('the archive ends inside a tar header');
  if (isZeroBlock(block)) return null;
  const stored = parseNumeric(block, 148, 8, 'checksum');
  let unsigned = 0;
  let signed = 0;
  for (let i = 0; i < BLOCK; i++) {
    const byte = i >= 148 && i < 156 ? 0x20 : block[i]!;
    unsigned += byte;
    signed += byte > 127 ? byte - 256 : byte;
  }
  if (stored !== unsigned && stored !== signed) throw invalid('a tar header checksum does not match: not a tar archive, or damaged');
  const magicField = block.subarray(257, 265).toString('latin1');
  const magic: RawHeader['magic'] = magicField === 'ustar\u000000' || magicField.startsWith('ustar\u0000') ? 'ustar' : magicField === 'ustar  \u0000' ? 'gnu' : 'v7';
  let name = cstring(block, 0, 100);
  // The ustar prefix field (345..500) exists only in POSIX headers; GNU puts times there.
  if (magic === 'ustar') {
    const prefix = cstring(block, 345, 155);
    if (prefix) name = `${prefix}/${name}`;
  }
  const flag = String.fromCharCode(block[156]!);
  return {
    name,
    mode: parseNumeric(block, 100, 8, 'mode'),
    size: parseNumeric(block, 124, 12, 'size'),
    typeflag: flag === '\0' ? '0' : flag,
    link_name: cstring(block, 157, 100),
    magic,
  };
}

/** pax extended header records: `LEN KEY=VALUE\n`, LEN counting the whole record (POSIX pax). */
export function parsePaxRecords(data: Buffer): Record<string, string> {
  const out: Record<string, string> = Object.create(null) as Record<string, string>;
  let pos = 0;
  while (pos < data.length) {
    if (data[pos] === 0) break;
    const space = data.indexOf(0x20, pos);
    if (space === -1) throw invalid('a pax extended header record has no length');
    const lenText = data.subarray(pos, space).toString('latin1');
    if (!/^\d+$/.test(lenText)) throw invalid(`a pax extended header record has a bad length "${lenText.slice(0, 16)}"`);
    const len = Number(lenText);
    if (len <= space - pos + 1 || pos + len > data.length) throw invalid('a pax extended header record runs past its header');
    const record = data.subarray(space + 1, pos + len);
    if (record[record.length - 1] !== 0x0a) throw invalid('a pax extended header record does not end with a newline');
    const text = record.subarray(0, record.length - 1).toString('utf8');
    const eq = text.indexOf('=');
    if (eq <= 0) throw invalid('a pax extended header record has no key');
    out[text.slice(0, eq)] = text.slice(eq + 1);
    pos += len;
  }
  return out;
}

function typeOf(flag: string): TarMemberType {
  switch (flag) {
    case '0':
    case '7': // contiguous file: a regular file for every reader
      return 'file';
    case '5':
      return 'directory';
    case '2':
      return 'symlink';
    case '1':
      return 'hardlink';
    case '3':
      return 'char';
    case '4':
      return 'block';
    case '6':
      return 'fifo';
    case 'S':
      return 'sparse';
    case 'M':
      return 'multivolume';
    case 'V':
      return 'volume-label';
    default:
      return 'other';
  }
}

/** What a non-tar file probably is, for a friendlier error. */
function guessNotTar(head: Buffer): string {
  if (head[0] === 0x1f && head[1] === 0x8b) return 'it is gzip-compressed (a .ova.gz or .tgz?); unpack it with gunzip first';
  if (head.subarray(0, 6).toString('latin1') === '\xfd7zXZ\0') return 'it is xz-compressed; unpack it with unxz first';
  if (head.subarray(0, 4).toString('latin1') === 'PK\x03\x04') return 'it is a zip archive, not a tar archive; unzip it and open the .ovf';
  if (/^\s*<\?xml|^\s*<Envelope/.test(head.subarray(0, 64).toString('latin1'))) return 'it is an OVF descriptor (XML), not an OVA; open it as .ovf';
  return 'its first block is not a tar header';
}

async function readAt(fh: FileHandle, offset: number, length: number): Promise<Buffer> {
  const b = Buffer.alloc(length);
  let done = 0;
  while (done < length) {
    const { bytesRead } = await fh.read(b, done, length - done, offset + done);
    if (bytesRead === 0) break;
    done += bytesRead;
  }
  return b.subarray(0, done);
}

/**
 * Index a tar archive by its headers. Throws `package_invalid` (not a tar archive, a bad header,
 * a member running past the end of the file, more than 10,000 members), and the fs error of
 * opening the file (ENOENT, EACCES) as is. Aborts with `signal.reason`.
 */
export async function readTarIndex(path: string, opts: { signal?: AbortSignal } = {}): Promise<TarIndex> {
  const fh = await open(path, 'r');
  try {
    const size = (await fh.stat()).size;
    const members: TarMember[] = [];
    const notes: string[] = [];
    let pos = 0;
    let flavour: TarIndex['flavour'] | null = null;
    let longName: string | null = null;
    let longLink: string | null = null;
    let pax: Record<string, string> = {};
    let global: Record<string, string> = {};
    let sawEnd = false;
    let blocks = 0;

    while (pos + BLOCK <= size) {
      opts.signal?.throwIfAborted();
      const block = await readAt(fh, pos, BLOCK);
      let h: RawHeader | null;
      try {
        h = parseHeader(block);
      } catch (err) {
        if (pos === 0 && err instanceof WorkerError) throw invalid(`${path}: not a tar archive: ${guessNotTar(block)}`);
        throw err instanceof WorkerError ? invalid(`${path} at byte ${pos}: ${err.info.detail ?? err.message}`) : err;
      }
      if (h === null) {
        if (pos === 0) throw invalid(`${path}: not a tar archive: ${guessNotTar(block)}`);
        sawEnd = true;
        break;
      }
      flavour ??= h.magic;
      if (++blocks > MAX_MEMBERS * 4) throw invalid(`${path}: more than ${MAX_MEMBERS} members`);
      const effSize = pax.size !== undefined ? paxNumber(pax.size, 'size') : global.size !== undefined ? paxNumber(global.size, 'size') : h.size;
      const dataOffset = pos + BLOCK;
      // Directories, links and devices carry no data whatever their size field says.
      const carriesData = !['1', '2', '3', '4', '5', '6'].includes(h.typeflag);
      const dataSize = carriesData ? effSize : 0;
      if (dataOffset + dataSize > size) {
        throw invalid(`${path} is cut off: member "${pax.path ?? longName ?? h.name}" needs ${dataSize} bytes from byte ${dataOffset}, but the file ends at byte ${size}`);
      }
      const next = dataOffset + Math.ceil(dataSize / BLOCK) * BLOCK;

      if (h.typeflag === 'L' || h.typeflag === 'K' || h.typeflag === 'x' || h.typeflag === 'g') {
        if (dataSize > MAX_META_BYTES) throw invalid(`${path}: an extended header of ${dataSize} bytes at byte ${pos}`);
        const data = await readAt(fh, dataOffset, dataSize);
        if (h.typeflag === 'L') longName = cstring(data, 0, data.length);
        else if (h.typeflag === 'K') longLink = cstring(data, 0, data.length);
        else if (h.typeflag === 'x') pax = { ...pax, ...parsePaxRecords(data) };
        else {
          global = { ...global, ...parsePaxRecords(data) };
          notes.push('the archive has a pax global header');
        }
        pos = next;
        continue;
      }

      const name = pax.path ?? longName ?? h.name;
      const link = pax.linkpath ?? longLink ?? (h.link_name || null);
      members.push({
        name,
        typeflag: h.typeflag,
        type: typeOf(h.typeflag),
        size: dataSize,
        header_offset: pos,
        data_offset: dataOffset,
        link_name: h.typeflag === '1' || h.typeflag === '2' ? link : null,
        mode: h.mode,
      });
      if (members.length > MAX_MEMBERS) throw invalid(`${path}: more than ${MAX_MEMBERS} members`);
      longName = null;
      longLink = null;
      pax = {};
      pos = next;
    }
    if (members.length === 0) throw invalid(`${path}: the archive has no members`);
    if (!sawEnd) notes.push('the archive has no end-of-archive blocks (it may have been cut at a member boundary)');
    return { members, archive_size: size, end_offset: pos, flavour: flavour ?? 'v7', notes };
  } finally {
    await fh.close();
  }
}

function paxNumber(text: string, what: string): number {
  if (!/^\d+$/.test(text)) throw invalid(`pax ${what} "${text.slice(0, 24)}" is not a whole number`);
  const v = Number(text);
  if (!Number.isSafeInteger(v)) throw invalid(`pax ${what} ${text} is too large`);
  return v;
}
