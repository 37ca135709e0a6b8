/**
 * A convert job's life through the real worker (service, store, runner) and the real CLI
 * (electron/cli/entry.ts run with tsx, as `h2k-worker` runs it): live progress of a throttled
 * copy as the store records it, cancel (through the service, and Ctrl-C on the CLI) leaving no
 * file and no qemu-img, and a technician's conversion of a file named with spaces and a leading
 * dash, verified by checksum, with its exit codes.
 */
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvertPayload, ProgressEvent, StateEvent } from '../../shared/protocol';
import type { Worker } from '../../electron/worker/worker';
import { pidAlive, REPO, waitFor } from '../support/helpers';
import { compareImages, MiB, openTestWorker, partialsIn, qemuImg, randomRegions, sha256Of, submitConvert, waitState, writeRegions } from './convert-helpers';

let dir: string;
let vmdk: string;
let vmdkHash: string;
let worker: Worker;
const SIZE = 24 * MiB;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-life-'));
  const raw = join(dir, 'base.raw');
  writeRegions(raw, SIZE, randomRegions(SIZE, 3, 12));
  vmdk = join(dir, 'source.vmdk');
  expect((await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', raw, vmdk)).exitCode).toBe(0);
  vmdkHash = sha256Of(vmdk);
  worker = openTestWorker(dir);
});

afterAll(async () => {
  await worker?.close();
  expect(sha256Of(vmdk)).toBe(vmdkHash);
  rmSync(dir, { recursive: true, force: true });
});

function events(id: string) {
  worker.store.flush();
  return worker.store.eventsOf(id, 0, 5000);
}

describe('through the worker', () => {
  it('a throttled copy reports rising progress with rate and ETA, the first event within 1 s', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const id = await submitConvert(worker, { disks: [{ source: vmdk, output: join(out, 'disk.qcow2') }], rate_limit_bps: 2 * MiB });
    expect(await waitState(worker, id)).toBe('COMPLETED');
    const evs = events(id);
    const states = evs.filter((e): e is StateEvent => e.type === 'state');
    const progress = evs.filter((e): e is ProgressEvent => e.type === 'progress');
    const running = states.find((s) => s.to === 'RUNNING')!;
    expect(Date.parse(progress[0]!.at) - Date.parse(running.at)).toBeLessThan(1000);
    const percents = progress.map((p) => p.percent);
    for (let i = 1; i < percents.length; i++) expect(percents[i]!).toBeGreaterThanOrEqual(percents[i - 1]!);
    const middle = [...new Set(progress.filter((p) => p.stage === 'copy' && p.percent > 0 && p.percent < 100).map((p) => p.percent))];
    expect(middle.length).toBeGreaterThanOrEqual(3);
    const withRate = progress.filter((p) => p.stage === 'copy' && p.rate_bps !== null && p.rate_bps > 0 && p.eta_s !== null);
    expect(withRate.length).toBeGreaterThanOrEqual(2);
    for (const p of progress.filter((x) => x.stage === 'copy')) {
      expect(p.bytes_total).toBe(SIZE);
      expect(p.allocated_bytes).toBeGreaterThan(0);
    }
    expect(progress.at(-1)!.percent).toBe(100);
    // At most ~10 events a second reach the store (and so the UIs).
    const span = (Date.parse(progress.at(-1)!.at) - Date.parse(progress[0]!.at)) / 1000;
    expect(progress.length).toBeLessThanOrEqual(Math.ceil(span * 10) + 3);
    const result = worker.store.result(id)!;
    expect(result.artifacts[0]!.path).toBe(join(out, 'disk.qcow2'));
    expect((result.payload as ConvertPayload).disks[0]!.source_untouched).toBe(true);
    expect(result.metrics.bytes_processed).toBe(SIZE);
    expect((await compareImages(vmdk, 'vmdk', join(out, 'disk.qcow2'), 'qcow2')).exitCode).toBe(0);
  });

  it('cancel midway: CANCELLED, qemu-img gone, no file left', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const id = await submitConvert(worker, { disks: [{ source: vmdk, output: join(out, 'disk.qcow2') }], rate_limit_bps: 1 * MiB });
    const pid = await waitFor(() => {
      const copying = events(id).some((e) => e.type === 'progress' && e.stage === 'copy' && e.percent > 0);
      const p = worker.store.openProcesses(id).find((x) => x.command === 'qemu-img' && x.args.includes('convert'));
      return copying && p ? p.pid : null;
    }, 'qemu-img copying');
    expect(partialsIn(out).length).toBe(1);
    await worker.service['jobs.cancel']({ id });
    expect(await waitState(worker, id)).toBe('CANCELLED');
    expect(pidAlive(pid)).toBe(false);
    expect(readdirSync(out)).toEqual([]);
    expect(worker.store.partialsOf(id)).toEqual([]);
    expect(worker.store.summary(id).error?.code).toBe('cancelled');
  });
});

