/**
 * The initramfs lister on archives built here in the newc format (the format of
 * Linux's usr/gen_init_cpio.c and of `cpio -H newc`), with an uncompressed early segment and a
 * gzip main segment like dracut's and initramfs-tools' images. The host decompressors (zstd,
 * xz) are exercised by test/integration/inspect-initramfs.test.ts with archives made by the real
 * cpio tool.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { compressionOf, driverPresence, driversIn, listInitramfs, modulesIn } from '../../../electron/engine/guest/initramfs';
import { runTool } from '../../../electron/tools/spawn';

/** One newc archive: entries (name, data), then TRAILER!!!, padded to 512 bytes like cpio does. */
function newc(entries: Array<[string, string]>): Buffer {
  const parts: Buffer[] = [];
  const hex = (n: number) => n.toString(16).padStart(8, '0');
  const pad = (n: number) => Buffer.alloc((4 - (n % 4)) % 4);
  let ino = 1;
  for (const [name, data] of [...entries, ['TRAILER!!!', ''] as [string, string]]) {
    const nameBuf = Buffer.from(name + '\0');
    const body = Buffer.from(data);
    const header = '070701' + [ino++, 0o100644, 0, 0, 1, 0, body.length, 0, 0, 0, 0, nameBuf.length, 0].map(hex).join('');
    parts.push(Buffer.from(header, 'latin1'), nameBuf, pad(110 + nameBuf.length), body, pad(body.length));
  }
  const out = Buffer.concat(parts);
  return Buffer.concat([out, Buffer.alloc((512 - (out.length % 512)) % 512)]);
}

const dir = mkdtempSync(join(tmpdir(), 'h2k-initramfs-unit-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const scratch = (suffix: string) => join(dir, `s${++n}${suffix}`);

describe('listInitramfs', () => {
  it('lists an early uncompressed cpio followed by a gzip main archive', async () => {
    const early = newc([['kernel', ''], ['kernel/x86', ''], ['kernel/x86/microcode', ''], ['kernel/x86/microcode/GenuineIntel.bin', 'ucode']]);
    const main = newc([
      ['.', ''],
      ['init', '#!/bin/sh\n'],
      ['usr/lib/modules/6.1.0/kernel/drivers/scsi/vmw_pvscsi.ko', 'elf'],
      ['usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko.xz', 'xz'],
    ]);
    const file = join(dir, 'initrd.img');
    writeFileSync(file, Buffer.concat([early, gzipSync(main)]));
    const l = await listInitramfs(file, (r) => runTool(r), scratch);
    expect(l.error).toBeNull();
    expect(l.segments).toEqual(['cpio', 'gzip']);
    expect(l.names).toEqual([
      'kernel',
      'kernel/x86',
      'kernel/x86/microcode',
      'kernel/x86/microcode/GenuineIntel.bin',
      '.',
      'init',
      'usr/lib/modules/6.1.0/kernel/drivers/scsi/vmw_pvscsi.ko',
      'usr/lib/modules/6.1.0/kernel/drivers/block/virtio_blk.ko.xz',
    ]);
    expect(modulesIn(l.names)).toEqual(['virtio_blk', 'vmw_pvscsi']);
  });

  it('says what it could not read, and keeps what it could', async () => {
    const file = join(dir, 'junk.img');
    writeFileSync(file, Buffer.concat([newc([['a', '1']]), Buffer.from('this is no archive at all')]));
    const l = await listInitramfs(file, (r) => runTool(r), scratch);
    expect(l.names).toEqual(['a']);
    expect(l.error).toMatch(/^unrecognised data at byte 512 of 537$/);
  });

  it('reports a cut-off archive', async () => {
    const file = join(dir, 'cut.img');
    writeFileSync(file, newc([['big', 'x'.repeat(5000)]]).subarray(0, 700));
    const l = await listInitramfs(file, (r) => runTool(r), scratch);
    expect(l.error).toBe('cpio archive cut off');
  });
});

describe('compression, drivers and modules', () => {
  it.each([
    [[0x1f, 0x8b, 8, 0], 'gzip'],
    [[0x28, 0xb5, 0x2f, 0xfd], 'zstd'],
    [[0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00], 'xz'],
    [[0x5d, 0x00, 0x00, 0x80], 'lzma'],
    [[0x02, 0x21, 0x4c, 0x18], 'lz4'],
    [[0x42, 0x5a, 0x68, 0x39], 'bzip2'],
    [[0x30, 0x37, 0x30, 0x37], null],
  ])('%j is %s', (bytes, c) => {
    expect(compressionOf(Buffer.from([...bytes, 0, 0, 0, 0]))).toBe(c);
  });

  it('finds virtio drivers by module path, any compression suffix', () => {
    const found = driversIn(['usr/lib/modules/5.14/kernel/drivers/block/virtio_blk.ko.xz', 'lib/modules/6.1/kernel/drivers/virtio/virtio_pci.ko', 'kernel/drivers/net/virtio_net.ko.zst:', 'kernel/drivers/virtio/virtio_pci_modern_dev.ko']);
    expect([...found].sort()).toEqual(['virtio_blk', 'virtio_net', 'virtio_pci']);
  });

  it('builtin wins over module; unknown listings give null', () => {
    expect(driverPresence(new Set(['virtio_blk']), new Set(['virtio_pci']))).toEqual({ virtio_blk: 'module', virtio_scsi: 'absent', virtio_net: 'absent', virtio_pci: 'builtin' });
    expect(driverPresence(new Set(), new Set(), false)).toEqual({ virtio_blk: null, virtio_scsi: null, virtio_net: null, virtio_pci: null });
  });
});
