/**
 * Several disks in one job, and vmdk split into several extents, with real images:
 * one result listing every disk, progress weighted by virtual size, a cancel during the
 * second disk leaving nothing (the first disk's finished copy included), and 4.5 GiB sparse
 * disks split into 2 GiB extents named as qemu-img names them, in and out.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvertPayload } from '../../shared/protocol';
import { WorkerError } from '../../shared/errors';
import { compareImages, convertSpec, MiB, qemuImg, randomRegions, runConvert, sha256Of, writeRegions } from './convert-helpers';

let dir: string;
let small: string;
let large: string;
let sources: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-multi-'));
  small = join(dir, 'system.img');
  large = join(dir, 'data.img');
  writeRegions(small, 8 * MiB, randomRegions(8 * MiB, 1));
  writeRegions(large, 24 * MiB, randomRegions(24 * MiB, 2));
  sources = { [small]: sha256Of(small), [large]: sha256Of(large) };
});

afterAll(() => {
  expect({ [small]: sha256Of(small), [large]: sha256Of(large) }).toEqual(sources);
  rmSync(dir, { recursive: true, force: true });
});

describe('several disks of one VM', () => {
  it('convert as one job with one result, progress weighted by virtual size', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const { output, rec } = await runConvert(
      convertSpec({
        disks: [
          { source: small, output: join(out, 'system.qcow2') },
          { source: large, output: join(out, 'data.qcow2') },
        ],
        verify: 'compare',
      }),
    );
    expect(output.artifacts.map((a) => a.path)).toEqual([join(out, 'system.qcow2'), join(out, 'data.qcow2')]);
    expect(output.bytes_processed).toBe(32 * MiB);
    const p = output.payload as ConvertPayload;
    expect(p.disks.map((d) => d.verification.ok)).toEqual([true, true]);
    // Disk 1 is a quarter of the virtual bytes; with verification, copy + verify of disk 1 end at 25%.
    const disk1 = rec.progress.filter((e) => e.message?.startsWith('disk 1 of 2'));
    const disk2 = rec.progress.filter((e) => e.message?.startsWith('disk 2 of 2'));
    expect(Math.max(...disk1.map((e) => e.percent))).toBeCloseTo(25, 5);
    expect(Math.min(...disk2.map((e) => e.percent))).toBeGreaterThanOrEqual(25);
    const copy1 = disk1.filter((e) => e.stage === 'copy');
    // Bytes count the work (each disk copied, then compared), so they agree with the percent.
    expect(copy1.at(-1)).toMatchObject({ percent: 12.5, bytes_done: 8 * MiB, bytes_total: 64 * MiB });
    for (const e of rec.progress) if (e.bytes_total) expect(Math.abs(e.percent - (100 * e.bytes_done!) / e.bytes_total)).toBeLessThanOrEqual(1);
    const percents = rec.progress.map((e) => e.percent);
    for (let i = 1; i < percents.length; i++) expect(percents[i]!).toBeGreaterThanOrEqual(percents[i - 1]!);
    expect((await compareImages(large, 'raw', join(out, 'data.qcow2'), 'qcow2')).exitCode).toBe(0);
  });

  it('a cancel during the second disk leaves neither disk', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const controller = new AbortController();
    const err = await runConvert(
      convertSpec({
        disks: [
          { source: small, output: join(out, 'system.qcow2') },
          { source: large, output: join(out, 'data.qcow2') },
        ],
        rate_limit_bps: 4 * MiB,
      }),
      {
        signal: controller.signal,
        onProgress: (e) => {
          if (e.stage === 'copy' && e.message?.startsWith('disk 2 of 2') && e.percent > 30) controller.abort(new WorkerError('cancelled'));
        },
      },
    ).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err as WorkerError).code).toBe('cancelled');
    expect(readdirSync(out)).toEqual([]);
  });
});

describe('vmdk split in 2 GiB extents', () => {
  const V = 4608 * MiB; // 4.5 GiB: three extents
  let sparse: string;
  beforeAll(() => {
    sparse = join(dir, 'big.img');
    // Data at the start, across the 2 GiB boundary, and at the very end.
    writeRegions(sparse, V, [
      { offset: 4097, data: Buffer.alloc(100_001, 0xa5) },
      { offset: 2 * 1024 * MiB - 3333, data: Buffer.alloc(7777, 0x5a) },
      { offset: V - 65_537, data: Buffer.alloc(65_536, 0x3c) },
    ]);
  });

  it.each(['twoGbMaxExtentSparse', 'twoGbMaxExtentFlat'] as const)('to %s: three extents, named for the final name, descriptor last', async (sub) => {
    const out = mkdtempSync(join(dir, 'o-'));
    const target = join(out, 'big disk.vmdk');
    const { output } = await runConvert(convertSpec({ disks: [{ source: sparse, output: target }], format: 'vmdk', vmdk_subformat: sub, verify: 'compare' }));
    const letter = sub === 'twoGbMaxExtentSparse' ? 's' : 'f';
    const extents = [1, 2, 3].map((n) => join(out, `big disk-${letter}00${n}.vmdk`));
    expect(output.artifacts.map((a) => [a.role, a.path])).toEqual([...extents.map((e) => ['extent', e]), ['descriptor', target]]);
    expect(readdirSync(out).sort()).toEqual(['big disk.vmdk', ...extents.map((e) => e.slice(out.length + 1))].sort());
    const descriptor = readFileSync(target, 'latin1');
    for (const e of extents) expect(descriptor).toContain(`"${e.slice(out.length + 1)}"`);
    expect(descriptor).not.toContain('h2k-partial');
    expect((await compareImages(sparse, 'raw', target, 'vmdk')).exitCode).toBe(0);

    // And back: a split vmdk as input.
    const back = join(out, 'back.qcow2');
    await runConvert(convertSpec({ disks: [{ source: target, output: back }] }));
    expect((await compareImages(sparse, 'raw', back, 'qcow2')).exitCode).toBe(0);
    const info = JSON.parse((await qemuImg('info', '--output=json', '-f', 'qcow2', back)).stdout) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(V);
  });
});
