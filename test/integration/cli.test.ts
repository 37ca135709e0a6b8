// The h2k-worker CLI as a technician runs it: the built binary, real processes, a real data
// folder. Each command is a new process, so everything shown here survived a restart.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { execa } from 'execa';
import { REPO, tempDir, waitFor } from '../support/helpers';

let data: ReturnType<typeof tempDir>;
const BIN = join(REPO, 'bin/h2k-worker.js');

function cli(args: string[], opts: { input?: string; env?: Record<string, string> } = {}) {
  return execa(process.execPath, [BIN, ...args], {
    reject: false,
    env: { H2K_DATA_DIR: data.path, ...opts.env },
    ...(opts.input !== undefined ? { input: opts.input } : {}),
  });
}

beforeAll(() => {
  data = tempDir('h2k-cli-');
});
afterAll(() => data.cleanup());

describe('h2k-worker', () => {
  it('prints help and its version', async () => {
    const help = await cli(['--help']);
    expect(help.exitCode).toBe(0);
    for (const c of ['capabilities', 'submit', 'status', 'list', 'cancel', 'run', 'schema']) expect(help.stdout).toContain(c);
    const v = await cli(['--version']);
    expect(v.stdout.trim()).toBe(JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')).version);
  });

  it('lists and prints the protocol schemas, identical to docs/protocol', async () => {
    const names = await cli(['schema']);
    expect(names.stdout.split('\n')).toContain('JobSpec');
    const s = await cli(['schema', 'JobSpec']);
    expect(JSON.parse(s.stdout)).toEqual(JSON.parse(readFileSync(join(REPO, 'docs/protocol/JobSpec.json'), 'utf8')));
    const bad = await cli(['schema', 'Nope']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain('no schema named Nope');
  });

  it('refuses an invalid spec with the field path and exit code 2, and records it in history', async () => {
    const r = await cli(['submit', '-'], { input: JSON.stringify({ operation: 'convert', params: { disks: [{ source: 'rel.vmdk', output: '/o.qcow2' }] } }) });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('The job spec is not valid. [validation_failed]');
    expect(r.stderr).toContain('params.disks.0.source: an absolute path (starting with "/") is expected');
    const list = JSON.parse((await cli(['list', '--state', 'FAILED', '--json'])).stdout) as { jobs: { title: string; error: { code: string } }[] };
    expect(list.jobs.map((j) => j.error.code)).toContain('validation_failed');
  });

  it('refuses a file that is not JSON', async () => {
    const f = join(data.path, 'not.json');
    writeFileSync(f, 'operation: convert');
    const r = await cli(['submit', f]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not JSON/);
  });

  it('fails an operation that does not exist yet, visibly, with not_implemented (exit 1)', async () => {
    const r = await cli(['submit', '-', '--json'], { input: JSON.stringify({ operation: 'boot_repair', params: { disks: ['/x.qcow2'], fixes: ['grub_root_by_uuid'] } }) });
    expect(r.exitCode).toBe(1);
    const job = JSON.parse(r.stdout) as { id: string; state: string; error: { code: string } };
    expect(job.state).toBe('FAILED');
    expect(job.error.code).toBe('not_implemented');
  });

  it('shows a job\'s full history with time per state, across processes, and cancels it', async () => {
    const spec = { operation: 'inspect', id: 'cli-history-1', labels: { ticket: 'T-1' }, params: { disks: ['/srv/none.vmdk'] } };
    const sub = await cli(['submit', '-', '--json'], { input: JSON.stringify(spec) });
    const job = JSON.parse(sub.stdout) as { id: string; state: string };
    expect(job.id).toBe('cli-history-1');
    expect(['QUEUED', 'FAILED']).toContain(job.state);
    if (job.state === 'QUEUED') {
      // Nothing runs it: the technician is told how to get a runner.
      expect(sub.stderr).toContain(`note: no runner is running for ${data.path}, so job cli-history-1 waits in QUEUED until one starts: \`h2k-worker run\``);
      const c = await cli(['cancel', job.id]);
      expect(c.exitCode).toBe(0);
      expect(c.stdout).toContain('cli-history-1  CANCELLED');
    }
    const st = await cli(['status', job.id]);
    expect(st.exitCode).toBe(0);
    expect(st.stdout).toMatch(/^Job cli-history-1 {2}inspect {2}(CANCELLED|FAILED)/);
    expect(st.stdout).toContain('History');
    expect(st.stdout).toMatch(/CREATED +\d{4}-\d\d-\d\d \d\d:\d\d:\d\dZ +\d+\.\d s +submitted/);
    expect(st.stdout).toContain('time per state: CREATED');
    const js = JSON.parse((await cli(['status', job.id, '--json'])).stdout) as { transitions: { to: string }[]; spans: unknown[]; summary: { labels: Record<string, string> } };
    expect(js.transitions[0]!.to).toBe('CREATED');
    expect(js.spans).toHaveLength(js.transitions.length);
    expect(js.summary.labels).toEqual({ ticket: 'T-1' });
    const again = await cli(['cancel', job.id]);
    expect(again.exitCode).toBe(2);
    expect(again.stderr).toContain('[already_terminal]');
  });

  it('convert --detach with no runner: says the job waits and how to start a runner; list says so for a waiting retry', async () => {
    const disk = join(data.path, 'detach-src.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const r = await cli(['convert', disk, join(data.path, 'detach-out.raw'), '--detach', '--id', 'cli-detach-1']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout.trim()).toBe('cli-detach-1  QUEUED');
    expect(r.stderr).toContain('note: no runner is running for');
    expect(r.stderr).toContain('(or convert without --detach to run it here)');
    const l = await cli(['list']);
    expect(l.stderr).toContain('note: 1 job(s) wait for a runner, and none is running for');
    expect((await cli(['cancel', 'cli-detach-1'])).exitCode).toBe(0);
    expect((await cli(['list'])).stderr).not.toContain('wait for a runner');
  });

  it('with --json, stdout is one JSON document and the job progress still shows on stderr', async () => {
    const disk = join(data.path, 'json-src.qcow2');
    await execa('qemu-img', ['create', '-q', '-f', 'qcow2', disk, '16M']);
    const r = await cli(['convert', disk, join(data.path, 'json-out.raw'), '--json']);
    expect(r.exitCode).toBe(0);
    expect((JSON.parse(r.stdout) as { summary: { state: string } }).summary.state).toBe('COMPLETED');
    expect(r.stderr).toMatch(/PROGRESSING → COMPLETED/);
    expect(r.stderr).toMatch(/copy +100%/);
  });

  it('a foreground convert killed with SIGTERM (or its terminal closing) stops its qemu-img and leaves nothing', async () => {
    const src = join(data.path, 'term-src.raw');
    writeFileSync(src, randomBytes(16 * 1024 * 1024));
    const outDir = join(data.path, 'term-out');
    mkdirSync(outDir);
    const child = execa(process.execPath, [BIN, 'convert', src, join(outDir, 'x.qcow2'), '--rate-limit', '1M', '--id', 'cli-term-1'], { reject: false, env: { H2K_DATA_DIR: data.path } });
    let err = '';
    child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => readdirSync(outDir).some((n) => n.includes('h2k-partial')), 'the partial output', 30_000);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    expect(err).toContain('SIGTERM: stopping job cli-term-1 and cleaning up');
    expect(readdirSync(outDir)).toEqual([]);
    expect((await execa('pgrep', ['-f', outDir], { reject: false })).exitCode).toBe(1);
    const st = JSON.parse((await cli(['status', 'cli-term-1', '--json'])).stdout) as { summary: { state: string; error?: { code: string } } };
    expect(st.summary.state).toBe('FAILED');
    expect(st.summary.error?.code).toBe('interrupted');
  });

  it('answers an unknown job with exit code 5', async () => {
    const r = await cli(['status', 'no-such-job']);
    expect(r.exitCode).toBe(5);
    expect(r.stderr).toContain('No job with this id. [not_found]');
  });

  it('answers a data folder that cannot be created with folder_unusable at once (Node\'s recursive mkdir spins on /proc)', async () => {
    for (const bad of ['/proc/h2k-nope', '/etc/passwd/h2k']) {
      const r = await cli(['list'], { env: { H2K_DATA_DIR: bad } });
      expect(r.exitCode).toBe(2);
      expect(r.stderr).toContain('A folder the worker needs cannot be created or used. [folder_unusable]');
    }
  });

  it('rejects bad usage with exit code 2', async () => {
    expect((await cli(['list', '--state', 'DONE'])).exitCode).toBe(2);
    expect((await cli(['frobnicate'])).exitCode).toBe(2);
  });

  it('runs as the data folder\'s runner until SIGTERM, then stops cleanly; a second runner is refused with exit 4', async () => {
    const run = execa(process.execPath, [BIN, 'run', '--data-dir', data.path], { reject: false, forceKillAfterDelay: false });
    let err = '';
    run.stderr?.on('data', (d: Buffer) => (err += d.toString()));
    await waitFor(() => err.includes('executing jobs of'), 'the runner to start', 60_000);
    const second = await execa(process.execPath, [BIN, 'run', '--data-dir', data.path], { reject: false });
    expect(second.exitCode).toBe(4);
    expect(second.stderr).toContain('[runner_busy]');
    const info = await cli(['list', '--json']);
    expect(info.exitCode).toBe(0);
    // It tells its operator when each job starts and ends.
    const spec = { operation: 'inspect', id: 'cli-run-announce', params: { disks: ['/srv/none.vmdk'] } };
    expect((await cli(['submit', '-'], { input: JSON.stringify(spec) })).exitCode).toBe(0);
    await waitFor(() => /job cli-run-announce FAILED: source_missing: .* s after submit\)/.test(err), 'the runner to announce the end of the job', 60_000);
    expect(err).toContain('job cli-run-announce started: inspect');
    run.kill('SIGTERM');
    const end = await run;
    expect(end.exitCode).toBe(0);
    expect(err).toContain('runner stopped');
  });
});

describe('a reader that goes away', () => {
  // `h2k-worker convert … 2>&1 | head -1`: the pipe closes while the job still writes progress.
  it('EPIPE on stderr and stdout leaves a foreground convert to finish, with its exit code', async () => {
    const t = tempDir();
    try {
      const data = join(t.path, 'data');
      const src = join(t.path, 'src.qcow2');
      await execa('qemu-img', ['create', '-q', '-f', 'qcow2', src, '64M']);
      await execa('qemu-io', ['-f', 'qcow2', '-c', 'write -P 0xab 0 32M', src]);
      const child = execa(process.execPath, [BIN, '--data-dir', data, 'convert', src, join(t.path, 'out.qcow2'), '--rate-limit', '16M'], { reject: false, stdin: 'ignore' });
      // Close our ends at once: every write of the CLI meets a closed pipe.
      child.stdout!.destroy();
      child.stderr!.destroy();
      const r = await child;
      expect(r.exitCode).toBe(0);
      const list = await cli(['--data-dir', data, 'list', '--json']);
      const jobs = JSON.parse(list.stdout) as { jobs: { state: string; operation: string }[] };
      expect(jobs.jobs.map((j) => [j.operation, j.state])).toEqual([['convert', 'COMPLETED']]);
      expect(readdirSync(t.path).sort()).toEqual(['data', 'out.qcow2', 'src.qcow2']);
    } finally {
      t.cleanup();
    }
  });
});
