/**
 * outputSizeBound against the real qemu-img: the most any output can take must be at least what
 * qemu-img says a fully allocated qcow2 needs at every cluster size (measure --size), and at
 * least what real outputs of incompressible data take in every format and subformat.
 */
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { outputSizeBound } from '../../electron/tools/qemu-img-convert';
import { MiB, qemuImg, writeRegions } from './convert-helpers';
import { randomBytes } from 'node:crypto';

let dir: string;
let raw: string;
const SIZE = 8 * MiB + 4096 * 3; // not a whole MiB: rounding up to a block must fit too

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-bound-'));
  raw = join(dir, 'full.raw');
  writeRegions(raw, SIZE, [{ offset: 0, data: randomBytes(SIZE) }]);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('outputSizeBound', () => {
  it('covers a fully allocated qcow2 at every cluster size, compat and preallocation (qemu-img measure --size)', async () => {
    for (const size of [MiB, 100 * MiB + 512, 10 * 1024 * MiB, 2 * 1024 * 1024 * MiB]) {
      // qemu-img refuses 2 TiB with clusters under 64 KiB ("The image size is too large").
      for (const cluster of [512, 4096, 65536, 2 * MiB].filter((c) => size < 1024 * 1024 * MiB || c >= 65536)) {
        for (const extra of ['compat=0.10', 'compat=1.1', 'compat=1.1,preallocation=full', 'compat=1.1,lazy_refcounts=on']) {
          const r = await qemuImg('measure', '--output=json', '--size', String(size), '-O', 'qcow2', '-o', `cluster_size=${cluster},${extra}`);
          expect(r.exitCode, r.stderr).toBe(0);
          const m = JSON.parse(r.stdout) as { required: number; 'fully-allocated': number };
          expect(m['fully-allocated'], `${size} bytes, cluster ${cluster}, ${extra}`).toBeLessThanOrEqual(outputSizeBound(size));
        }
      }
    }
  });

  it('covers real outputs of incompressible data in every format and subformat (every file, apparent and allocated size)', async () => {
    const targets: [string, string, string[]][] = [
      ['raw', 'img', []],
      ['qcow2', 'qcow2', ['cluster_size=512']],
      ['qcow2', 'qcow2', ['compression_type=zstd']],
      ['qcow2', 'qcow2', ['preallocation=full']],
      ['vmdk', 'vmdk', ['subformat=monolithicSparse']],
      ['vmdk', 'vmdk', ['subformat=streamOptimized']],
      ['vmdk', 'vmdk', ['subformat=twoGbMaxExtentSparse']],
      ['vmdk', 'vmdk', ['subformat=monolithicFlat']],
      ['vmdk', 'vmdk', ['subformat=twoGbMaxExtentFlat']],
      ['vhdx', 'vhdx', ['subformat=dynamic']],
      ['vhdx', 'vhdx', ['subformat=fixed']],
      ['vpc', 'vhd', ['subformat=dynamic', 'force_size=on']],
      ['vpc', 'vhd', ['subformat=fixed', 'force_size=on']],
      ['vdi', 'vdi', []],
    ];
    for (const [k, [format, ext, options]] of targets.entries()) {
      const out = mkdtempSync(join(dir, `o${k}-`));
      const args = ['convert', '-f', 'raw', '-O', format, ...(options.length ? ['-o', options.join(',')] : []), ...(options.includes('compression_type=zstd') ? ['-c'] : []), raw, join(out, `disk.${ext}`)];
      const r = await qemuImg(...args);
      expect(r.exitCode, r.stderr).toBe(0);
      let apparent = 0;
      let allocated = 0;
      for (const f of readdirSync(out)) {
        const st = statSync(join(out, f));
        apparent += st.size;
        allocated += st.blocks * 512;
      }
      expect(allocated, `${format} ${options.join(',')}`).toBeGreaterThanOrEqual(SIZE); // the data is there
      expect(Math.max(apparent, allocated), `${format} ${options.join(',')}`).toBeLessThanOrEqual(outputSizeBound(SIZE));
    }
  });
});
