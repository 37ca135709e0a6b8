/**
 * Recognising a disk image by its own bytes, before any tool opens it, so that the format is
 * always determined by us and then passed explicitly (`-f`) to every qemu-img call. qemu-img's
 * own probing of raw files is unsafe (a guest can write a qcow2 header into a raw disk), and it
 * cannot tell fixed from dynamic VHD/VHDX/VDI. Sources of each magic are named inline.
 */
import { open } from 'node:fs/promises';
import { basename, extname } from 'node:path';
import type { ImageFormat } from '../../../shared/protocol';

export type Sniffed =
  | { kind: 'image'; format: ImageFormat; subformat: string | null; descriptor: boolean; evidence: string }
  | { kind: 'luks'; evidence: string }
  | { kind: 'unsupported'; name: string; evidence: string }
  | { kind: 'unknown'; evidence: string };

/** File-name endings that mean "raw disk" when a file has no magic of its own. */
export const RAW_EXTENSIONS = ['.img', '.raw', '.dsk', '.dd', '.bin', '.hdd'];

const ascii = (b: Buffer, start: number, len: number) => b.subarray(start, start + len).toString('latin1');

/**
 * Classify a file from its first 256 KiB (`head`) and its last 512 bytes (`tail`), and its size
 * in bytes. Pure. (VHDX fixed/dynamic needs reads further in: see vhdxSubformat.)
 */
export function sniff(head: Buffer, tail: Buffer, size: number, name: string): Sniffed {
  // qcow2: "QFI\xfb" then a big-endian version (QEMU docs/interop/qcow2.txt).
  if (head.length >= 8 && head.readUInt32BE(0) === 0x514649fb) {
    const version = head.readUInt32BE(4);
    if (version === 2 || version === 3) return { kind: 'image', format: 'qcow2', subformat: null, descriptor: false, evidence: `qcow2 magic, version ${version}` };
    return { kind: 'unsupported', name: `qcow version ${version}`, evidence: 'QFI magic with an old version' };
  }
  // LUKS: "LUKS\xba\xbe" (cryptsetup on-disk format).
  if (head.length >= 6 && ascii(head, 0, 4) === 'LUKS' && head[4] === 0xba && head[5] === 0xbe) return { kind: 'luks', evidence: 'LUKS header' };
  // VMware sparse extent "KDMV", ESX sparse "COWD" (VMware Virtual Disk Format 1.1).
  if (ascii(head, 0, 4) === 'KDMV') return { kind: 'image', format: 'vmdk', subformat: null, descriptor: false, evidence: 'vmdk sparse magic KDMV' };
  if (ascii(head, 0, 4) === 'COWD') return { kind: 'image', format: 'vmdk', subformat: 'vmfsSparse', descriptor: false, evidence: 'vmdk COWD magic' };
  // vmdk text descriptor.
  const text = ascii(head, 0, Math.min(head.length, 1024)).replace(/^\uFEFF/, '');
  if (/^\s*# Disk DescriptorFile/m.test(text.slice(0, 200)) || (/^\s*version\s*=\s*\d/m.test(text) && /createType\s*=/.test(text))) {
    const ct = /createType\s*=\s*"([^"]+)"/.exec(text)?.[1] ?? null;
    return { kind: 'image', format: 'vmdk', subformat: ct, descriptor: true, evidence: 'vmdk text descriptor' };
  }
  // VHDX: "vhdxfile" at 0 (MS-VHDX 2.2.1).
  if (ascii(head, 0, 8) === 'vhdxfile') return { kind: 'image', format: 'vhdx', subformat: null, descriptor: false, evidence: 'vhdx file identifier' };
  // VHD: "conectix" footer at the end (fixed), with a copy at 0 for dynamic (VHD spec, Hard Disk Footer).
  const footer = ascii(tail, 0, 8) === 'conectix' ? tail : ascii(head, 0, 8) === 'conectix' ? head.subarray(0, 512) : null;
  if (footer && footer.length >= 64) {
    const type = footer.readUInt32BE(60);
    const sub = type === 2 ? 'fixed' : type === 3 ? 'dynamic' : type === 4 ? 'differencing' : `type ${type}`;
    return { kind: 'image', format: 'vpc', subformat: sub, descriptor: false, evidence: 'vhd footer "conectix"' };
  }
  // VDI: signature 0xbeda107f at 0x40, image type at 0x4c (VirtualBox VDIHeader).
  if (head.length >= 0x50 && head.readUInt32LE(0x40) === 0xbeda107f) {
    const type = head.readUInt32LE(0x4c);
    const sub = type === 1 ? 'dynamic' : type === 2 ? 'fixed' : type === 3 ? 'undo' : type === 4 ? 'differencing' : `type ${type}`;
    return { kind: 'image', format: 'vdi', subformat: sub, descriptor: false, evidence: 'vdi signature' };
  }
  if (ascii(head, 0, 4) === 'QED\0') return { kind: 'unsupported', name: 'qed', evidence: 'QED magic' };
  if (ascii(head, 0, 16).startsWith('WithoutFreeSpace') || ascii(head, 0, 16).startsWith('WithouFreSpacExt')) {
    return { kind: 'unsupported', name: 'parallels', evidence: 'Parallels magic' };
  }
  // Raw has no magic. Accept it only with evidence that it is a disk: a partition table, a
  // known filesystem or volume signature, or a raw-disk file name; and a whole number of sectors.
  if (size > 0 && size % 512 === 0) {
    if (head.length >= 512 && head[510] === 0x55 && head[511] === 0xaa) return raw('MBR/GPT boot signature 55AA at byte 510');
    if (head.length >= 0x440 && head.readUInt16LE(0x438) === 0xef53) return raw('ext2/3/4 superblock at 1024');
    if (ascii(head, 0, 4) === 'XFSB') return raw('XFS superblock');
    if (head.length >= 0x10010 && ascii(head, 0x10000 + 0x40, 8) === '_BHRfS_M') return raw('btrfs superblock');
    if (head.length >= 0x218 && ascii(head, 0x218, 8) === 'LVM2 001') return raw('LVM2 physical volume label');
    if (ascii(head, 3, 4) === 'NTFS') return raw('NTFS boot sector');
    if (RAW_EXTENSIONS.includes(extname(name).toLowerCase())) return raw(`raw disk by its name (${basename(name)})`);
  }
  return { kind: 'unknown', evidence: size % 512 !== 0 ? `no image magic, and ${size} bytes is not a whole number of 512-byte sectors` : 'no image magic, partition table or filesystem signature' };
}

