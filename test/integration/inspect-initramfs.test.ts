/**
 * The initramfs lister on archives made by the real tools, laid out as distributions ship them:
 * Debian 12 (one zstd-compressed newc cpio), dracut with an early microcode cpio (uncompressed)
 * in front of the compressed main archive (zstd, xz, gzip), and lz4/bzip2 for completeness.
 */
import { mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { listInitramfs, modulesIn, driversIn } from '../../electron/engine/guest/initramfs';
import { runTool } from '../../electron/tools/spawn';

let dir: string;
let n = 0;
const scratch = (suffix: string) => join(dir, 'scratch', `s${++n}${suffix}`);

async function cpioOf(root: string, files: string[]): Promise<Buffer> {
  const r = await execa('cpio', ['-o', '-H', 'newc', '--quiet', '-R', '0:0'], { cwd: root, input: files.join('\n') + '\n', encoding: 'buffer' });
  return Buffer.from(r.stdout);
}

async function compress(tool: string, args: string[], data: Buffer): Promise<Buffer> {
  const r = await execa(tool, args, { input: data, encoding: 'buffer' });
  return Buffer.from(r.stdout);
}

const MAIN_FILES = ['.', 'init', 'usr', 'usr/lib', 'usr/lib/modules', 'usr/lib/modules/5.14.0', 'usr/lib/modules/5.14.0/vmw_pvscsi.ko.xz', 'usr/lib/modules/5.14.0/virtio_scsi.ko.xz', 'usr/lib/modules/5.14.0/virtio_pci.ko.xz'];
let main: Buffer;
let early: Buffer;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-initramfs-'));
  mkdirSync(join(dir, 'scratch'));
  const m = join(dir, 'main');
  mkdirSync(join(m, 'usr/lib/modules/5.14.0'), { recursive: true });
  writeFileSync(join(m, 'init'), '#!/bin/sh\n');
  for (const f of MAIN_FILES.filter((x) => x.endsWith('.ko.xz'))) writeFileSync(join(m, f), 'module');
  main = await cpioOf(m, MAIN_FILES);
  const e = join(dir, 'early');
  mkdirSync(join(e, 'kernel/x86/microcode'), { recursive: true });
  writeFileSync(join(e, 'kernel/x86/microcode/GenuineIntel.bin'), Buffer.alloc(3000, 7));
  early = await cpioOf(e, ['kernel', 'kernel/x86', 'kernel/x86/microcode', 'kernel/x86/microcode/GenuineIntel.bin']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function list(name: string, bytes: Buffer) {
  const file = join(dir, name);
  writeFileSync(file, bytes);
  const r = await listInitramfs(file, (x) => runTool(x), scratch);
  return r;
}

describe('listInitramfs on real archives', () => {
  it('Debian 12 layout: zstd only', async () => {
    const l = await list('debian.img', await compress('zstd', ['-q', '-c', '-19'], main));
    expect(l).toEqual({ segments: ['zstd'], names: MAIN_FILES, error: null });
    expect(modulesIn(l.names)).toEqual(['virtio_pci', 'virtio_scsi', 'vmw_pvscsi']);
    expect([...driversIn(l.names)].sort()).toEqual(['virtio_pci', 'virtio_scsi']);
  });

  it.each([
    ['zstd', 'zstd', ['-q', '-c']],
    ['xz', 'xz', ['-c', '--check=crc32']],
    ['gzip', 'gzip', ['-c', '-n']],
    ['lz4', 'lz4', ['-l', '-q', '-c']],
    ['bzip2', 'bzip2', ['-c']],
  ] as const)('dracut layout: early microcode cpio, then %s', async (segment, tool, args) => {
    const l = await list(`dracut-${segment}.img`, Buffer.concat([early, await compress(tool, [...args], main)]));
    expect(l.error).toBeNull();
    expect(l.segments).toEqual(['cpio', segment]);
    expect(l.names).toEqual(['kernel', 'kernel/x86', 'kernel/x86/microcode', 'kernel/x86/microcode/GenuineIntel.bin', ...MAIN_FILES]);
  });

  it('leaves no scratch files behind', () => {
    expect(readFileSync(join(dir, 'debian.img')).length).toBeGreaterThan(0);
    expect(readdirSync(join(dir, 'scratch'))).toEqual([]);
  });
});
