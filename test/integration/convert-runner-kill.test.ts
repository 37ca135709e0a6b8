/**
 * A runner killed (SIGKILL) in the middle of a real qemu-img copy: its qemu-img survives in its
 * own process group with the partial output, until the next runner starts, kills it (the pid is
 * gone), removes the partial output and ends the job FAILED `interrupted`; with a retry policy
 * of two attempts the job goes RETRY_WAIT → QUEUED and completes. The runner that dies is the
 * real CLI (`h2k-worker run`, electron/cli/entry.ts under tsx) in a child process.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../electron/worker/worker';
import { pidAlive, REPO, waitFor } from '../support/helpers';
import { compareImages, MiB, openTestWorker, partialsIn, qemuImg, randomRegions, sha256Of, submitConvert, waitState, writeRegions } from './convert-helpers';

let dir: string;
let vmdk: string;
let vmdkHash: string;
let children: ResultPromise[] = [];
let workers: Worker[] = [];

const tsx = pathToFileURL(join(REPO, 'node_modules', 'tsx', 'dist', 'loader.mjs')).href;

/**
 * The real CLI runner over `dir`'s data folder, in a child process; resolves once it runs.
 * (Wrapped in an object: an async function returning the subprocess, itself a promise, would
 * resolve only when the process exits.)
 */
async function startCliRunner(): Promise<{ child: ResultPromise }> {
  const child = execa(process.execPath, ['--import', tsx, join(REPO, 'electron/cli/entry.ts'), '--data-dir', join(dir, 'data'), 'run'], {
    cwd: REPO,
    reject: false,
    buffer: false,
    env: { H2K_CACHE_DIR: join(dir, 'cache') },
  });
  children.push(child);
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  await waitFor(() => /runner \d+ \(pid \d+\)/.test(err), 'the CLI runner to start', 60_000);
  return { child };
}

/** The qemu-img convert of a job as the store recorded it, once it is copying. */
async function copyingTool(w: Worker, id: string): Promise<number> {
  return waitFor(
    () => {
      w.store.flush();
      const copying = w.store.eventsOf(id, 0, 5000).some((e) => e.type === 'progress' && e.stage === 'copy' && e.percent > 0);
      const p = w.store.openProcesses(id).find((x) => x.command === 'qemu-img' && x.args.includes('convert'));
      return copying && p ? p.pid : null;
    },
    'qemu-img copying',
    60_000,
  );
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-kill-'));
  const raw = join(dir, 'base.raw');
  writeRegions(raw, 16 * MiB, randomRegions(16 * MiB, 9, 4));
  vmdk = join(dir, 'source.vmdk');
  expect((await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', raw, vmdk)).exitCode).toBe(0);
  vmdkHash = sha256Of(vmdk);
});

afterEach(async () => {
  for (const w of workers) await w.close().catch(() => undefined);
  workers = [];
  for (const c of children) {
    if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    await c;
  }
  children = [];
  rmSync(join(dir, 'data'), { recursive: true, force: true });
});

afterAll(() => {
  expect(sha256Of(vmdk)).toBe(vmdkHash);
  rmSync(dir, { recursive: true, force: true });
});

describe('a runner killed mid-copy', () => {
  it('leaves qemu-img and the partial output to the next runner, which cleans up: FAILED interrupted', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const { child: runner } = await startCliRunner();
    const client = openTestWorker(dir, { runner: false });
    workers.push(client);
    const id = await submitConvert(client, { disks: [{ source: vmdk, output: join(out, 'disk.qcow2') }], rate_limit_bps: 256 * 1024 });
    const pid = await copyingTool(client, id);
    expect(partialsIn(out).length).toBe(1);

    runner.kill('SIGKILL');
    await runner;
    // The tool runs on in its own process group, its partial output beside it.
    expect(pidAlive(pid)).toBe(true);
    expect(partialsIn(out).length).toBe(1);
    expect(client.store.stateOf(id)).toBe('PROGRESSING');
    await client.close();

    // The next runner (a process of its own in real life: a fresh worker here) recovers: the
    // orphan is killed, the partial removed, the job ended.
    const next = openTestWorker(dir);
    workers.push(next);
    expect(await waitState(next, id)).toBe('FAILED');
    await waitFor(() => !pidAlive(pid), `pid ${pid} to be gone`, 10_000);
    expect(readdirSync(out)).toEqual([]);
    const s = next.store.summary(id);
    expect(s.error?.code).toBe('interrupted');
    expect(s.error?.detail).toMatch(/killed 1 orphaned tool\(s\), removed 1 partial output\(s\)/);
    expect(next.store.partialsOf(id)).toEqual([]);
  });

  it('with two attempts allowed: RETRY_WAIT, QUEUED, and the second attempt completes', async () => {
    const out = mkdtempSync(join(dir, 'o-'));
    const { child: runner } = await startCliRunner();
    const client = openTestWorker(dir, { runner: false });
    workers.push(client);
    const id = await submitConvert(
      client,
      { disks: [{ source: vmdk, output: join(out, 'disk.qcow2') }], rate_limit_bps: 1024 * 1024 },
      { retry: { max_attempts: 2, backoff: 'fixed', initial_delay_s: 0, max_delay_s: 0 } },
    );
    const pid = await copyingTool(client, id);
    runner.kill('SIGKILL');
    await runner;
    await client.close();
    const next = openTestWorker(dir);
    workers.push(next);
    expect(await waitState(next, id)).toBe('COMPLETED');
    expect(pidAlive(pid)).toBe(false);
    const path = next.store.transitionsOf(id).map((t) => t.to);
    const retry = path.indexOf('RETRY_WAIT');
    expect(retry).toBeGreaterThan(0);
    expect(path.slice(retry)).toEqual(['RETRY_WAIT', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'COMPLETED']);
    expect(next.store.getRow(id)?.attempt).toBe(2);
    expect(readdirSync(out)).toEqual(['disk.qcow2']);
    expect(existsSync(join(out, 'disk.qcow2'))).toBe(true);
    expect((await compareImages(vmdk, 'vmdk', join(out, 'disk.qcow2'), 'qcow2')).exitCode).toBe(0);
  });
});