function raw(evidence: string): Sniffed {
  return { kind: 'image', format: 'raw', subformat: null, descriptor: false, evidence };
}

/** GUIDs as stored on disk (MS-VHDX: little-endian first three fields). */
function guidBytes(guid: string): Buffer {
  const h = guid.replace(/-/g, '');
  const b = Buffer.from(h, 'hex');
  const out = Buffer.alloc(16);
  out.writeUInt32LE(b.readUInt32BE(0), 0);
  out.writeUInt16LE(b.readUInt16BE(4), 4);
  out.writeUInt16LE(b.readUInt16BE(6), 6);
  b.copy(out, 8, 8, 16);
  return out;
}
const METADATA_REGION = guidBytes('8B7CA206-4790-4B9A-B8FE-575F050F886E');
const FILE_PARAMETERS = guidBytes('CAA16737-FA36-4D43-B3B6-33F0AA44E76B');

/**
 * "fixed" or "dynamic" from the VHDX File Parameters metadata item (LeaveBlockAllocated bit,
 * MS-VHDX 2.6.2.1). `readAt(offset, length)` reads the file; null when the tables are not sane.
 */
export async function vhdxSubformat(readAt: (offset: number, length: number) => Promise<Buffer>): Promise<string | null> {
  const regionAt = 192 * 1024;
  const region = await readAt(regionAt, 64 * 1024);
  if (region.length < 16 || ascii(region, 0, 4) !== 'regi') return null;
  const count = region.readUInt32LE(8);
  for (let i = 0; i < Math.min(count, 2047); i++) {
    const e = 16 + i * 32;
    if (e + 32 > region.length) return null;
    if (!region.subarray(e, e + 16).equals(METADATA_REGION)) continue;
    const mdOffset = Number(region.readBigUInt64LE(e + 16));
    const md = await readAt(mdOffset, 64 * 1024);
    if (md.length < 32 || ascii(md, 0, 8) !== 'metadata') return null;
    const n = md.readUInt16LE(10);
    for (let j = 0; j < n; j++) {
      const m = 32 + j * 32;
      if (m + 32 > md.length) return null;
      if (!md.subarray(m, m + 16).equals(FILE_PARAMETERS)) continue;
      const off = md.readUInt32LE(m + 16);
      const item = off + 8 <= md.length ? md.subarray(off, off + 8) : await readAt(mdOffset + off, 8);
      if (item.length < 8) return null;
      return item.readUInt32LE(4) & 1 ? 'fixed' : 'dynamic';
    }
  }
  return null;
}

