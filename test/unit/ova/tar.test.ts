// The tar header reader: offsets of members in archives written by tar-stream (ustar, prefix
// split, pax), and by hand for GNU long names, base-256 sizes and damaged archives.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pack, type Header } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { WorkerError } from '../../../shared/errors';
import { parseHeader, parseNumeric, parsePaxRecords, readTarIndex } from '../../../electron/engine/ova/tar';

const dir = mkdtempSync(join(tmpdir(), 'h2k-tar-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function tarOf(entries: { header: Partial<Header> & { name: string }; data?: Buffer }[]): Promise<Buffer> {
  const p = pack();
  const chunks: Buffer[] = [];
  p.on('data', (c: unknown) => {
    chunks.push(c as Buffer);
  });
  const done = new Promise<void>((res, rej) => {
    p.on('end', () => res());
    p.on('error', (e: unknown) => rej(e as Error));
  });
  for (const e of entries) p.entry(e.header, e.data ?? Buffer.alloc(0));
  p.finalize();
  await done;
  return Buffer.concat(chunks);
}

/** A header block by hand: name, size field bytes, type flag; magic "ustar  \0" (GNU) or POSIX. */
function header(name: string, size: number | Buffer, flag: string, gnu = true): Buffer {
  const b = Buffer.alloc(512);
  b.write(name, 0, 100, 'utf8');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  if (typeof size === 'number') b.write(size.toString(8).padStart(11, '0') + '\0', 124, 'latin1');
  else size.copy(b, 124);
  b.write('00000000000\0', 136, 'latin1');
  b.write(flag, 156, 'latin1');
  b.write(gnu ? 'ustar  \0' : 'ustar\u000000', 257, 'latin1');
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const x of b) sum += x;
  b.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
  return b;
}
const pad = (data: Buffer) => Buffer.concat([data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
const END = Buffer.alloc(1024);

function write(name: string, data: Buffer): string {
  const p = join(dir, name);
  writeFileSync(p, data);
  return p;
}

async function code(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (err) {
    if (err instanceof WorkerError) return err.code;
    throw err;
  }
  return 'no error';
}

describe('readTarIndex', () => {
  it('gives each member its data offset and size (ustar, as tar-stream writes it)', async () => {
    const ovf = Buffer.from('<Envelope/>');
    const disk = Buffer.alloc(5000, 0xab);
    const p = write('a.ova', await tarOf([{ header: { name: 'vm.ovf', size: ovf.length } , data: ovf }, { header: { name: 'vm.mf', size: 3 }, data: Buffer.from('abc') }, { header: { name: 'vm-disk1.vmdk', size: disk.length }, data: disk }]));
    const idx = await readTarIndex(p);
    expect(idx.members.map((m) => [m.name, m.type, m.data_offset, m.size])).toEqual([
      ['vm.ovf', 'file', 512, 11],
      ['vm.mf', 'file', 1536, 3],
      ['vm-disk1.vmdk', 'file', 2560, 5000],
    ]);
    const bytes = readFileSync(p);
    for (const [m, expected] of [[idx.members[0]!, ovf], [idx.members[2]!, disk]] as const) expect(bytes.subarray(m.data_offset, m.data_offset + m.size).equals(expected)).toBe(true);
    expect(idx.flavour).toBe('ustar');
    expect(idx.notes).toEqual([]);
  });
  it('joins the ustar prefix field and reads pax paths (long names)', async () => {
    const mid = 'd'.repeat(120) + '/disk.vmdk';
    const long = 'x'.repeat(180) + '.vmdk';
    const p = write('long.ova', await tarOf([{ header: { name: mid, size: 4 }, data: Buffer.from('abcd') }, { header: { name: long, size: 2 }, data: Buffer.from('hi') }]));
    const idx = await readTarIndex(p);
    expect(idx.members.map((m) => [m.name, m.size])).toEqual([
      [mid, 4],
      [long, 2],
    ]);
    expect(readFileSync(p).subarray(idx.members[1]!.data_offset, idx.members[1]!.data_offset + 2).toString()).toBe('hi');
  });
  it('reports links and devices with their types (the package refuses them)', async () => {
    const p = write('links.ova', await tarOf([{ header: { name: 'a.vmdk', type: 'symlink', linkname: '/etc/passwd' } }, { header: { name: 'b', type: 'link', linkname: 'a.vmdk' } }, { header: { name: 'c', type: 'character-device', devmajor: 1, devminor: 3 } }, { header: { name: 'sub/', type: 'directory' } }]));
    const idx = await readTarIndex(p);
    expect(idx.members.map((m) => [m.name, m.type, m.link_name, m.size])).toEqual([
      ['a.vmdk', 'symlink', '/etc/passwd', 0],
      ['b', 'hardlink', 'a.vmdk', 0],
      ['c', 'char', null, 0],
      ['sub/', 'directory', null, 0],
    ]);
  });
  it('reads GNU long names (type L) and base-256 sizes', async () => {
    const name = 'n'.repeat(150) + '.vmdk';
    const size256 = Buffer.alloc(12);
    size256[0] = 0x80;
    size256.writeUInt32BE(700, 8);
    const data = Buffer.alloc(700, 1);
    const archive = Buffer.concat([header('././@LongLink', name.length + 1, 'L'), pad(Buffer.from(name + '\0')), header(name.slice(0, 99), size256, '0'), pad(data), END]);
    const idx = await readTarIndex(write('gnu.ova', archive));
    expect(idx.flavour).toBe('gnu');
    expect(idx.members.map((m) => [m.name, m.size, m.data_offset])).toEqual([[name, 700, 1536]]);
  });
  it('says package_invalid for a file that is not a tar, a bad checksum, a cut-off member, an empty archive', async () => {
    expect(await code(readTarIndex(write('gz.ova', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(1020)]))))).toBe('package_invalid');
    await expect(readTarIndex(write('gz2.ova', Buffer.concat([Buffer.from([0x1f, 0x8b, 8, 0]), Buffer.alloc(1020)])))).rejects.toThrow(/gzip-compressed/);
    await expect(readTarIndex(write('xml.ova', Buffer.from('<?xml version="1.0"?><Envelope/>'.padEnd(1024))))).rejects.toThrow(/OVF descriptor/);
    const bad = header('x.vmdk', 10, '0');
    bad[0] = 0x79; // changes the name, not the stored checksum
    expect(await code(readTarIndex(write('bad.ova', Buffer.concat([bad, pad(Buffer.alloc(10)), END]))))).toBe('package_invalid');
    const cut = Buffer.concat([header('disk.vmdk', 1024 * 1024, '0'), Buffer.alloc(4096)]);
    await expect(readTarIndex(write('cut.ova', cut))).rejects.toThrow(/cut off: member "disk\.vmdk" needs 1048576 bytes from byte 512, but the file ends at byte 4608/);
    expect(await code(readTarIndex(write('empty.ova', END)))).toBe('package_invalid');
  });
  it('notes an archive without end-of-archive blocks', async () => {
    const idx = await readTarIndex(write('noend.ova', Buffer.concat([header('a.ovf', 3, '0'), pad(Buffer.from('abc'))])));
    expect(idx.members).toHaveLength(1);
    expect(idx.notes[0]).toMatch(/no end-of-archive/);
  });
});

