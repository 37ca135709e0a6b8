/**
 * Out of space, on a real filesystem of a known size (a tmpfs mounted for this file; the tests
 * run as root): refused at pre-flight with both numbers when the output cannot fit, and, when
 * the space goes while copying (filled by another writer after pre-flight passed), the job ends
 * FAILED with `no_space` and no partial file. A read-only destination is said to be one.
 */
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statfsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../electron/worker/worker';
import { destinationFolder } from '../../electron/engine/ops/convert/preflight';
import { WorkerError } from '../../shared/errors';
import { waitFor } from '../support/helpers';
import { MiB, openTestWorker, qemuImg, sha256Of, submitConvert, waitState, writeRegions } from './convert-helpers';

let dir: string;
let mnt: string;
let mounted = false;
let worker: Worker;
let big: string;
let medium: string;
const hashes: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-nospace-'));
  mnt = mkdtempSync(join(tmpdir(), 'h2k-convert-tmpfs-'));
  const m = await execa('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', mnt], { reject: false });
  if (m.exitCode !== 0) throw new Error(`mounting a tmpfs needs root: ${String(m.stderr)}`);
  mounted = true;
  // 64 MiB disks: one with about 40 MiB of data (cannot fit), one with about 12 MiB (fits).
  // Runs of 1 MiB of random bytes, at odd offsets, one every 1.5 MiB.
  const runs = (n: number) => Array.from({ length: n }, (_, i) => ({ offset: i * 1536 * 1024 + 4097, data: randomBytes(MiB) }));
  big = join(dir, 'big.img');
  writeRegions(big, 64 * MiB, runs(40));
  medium = join(dir, 'medium.img');
  writeRegions(medium, 64 * MiB, runs(12));
  for (const p of [big, medium]) hashes[p] = sha256Of(p);
  worker = openTestWorker(dir);
});

afterAll(async () => {
  await worker?.close();
  if (mounted) await execa('umount', [mnt], { reject: false });
  rmSync(mnt, { recursive: true, force: true });
  for (const [p, h] of Object.entries(hashes)) expect(sha256Of(p), p).toBe(h);
  rmSync(dir, { recursive: true, force: true });
});

describe('out of space', () => {
  it('refused at pre-flight, with what is needed and what is free', async () => {
    const id = await submitConvert(worker, { disks: [{ source: big, output: join(mnt, 'big.qcow2') }] });
    expect(await waitState(worker, id)).toBe('FAILED');
    const err = worker.store.summary(id).error!;
    expect(err.code).toBe('no_space');
    expect(err.detail).toMatch(/needs about [\d.]+ MiB \(\d+ bytes, from qemu-img measure\) in .+, which has [\d.]+ MiB \(\d+ bytes\) free/);
    const [need, free] = [...err.detail!.matchAll(/\((\d+) bytes/g)].map((x) => Number(x[1]));
    expect(need).toBeGreaterThan(free!);
    expect(readdirSync(mnt)).toEqual([]);
    // Nothing ran beyond the probes: no copy was started.
    expect(worker.store.eventsOf(id, 0, 1000).some((e) => e.type === 'progress' && e.stage === 'copy')).toBe(false);
  });

  it('space gone in the middle of the copy: FAILED no_space, no partial file', async () => {
    const out = join(mnt, 'medium.qcow2');
    const need = JSON.parse((await qemuImg('measure', '--output=json', '-f', 'raw', '-O', 'qcow2', medium)).stdout) as { required: number };
    const free0 = statfsSync(mnt).bavail * statfsSync(mnt).bsize;
    expect(need.required).toBeLessThan(free0);
    const id = await submitConvert(worker, { disks: [{ source: medium, output: out }], rate_limit_bps: 4 * MiB });
    // After pre-flight passed and the copy started, another writer takes the space.
    await waitFor(() => {
      worker.store.flush();
      return worker.store.eventsOf(id, 0, 1000).some((e) => e.type === 'progress' && e.stage === 'copy' && e.percent > 0);
    }, 'the copy to start');
    // The copy keeps writing between statfs and fallocate (qemu-img's first requests go through
    // at once): when the filler no longer fits, measure again and retry.
    let f: { exitCode?: number; stderr: unknown } = { exitCode: 1, stderr: '' };
    for (let attempt = 0; attempt < 10 && f.exitCode !== 0; attempt++) {
      const s = statfsSync(mnt);
      const fill = s.bavail * s.bsize - 256 * 1024;
      if (fill <= 0) break;
      f = await execa('fallocate', ['-l', String(fill), join(mnt, 'filler')], { reject: false });
    }
    expect(f.exitCode, String(f.stderr)).toBe(0);
    expect(await waitState(worker, id)).toBe('FAILED');
    const err = worker.store.summary(id).error!;
    expect(err.code).toBe('no_space');
    expect(err.detail).toContain('No space left on device');
    expect(readdirSync(mnt)).toEqual(['filler']);
    expect(worker.store.partialsOf(id)).toEqual([]);
    rmSync(join(mnt, 'filler'));
  });
});

describe('a read-only destination', () => {
  it('is said to be read-only, not a permission problem', async () => {
    const ro = mkdtempSync(join(tmpdir(), 'h2k-convert-ro-'));
    const m = await execa('mount', ['-t', 'tmpfs', '-o', 'ro,size=1m', 'tmpfs', ro], { reject: false });
    if (m.exitCode !== 0) throw new Error(`mounting a tmpfs needs root: ${String(m.stderr)}`);
    try {
      const err = (await destinationFolder(ro).catch((e: unknown) => e)) as WorkerError;
      expect(err).toBeInstanceOf(WorkerError);
      expect(err.code).toBe('dest_not_writable');
      expect(err.info.message).toBe(`The destination folder ${ro} is on a read-only filesystem.`);
      expect(err.info.hint).toBe('Pick a folder on a writable filesystem, or remount this one read-write.');
    } finally {
      await execa('umount', [ro], { reject: false });
      rmSync(ro, { recursive: true, force: true });
    }
  });
});
