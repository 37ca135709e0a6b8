/**
 * The format matrix: every input format and subformat converts to every output format and
 * subformat, and `qemu-img compare` (run by the test, not trusted from the operation) finds
 * the output identical to the source and to the raw bytes the disk was built from. Real
 * qemu-img, real files; the operation runs with a test context (convert-helpers.ts).
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvertPayload } from '../../shared/protocol';
import { buildInputs, compareImages, convertSpec, hashFolder, MiB, nonZeroBytes, qemuImg, runConvert, type TestInput } from './convert-helpers';

/** 16 MiB and 3.5 KiB: a whole number of sectors but not of MiB, so Azure rounding rounds. */
const SIZE = 16 * MiB + 3584;

const OUTPUTS = [
  { name: 'qcow2', params: { format: 'qcow2' as const }, ext: 'qcow2' },
  { name: 'qcow2-zstd', params: { format: 'qcow2' as const, qcow2: { compression: 'zstd' as const } }, ext: 'qcow2' },
  { name: 'raw', params: { format: 'raw' as const }, ext: 'img' },
  ...(['monolithicSparse', 'streamOptimized', 'twoGbMaxExtentSparse', 'monolithicFlat', 'twoGbMaxExtentFlat'] as const).map((s) => ({
    name: `vmdk-${s}`,
    params: { format: 'vmdk' as const, vmdk_subformat: s },
    ext: 'vmdk',
  })),
  { name: 'vhdx', params: { format: 'vhdx' as const }, ext: 'vhdx' },
  { name: 'vpc-fixed-azure', params: { format: 'vpc' as const, vpc_subformat: 'fixed' as const, azure_round: true }, ext: 'vhd' },
  { name: 'vdi', params: { format: 'vdi' as const }, ext: 'vdi' },
];

let dir: string;
let inputs: TestInput[] = [];
let before: Record<string, string>;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-matrix-'));
  inputs = await buildInputs(join(dir), SIZE, 20261129);
  before = hashFolder(dir);
  // The disks hold data: random bytes at unaligned offsets between holes, and every input reads
  // as the raw bytes it was built from.
  for (const i of inputs) {
    expect(nonZeroBytes(i.expect), i.name).toBeGreaterThan(1024 * 1024);
    const c = await compareImages(i.expect, 'raw', i.path, i.format);
    expect(c, `${i.name}: ${c.text}`).toMatchObject({ exitCode: 0 });
  }
});

afterAll(() => {
  if (dir) {
    // Sources byte-identical after every conversion.
    expect(hashFolder(dir)).toEqual(before);
    rmSync(dir, { recursive: true, force: true });
  }
});

const INPUT_NAMES = ['raw', 'qcow2', 'qcow2-backing-chain', 'vmdk-monolithicSparse', 'vmdk-streamOptimized', 'vmdk-twoGbMaxExtentSparse', 'vmdk-monolithicFlat', 'vmdk-twoGbMaxExtentFlat', 'vpc-fixed', 'vpc-dynamic', 'vhdx', 'vdi'];

describe.concurrent.each(INPUT_NAMES)('from %s', (inputName) => {
  it.each(OUTPUTS)('to $name', async (out) => {
    const input = inputs.find((i) => i.name === inputName)!;
    const outDir = mkdtempSync(join(dir, `out-${inputName}-${out.name}-`));
    try {
      const output = join(outDir, `converted disk.${out.ext}`);
      const { output: result, rec } = await runConvert(convertSpec({ disks: [{ source: input.path, output }], ...out.params }));
      const payload = result.payload as ConvertPayload;
      const expectedSize = out.name === 'vpc-fixed-azure' ? 17 * MiB : SIZE;

      // Artifacts: the disk (or descriptor) last, with format and the real sizes.
      const main = result.artifacts.at(-1)!;
      expect(main.path).toBe(output);
      expect(main.format).toBe(out.params.format);
      expect(main.virtual_size).toBe(expectedSize);
      expect(main.size_bytes).toBeGreaterThan(0);
      const multi = out.name === 'vmdk-twoGbMaxExtentSparse' || out.name === 'vmdk-monolithicFlat' || out.name === 'vmdk-twoGbMaxExtentFlat';
      expect(main.role).toBe(multi ? 'descriptor' : 'disk');
      if (multi) {
        const extents = result.artifacts.filter((a) => a.role === 'extent').map((a) => a.path);
        const suffix = out.name === 'vmdk-monolithicFlat' ? '-flat.vmdk' : out.name.endsWith('Sparse') ? '-s001.vmdk' : '-f001.vmdk';
        expect(extents).toEqual([join(outDir, `converted disk${suffix}`)]);
      }
      // Exactly the published files are left: no temporary name, no extra file.
      expect(readdirSync(outDir).sort()).toEqual(result.artifacts.map((a) => a.path.slice(outDir.length + 1)).sort());
      expect(rec.partials.size).toBe(0);

      // Independent checks: qemu-img compare against the source (which reads as the non-zero raw
      // bytes it was built from, checked above), and the virtual size qemu-img info reads (compare
      // alone would accept a larger output whose extra part is zero).
      const c = await compareImages(input.path, input.format, output, out.params.format);
      expect(c, c.text).toMatchObject({ exitCode: 0 });
      const info = JSON.parse((await qemuImg('info', '--output=json', '-f', out.params.format, output)).stdout) as { 'virtual-size': number };
      expect(info['virtual-size']).toBe(expectedSize);

      if (out.name === 'qcow2-zstd') {
        const info = JSON.parse((await qemuImg('info', '--output=json', '-f', 'qcow2', output)).stdout) as { 'format-specific': { data: { 'compression-type': string; compat: string } } };
        expect(info['format-specific'].data).toMatchObject({ 'compression-type': 'zstd', compat: '1.1' });
      }
      expect(payload.disks[0]!.source_untouched).toBe(true);
      expect(payload.disks[0]!.backing_chain.length).toBe(inputName === 'qcow2-backing-chain' ? 1 : 0);
    } finally {
      rmSync(outDir, { recursive: true, force: true });
    }
  });
});