describe('header fields', () => {
  it('octal and base-256 numbers', () => {
    expect(parseNumeric(Buffer.from('00000001750\0'), 0, 12, 'size')).toBe(1000);
    expect(parseNumeric(Buffer.from('     1750 \0\0'), 0, 12, 'size')).toBe(1000);
    const b = Buffer.alloc(12);
    b[0] = 0x80;
    b.writeUIntBE(9 * 1024 ** 3, 6, 6); // a 9 GiB member, beyond the octal field's 8 GiB
    expect(parseNumeric(b, 0, 12, 'size')).toBe(9 * 1024 ** 3);
    b[0] = 0xff;
    expect(() => parseNumeric(b, 0, 12, 'size')).toThrow(WorkerError);
    expect(() => parseNumeric(Buffer.from('12x4'), 0, 4, 'size')).toThrow(/not octal/);
  });
  it('an all-zero block is the end; POSIX magic uses the prefix field', () => {
    expect(parseHeader(Buffer.alloc(512))).toBeNull();
    const h = header('disk.vmdk', 5, '0', false);
    h.write('folder', 345, 'latin1');
    h.fill(0x20, 148, 156);
    let sum = 0;
    for (const x of h) sum += x;
    h.write(sum.toString(8).padStart(6, '0') + '\0 ', 148, 'latin1');
    expect(parseHeader(h)).toEqual({ name: 'folder/disk.vmdk', mode: 0o644, size: 5, typeflag: '0', link_name: '', magic: 'ustar' });
  });
  it('pax records', () => {
    const rec = (k: string, v: string) => {
      const body = ` ${k}=${v}\n`;
      let len = body.length + 2;
      if (String(len).length + body.length !== len) len = String(len + 1).length + body.length;
      return `${len}${body}`;
    };
    expect(parsePaxRecords(Buffer.from(rec('path', 'a/b c.vmdk') + rec('size', '12345678901')))).toEqual({ path: 'a/b c.vmdk', size: '12345678901' });
    expect(() => parsePaxRecords(Buffer.from('99 path=x\n'))).toThrow(WorkerError);
  });
});
