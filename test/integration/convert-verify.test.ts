/**
 * Verification and the audit trail, with real images: compare and checksum verification, the
 * guest sha256 checked against a hash computed here from the raw bytes, sha256 of the output
 * files, a mismatch failing the job with `verification_failed` (the output kept for analysis),
 * and a source written during the copy failing with `source_changed`.
 */
import { createHash } from 'node:crypto';
import { closeSync, copyFileSync, existsSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvertPayload } from '../../shared/protocol';
import { WorkerError } from '../../shared/errors';
import { compareImages, convertSpec, MiB, qemuImg, randomRegions, runConvert, sha256Of, writeRegions } from './convert-helpers';

let dir: string;
let base: string;
let vmdk: string;
const SIZE = 12 * MiB + 512;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-verify-'));
  base = join(dir, 'base.raw');
  writeRegions(base, SIZE, randomRegions(SIZE, 11));
  vmdk = join(dir, 'source disk.vmdk');
  expect((await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=streamOptimized', base, vmdk)).exitCode).toBe(0);
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

describe('verification', () => {
  it('compare: identical, recorded on the artifact and in the payload', async () => {
    const before = sha256Of(vmdk);
    const out = join(mkdtempSync(join(dir, 'o-')), 'disk.qcow2');
    const { output, rec } = await runConvert(convertSpec({ disks: [{ source: vmdk, output: out }], verify: 'compare' }));
    expect(output.artifacts[0]!.verification).toEqual({ method: 'compare', ok: true, detail: 'Images are identical.', guest_sha256: null });
    const p = output.payload as ConvertPayload;
    expect(p.disks[0]!.verification).toMatchObject({ method: 'compare', ok: true });
    expect(rec.progress.some((e) => e.stage === 'verify')).toBe(true);
    expect(sha256Of(vmdk)).toBe(before);
  });

  it('checksum: the guest sha256 of source and output equals the sha256 of the raw bytes', async () => {
    const expected = createHash('sha256').update(readFileSync(base)).digest('hex');
    const out = join(mkdtempSync(join(dir, 'o-')), 'disk.vhdx');
    const { output } = await runConvert(convertSpec({ disks: [{ source: vmdk, output: out }], format: 'vhdx', verify: 'checksum' }));
    const v = (output.payload as ConvertPayload).disks[0]!.verification;
    expect(v).toMatchObject({ method: 'checksum', ok: true, source_guest_sha256: expected, output_guest_sha256: expected });
    expect(output.artifacts[0]!.verification?.guest_sha256).toBe(expected);
  });

  it('checksum of an Azure-rounded vpc: same bytes over the source size, zeroes after', async () => {
    const expected = createHash('sha256').update(readFileSync(base)).digest('hex');
    const out = join(mkdtempSync(join(dir, 'o-')), 'azure.vhd');
    const { output } = await runConvert(convertSpec({ disks: [{ source: vmdk, output: out }], format: 'vpc', vpc_subformat: 'fixed', azure_round: true, verify: 'checksum' }));
    const a = output.artifacts[0]!;
    expect(a.virtual_size).toBe(13 * MiB);
    expect(a.verification).toMatchObject({ ok: true, guest_sha256: expected });
    expect(a.verification?.detail).toContain('read as zeroes');
    // A fixed VHD is its data plus a 512-byte footer: 13 MiB + 512.
    expect(a.size_bytes).toBe(13 * MiB + 512);
    const info = JSON.parse((await qemuImg('info', '--output=json', '-f', 'vpc', out)).stdout) as { 'virtual-size': number };
    expect(info['virtual-size']).toBe(13 * MiB);
  });

  it('sha256 of every output file, extents included', async () => {
    const outDir = mkdtempSync(join(dir, 'o-'));
    const out = join(outDir, 'split.vmdk');
    const { output } = await runConvert(convertSpec({ disks: [{ source: vmdk, output: out }], format: 'vmdk', vmdk_subformat: 'monolithicFlat', sha256: true }));
    expect(output.artifacts.map((a) => [a.role, a.path])).toEqual([
      ['extent', join(outDir, 'split-flat.vmdk')],
      ['descriptor', out],
    ]);
    for (const a of output.artifacts) expect(a.sha256, a.path).toBe(sha256Of(a.path));
    // The descriptor names the extent by its final name.
    expect(readFileSync(out, 'latin1')).toContain('RW 24577 FLAT "split-flat.vmdk" 0');
  });

  it('a mismatch fails with verification_failed and keeps the output under its final name', async () => {
    // A tool that rewrites a disk and restores its mtime (touch -r) fools the size/mtime audit;
    // verification still catches it.
    const src = join(dir, 'changing.img');
    const ref = join(dir, 'changing.ref');
    copyFileSync(base, src);
    execaSync('touch', ['-r', src, ref]);
    const outDir = mkdtempSync(join(dir, 'o-'));
    const out = join(outDir, 'disk.qcow2');
    let changed = false;
    const err = await runConvert(convertSpec({ disks: [{ source: src, output: out }], verify: 'compare' }), {
      onProgress: (p) => {
        if (p.stage === 'verify' && !changed) {
          changed = true;
          const fd = openSync(src, 'r+');
          writeSync(fd, Buffer.from('changed after the copy'), 0, 22, 4097);
          closeSync(fd);
          execaSync('touch', ['-r', ref, src]);
        }
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(changed).toBe(true);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).code).toBe('verification_failed');
    expect((err as WorkerError).info.detail).toContain('Content mismatch at offset 4096');
    expect(readdirSync(outDir)).toEqual(['disk.qcow2']);
    expect((await compareImages(base, 'raw', out, 'qcow2')).exitCode).toBe(0);
  });

  it('a source written during the copy fails with source_changed and leaves nothing', async () => {
    const src = join(dir, 'written.img');
    copyFileSync(base, src);
    const outDir = mkdtempSync(join(dir, 'o-'));
    let written = false;
    const err = await runConvert(convertSpec({ disks: [{ source: src, output: join(outDir, 'disk.qcow2') }], rate_limit_bps: 2 * MiB }), {
      onProgress: (p) => {
        if (p.stage === 'copy' && p.percent > 0 && !written) {
          written = true;
          const fd = openSync(src, 'r+');
          writeSync(fd, Buffer.from('a VM still running'), 0, 18, SIZE - 4096);
          closeSync(fd);
        }
      },
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(written).toBe(true);
    expect((err as WorkerError).code).toBe('source_changed');
    expect(readdirSync(outDir)).toEqual([]);
    expect(existsSync(src)).toBe(true);
  });
});