/** Read the bytes `sniff` needs from a file and classify it. Throws the fs error (ENOENT, EACCES). */
export async function sniffFile(path: string): Promise<Sniffed & { size: number }> {
  const fh = await open(path, 'r');
  try {
    const st = await fh.stat();
    const block = st.isBlockDevice();
    const head = Buffer.alloc(block ? 1024 * 1024 : Math.min(1024 * 1024, st.size));
    const { bytesRead } = await fh.read(head, 0, head.length, 0);
    const tail = Buffer.alloc(512);
    if (!block && st.size >= 512) await fh.read(tail, 0, 512, st.size - 512);
    // A block device's size is not in stat; it is a whole number of sectors by nature.
    const size = block ? 1024 * 1024 : st.size;
    const result = sniff(head.subarray(0, bytesRead), tail, size, path);
    if (result.kind === 'image' && result.format === 'vhdx') {
      result.subformat = await vhdxSubformat(async (offset, length) => {
        const b = Buffer.alloc(length);
        const r = await fh.read(b, 0, length, offset);
        return b.subarray(0, r.bytesRead);
      });
    }
    return { ...result, size: st.size };
  } finally {
    await fh.close();
  }
}

export interface DescriptorExtent {
  access: string;
  sectors: number;
  kind: string;
  file: string;
  offset: number;
}

/**
 * The text of a vmdk descriptor from its bytes. VMware writes UTF-8 (`encoding="UTF-8"`, and
 * qemu-img writes the extent names' bytes as given); older descriptors that declare
 * `encoding="windows-1252"` (or ISO-8859-1) are read as that. Pure.
 */
export function descriptorText(bytes: Uint8Array): string {
  const head = new TextDecoder('latin1').decode(bytes.subarray(0, 4096));
  const declared = /^\s*(?:ddb\.)?encoding\s*=\s*"([^"]*)"/im.exec(head)?.[1]?.toLowerCase();
  if (declared && /^(windows-1252|cp1252|iso-8859-1|latin1)$/.test(declared)) return new TextDecoder('windows-1252').decode(bytes);
  return new TextDecoder('utf-8').decode(bytes);
}

/**
 * The extents and parent hint of a vmdk text descriptor (VMware Virtual Disk Format 1.1,
 * "Extent Descriptions": `RW 4192256 SPARSE "disk-s001.vmdk"`). Pure.
 */
export function parseVmdkDescriptor(text: string): { createType: string | null; extents: DescriptorExtent[]; parentHint: string | null } {
  const extents: DescriptorExtent[] = [];
  for (const line of text.split(/\r?\n/)) {
    const m = /^\s*(RW|RDONLY|NOACCESS)\s+(\d+)\s+(\w+)(?:\s+"([^"]*)"(?:\s+(\d+))?)?/.exec(line);
    if (!m) continue;
    extents.push({ access: m[1]!, sectors: Number(m[2]), kind: m[3]!, file: m[4] ?? '', offset: Number(m[5] ?? 0) });
  }
  return {
    createType: /createType\s*=\s*"([^"]+)"/.exec(text)?.[1] ?? null,
    extents,
    parentHint: /parentFileNameHint\s*=\s*"([^"]+)"/.exec(text)?.[1] ?? null,
  };
}
