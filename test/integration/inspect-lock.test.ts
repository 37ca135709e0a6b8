/**
 * A disk in use by another process: a REAL qemu-nbd (and a real qemu-io) holds a copy of a
 * fixture open read-write, so QEMU's write lock is taken on it. The inspect job, through the
 * real worker and qemu-img, must record `in_use: true` (qemu-img info without -U was refused,
 * the facts were read with -U), raise the `image-in-use` blocker with its manual remedy, and
 * still give the real facts. Once the holder is gone: `in_use: false`, no finding.
 */
import { copyFileSync, existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InspectionReport } from '../../shared/protocol';
import { dispatch } from '../../electron/worker/local-client';
import { openWorker, type Worker } from '../../electron/worker/worker';
import { tempDir, waitFor } from '../support/helpers';
import { FACTS, fixtures } from '../support/fixtures';

let data: ReturnType<typeof tempDir>;
let work: ReturnType<typeof tempDir>;
let worker: Worker;

beforeAll(() => {
  data = tempDir('h2k-inspect-lock-data-');
  work = tempDir('h2k-inspect-lock-');
  worker = openWorker({ dataDir: data.path, runner: { pollMs: 25 } });
  worker.startRunner();
});

afterAll(async () => {
  await worker.close();
  expect(readdirSync(worker.scratchDir)).toEqual([]);
  data.cleanup();
  work.cleanup();
});

async function inspect(path: string): Promise<InspectionReport> {
  const job = await dispatch(worker.service, 'jobs.submit', { spec: { operation: 'inspect', params: { guest: false, disks: [path] } } });
  await waitFor(() => ['COMPLETED', 'FAILED', 'CANCELLED'].includes(worker.store.stateOf(job.id)), `inspect job ${job.id} to end`, 60_000);
  const d = await dispatch(worker.service, 'jobs.get', { id: job.id });
  expect(d.summary.state, JSON.stringify(d.summary.error)).toBe('COMPLETED');
  return InspectionReport.parse(d.result!.payload);
}

/** qemu-img's own answer, without -U: the lock is held (so the holder really has it open). */
const lockHeld = async (path: string, format: string) => {
  const r = await execa('qemu-img', ['info', '-f', format, '--', path], { reject: false });
  return r.exitCode !== 0 && r.stderr.includes('Is another process using the image');
};

async function stop(p: ResultPromise): Promise<void> {
  p.kill('SIGTERM');
  await p.catch(() => undefined);
}

describe('a disk another process holds open read-write', () => {
  it('qemu-nbd serving a qcow2 copy: in_use true, the image-in-use blocker, real facts; stopped: in_use false', async () => {
    const disk = join(work.path, 'held.qcow2');
    copyFileSync(fixtures['pattern-qcow2'], disk);
    // qemu-nbd without --read-only opens the image read-write: QEMU takes its write lock.
    const nbd = execa('qemu-nbd', ['-f', 'qcow2', '-k', join(work.path, 'nbd.sock'), '--', disk], { reject: false, stdin: 'ignore' });
    try {
      await waitFor(() => lockHeld(disk, 'qcow2'), 'qemu-nbd to hold the write lock', 15_000, 100);
      const sizeBefore = statSync(disk).size;
      const r = await inspect(disk);
      const d = r.disks[0]!;
      expect(d.error).toBeNull();
      expect(d.image).toMatchObject({ path: disk, format: 'qcow2', virtual_size: FACTS.images['pattern-qcow2'].virtualSize, in_use: true });
      const note = d.image!.notes.find((n) => n.startsWith('in use by another process: '));
      expect(note).toBe(
        `in use by another process: qemu-img info without -U was refused (qemu-img: Could not open '${disk}': Failed to get shared "write" lock Is another process using the image [${disk}]?); read with -U (force share); the facts may change while it writes`,
      );
      expect(r.findings[0]!.evidence).toEqual([{ kind: 'fact', file: disk, text: note }]);
      expect(r.findings.map((f) => [f.id, f.severity, f.disk, f.remediation.kind])).toEqual([['image-in-use', 'blocker', 'disk-1', 'manual']]);
      expect(r.findings[0]!.remediation).toMatchObject({ summary: 'Shut the VM down / stop the process before converting.' });
      expect(r.summary).toEqual({ blockers: 1, warnings: 0, infos: 0 });
      expect(statSync(disk).size).toBe(sizeBefore);
    } finally {
      await stop(nbd);
    }
    expect(await lockHeld(disk, 'qcow2')).toBe(false);
    const after = await inspect(disk);
    expect(after.disks[0]!.image).toMatchObject({ format: 'qcow2', in_use: false });
    expect(after.disks[0]!.image!.notes.filter((n) => n.startsWith('in use'))).toEqual([]);
    expect(after.findings).toEqual([]);
  });

  it('qemu-io holding a qcow2 copy: in_use true', async () => {
    const disk = join(work.path, 'held-io.qcow2');
    copyFileSync(fixtures['pattern-qcow2'], disk);
    // Interactive qemu-io keeps the image open (read-write) while its standard input is open.
    const io = execa('qemu-io', ['-f', 'qcow2', '--', disk], { reject: false, stdin: 'pipe' });
    try {
      await waitFor(() => lockHeld(disk, 'qcow2'), 'qemu-io to hold the write lock', 15_000, 100);
      const r = await inspect(disk);
      expect(r.disks[0]!.image).toMatchObject({ format: 'qcow2', in_use: true });
      expect(r.findings.map((f) => f.id)).toEqual(['image-in-use']);
    } finally {
      await stop(io);
    }
  });

  it('qemu-nbd serving a raw copy (its holder lets readers in: seen in /proc/locks); a fixture nobody holds: in_use false', async () => {
    const disk = join(work.path, 'held.raw');
    copyFileSync(fixtures['pattern-raw'], disk);
    const nbd = execa('qemu-nbd', ['-f', 'raw', '-k', join(work.path, 'raw.sock'), '--', disk], { reject: false, stdin: 'ignore' });
    try {
      // qemu-img info without -U is NOT refused on raw (nothing to keep consistent): the write
      // lock shows in /proc/locks only, once qemu-nbd has opened the file (its socket exists).
      await waitFor(() => existsSync(join(work.path, 'raw.sock')), 'qemu-nbd to listen', 15_000, 100);
      expect(await lockHeld(disk, 'raw')).toBe(false);
      const r = await inspect(disk);
      expect(r.disks[0]!.image).toMatchObject({ format: 'raw', virtual_size: FACTS.images['pattern-raw'].virtualSize, in_use: true });
      const { ino } = statSync(disk);
      expect(r.disks[0]!.image!.notes.find((n) => n.startsWith('in use by another process: '))).toMatch(
        new RegExp(`^in use by another process: a process holds QEMU's write lock on it \\(byte 101; /proc/locks: \\d+: OFDLCK ADVISORY +READ -1 [0-9a-f]+:[0-9a-f]+:${ino} 100 101\\); the facts may change while it writes$`),
      );
      expect(r.findings.map((f) => f.id)).toEqual(['image-in-use']);
    } finally {
      await stop(nbd);
    }
    expect((await inspect(disk)).disks[0]!.image!.in_use).toBe(false);
    const free = await inspect(fixtures['pattern-qcow2']);
    expect(free.disks[0]!.image!.in_use).toBe(false);
    expect(free.findings).toEqual([]);
  });
});
