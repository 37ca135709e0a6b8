/**
 * `h2k-worker serve` as a process: it prints the URL with the token, refuses a non-loopback
 * host, becomes the data folder's runner (or attaches to the one running), and on SIGTERM stops
 * cleanly: a real conversion (qemu-img, rate-limited) is interrupted and leaves no file behind.
 */
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobDetail, JobSummary } from '../../shared/protocol';
import { fixtures } from '../support/fixtures';
import { REPO, tempDir, waitFor } from '../support/helpers';

const ENTRY = join(REPO, 'electron/cli/entry.ts');

interface Served {
  child: ResultPromise;
  url: string;
  origin: string;
  token: string;
  stderr: () => string;
}

/** Start `h2k-worker serve` from source (tsx), resolving once it printed its URL. */
async function serve(dataDir: string, args: string[] = []): Promise<Served> {
  const child = execa(process.execPath, ['--import', 'tsx', ENTRY, '--data-dir', dataDir, 'serve', '--port', '0', ...args], { cwd: REPO, reject: false, buffer: false });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=([A-Za-z0-9_-]{43})/.exec(out);
      if (m) resolve(m[0]);
    });
    void child.then((r) => reject(new Error(`serve exited (${r.exitCode}) before printing its URL: ${err}`)));
  });
  const m = /(http:\/\/127\.0\.0\.1:\d+)\/\?token=(.+)$/.exec(url)!;
  return { child, url, origin: m[1]!, token: m[2]!, stderr: () => err };
}

async function call<T>(s: Served, method: string, body: unknown): Promise<T> {
  const res = await fetch(`${s.origin}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const env = (await res.json()) as { ok: boolean; value: T; error?: unknown };
  if (!env.ok) throw new Error(JSON.stringify(env.error));
  return env.value;
}

let dir: ReturnType<typeof tempDir>;
beforeAll(() => {
  dir = tempDir('h2k-serve-');
});
afterAll(() => dir.cleanup());

describe('h2k-worker serve', () => {
  it('refuses to listen beyond loopback', async () => {
    const r = await execa(process.execPath, ['--import', 'tsx', ENTRY, '--data-dir', join(dir.path, 'refused'), 'serve', '--host', '0.0.0.0'], { cwd: REPO, reject: false });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('The server listens on this machine only (a loopback address). [host_not_loopback]');
    expect(r.stderr).toContain('--host 0.0.0.0 is not a loopback address');
    expect(r.stdout).toBe('');
  });

  it('runs the folder\'s jobs, lets a second server attach, and stops cleanly on SIGTERM, leaving no partial output', async () => {
    const dataDir = join(dir.path, 'data');
    const out = join(dir.path, 'out');
    mkdirSync(out);
    const first = await serve(dataDir, ['--root', dir.path]);
    expect(first.stderr()).toMatch(/runner \d+ \(pid \d+\) executes this folder's jobs/);
    const second = await serve(dataDir, ['--root', dir.path]);
    try {
      expect(second.stderr()).toContain('attached: another process runs the jobs');
      expect(second.token).not.toBe(first.token);
      // Submitted through the attached server, run by the first one.
      const job = await call<JobSummary>(second, 'jobs.submit', {
        spec: {
          operation: 'convert',
          params: { disks: [{ source: fixtures['pattern-vmdk-monolithicSparse'], output: join(out, 'pattern.qcow2') }], rate_limit_bps: 1024 * 1024 },
        },
      });
      await waitFor(async () => (await call<JobDetail>(second, 'jobs.get', { id: job.id })).summary.state === 'PROGRESSING', 'conversion progressing', 60_000, 200);
      const info = await call<{ runner: { pid: number } }>(second, 'worker.info', {});
      expect(info.runner.pid).toBe(first.child.pid);
    } finally {
      second.child.kill('SIGTERM');
      await second.child;
    }
    first.child.kill('SIGTERM');
    const r = await first.child;
    expect(r.exitCode).toBe(0);
    expect(first.stderr()).toContain('SIGTERM: stopping; running jobs are interrupted and cleaned up');
    expect(first.stderr()).toContain('h2k-worker serve: stopped');
    expect(readdirSync(out)).toEqual([]);

    // The history says what happened, read by a fresh server on the same folder.
    const third = await serve(dataDir, ['--root', dir.path]);
    try {
      const list = await call<{ jobs: JobSummary[] }>(third, 'jobs.list', {});
      expect(list.jobs).toHaveLength(1);
      expect(list.jobs[0]).toMatchObject({ state: 'FAILED', error: { code: 'interrupted' } });
      const d = await call<JobDetail>(third, 'jobs.get', { id: list.jobs[0]!.id });
      expect(d.transitions.at(-1)?.reason).toContain('interrupted');
    } finally {
      third.child.kill('SIGINT');
      expect((await third.child).exitCode).toBe(0);
    }
    expect(existsSync(join(out, 'pattern.qcow2'))).toBe(false);
  });
});