describe('timeout', () => {
  it('a copy running past timeout_s is stopped: FAILED timeout, no file left', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const id = await submitConvert(worker, { disks: [{ source: vmdk, output: join(out, 'disk.qcow2') }], rate_limit_bps: 512 * 1024 }, { timeout_s: 2 });
    expect(await waitState(worker, id)).toBe('FAILED');
    expect(worker.store.summary(id).error?.code).toBe('timeout');
    expect(readdirSync(out)).toEqual([]);
    for (const p of worker.store.openProcesses(id)) expect(pidAlive(p.pid)).toBe(false);
  });
});

describe('through the CLI', () => {
  // `--import tsx` would resolve tsx from the working folder: give the loader's own path.
  const tsx = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;
  const cli = (args: string[], cwd: string) =>
    execa(process.execPath, ['--import', tsx, join(REPO, 'electron/cli/entry.ts'), '--data-dir', join(cwd, 'cli-data'), ...args], { cwd, reject: false, env: { NO_COLOR: '1' } });

  it('converts a file named "-x y.vmdk" into a folder, verified by checksum, exit 0', async () => {
    const work = mkdtempSync(join(dir, 'cli-'));
    copyFileSync(vmdk, join(work, '-my disk.vmdk'));
    mkdirSync(join(work, 'out'));
    const r = await cli(['convert', '--verify', 'checksum', '--sha256', '--', '-my disk.vmdk', 'out'], work);
    expect(r.exitCode, String(r.stderr)).toBe(0);
    const out = join(work, 'out', '-my disk.qcow2');
    expect(existsSync(out)).toBe(true);
    expect(String(r.stdout)).toContain('verified by checksum: identical');
    expect(String(r.stdout)).toContain(`→ ${out}`);
    expect(String(r.stdout)).toContain(`sha256 ${sha256Of(out)}`);
    // Progress lines on stderr (not a terminal: one line per stored event).
    // Bytes count the job's work (copy, checksum, half for hashing: 2.5 × 24 MiB); the message has the disk's own.
    expect(String(r.stderr)).toMatch(/copy +\d+(\.\d)?% +[\d.]+ \w?i?B of 60\.0 MiB .*\(copy [\d.]+ \w?i?B of 24\.0 MiB\)/);
    expect((await compareImages(join(work, '-my disk.vmdk'), 'vmdk', out, 'qcow2')).exitCode).toBe(0);
    // Relative paths became absolute in the spec (the summary prints the stored source).
    expect(String(r.stdout)).toContain(`  ${join(work, '-my disk.vmdk')}  (vmdk monolithicSparse, 24.0 MiB)`);
  });

  it('Ctrl-C cancels the job and waits for its clean-up: exit 3, nothing left', async () => {
    const work = mkdtempSync(join(dir, 'cli-'));
    mkdirSync(join(work, 'out'));
    const child = cli(['convert', '--rate-limit', '1M', vmdk, 'out/disk.qcow2'], work);
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => /copy +[1-9]/.test(err), 'copy progress on the CLI', 60_000);
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, err).toBe(3);
    expect(err).toContain('CANCELLED');
    expect(readdirSync(join(work, 'out'))).toEqual([]);
  });

  it('exit codes: 2 for bad usage, 1 for a job that failed', async () => {
    const work = mkdtempSync(join(dir, 'cli-'));
    expect((await cli(['convert', 'only-one-path.vmdk'], work)).exitCode).toBe(2);
    const r = await cli(['convert', 'missing.vmdk', 'x.qcow2'], work);
    expect(r.exitCode).toBe(1);
    expect(String(r.stdout)).toContain('[source_missing]');
  });
});
