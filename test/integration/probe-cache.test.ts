/**
 * Probe results kept while the files are unchanged (engine/image/probe-cache.ts), through a real
 * worker (runner, SQLite store) with the real qemu-img: which qemu-img processes each job ran
 * is read from the store's process records.
 */
import { chmodSync, copyFileSync, existsSync, mkdirSync, mkdtempSync, renameSync, rmSync, statSync, truncateSync } from 'node:fs';
import { execa } from 'execa';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Worker } from '../../electron/worker/worker';
import { RECENT_NS } from '../../electron/engine/image/probe-cache';
import { outputSizeBound } from '../../electron/tools/qemu-img-convert';
import { fixtures } from '../support/fixtures';
import { compareImages, MiB, openTestWorker, qemuImg, randomRegions, sha256Of, submitConvert, waitState, writeRegions } from './convert-helpers';

let dir: string;
let worker: Worker;
let raw: string;
let vmdk: string;
let top: string;
const SIZE = 16 * MiB;
let n = 0;
/** A 40 MiB tmpfs: room for these outputs, not for their upper bound. */
let tight: string;
let mounted = false;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-probe-cache-'));
  raw = join(dir, 'base.raw');
  writeRegions(raw, SIZE, randomRegions(SIZE, 11, 8));
  vmdk = join(dir, 'source.vmdk');
  expect((await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', raw, vmdk)).exitCode).toBe(0);
  // A backing chain: its record holds both files.
  expect((await qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(dir, 'chain-base.qcow2'))).exitCode).toBe(0);
  top = join(dir, 'chain-top.qcow2');
  expect((await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'chain-base.qcow2', '-F', 'qcow2', top)).exitCode).toBe(0);
  await aged();
  worker = openTestWorker(dir);
  tight = join(dir, 'tight');
  mkdirSync(tight);
  const m = await execa('mount', ['-t', 'tmpfs', '-o', 'size=40m', 'tmpfs', tight], { reject: false });
  if (m.exitCode !== 0) throw new Error(`mounting a tmpfs needs root: ${String(m.stderr)}`);
  mounted = true;
});

afterAll(async () => {
  if (mounted) await execa('umount', [tight], { reject: false });
  await worker?.close();
  rmSync(dir, { recursive: true, force: true });
});

/** Files changed less than RECENT_NS before a probe are not kept: let the new ones age past it. */
function aged(): Promise<void> {
  return new Promise((r) => setTimeout(r, Number(RECENT_NS / 1_000_000n) + 200));
}

/** Set a file's mtime to `mtimeNs` exactly (touch(1) takes nanoseconds); its ctime becomes now. */
async function touchBack(path: string, mtimeNs: bigint): Promise<void> {
  const ns = (mtimeNs % 1_000_000_000n).toString().padStart(9, '0');
  await execa('touch', ['-m', '-d', `@${mtimeNs / 1_000_000_000n}.${ns}`, '--', path]);
  expect(statSync(path, { bigint: true }).mtimeNs).toBe(mtimeNs);
}

/** The qemu-img subcommands a job ran, in order (from the store's process records). */
function subcommands(id: string): string[] {
  const rows = worker.store.prepare('SELECT command, args FROM processes WHERE job_id = ? ORDER BY id').all(id) as { command: string; args: string }[];
  return rows.filter((r) => r.command === 'qemu-img').map((r) => (JSON.parse(r.args) as string[])[0]!);
}

function logs(id: string): string[] {
  worker.store.flush();
  return worker.store.eventsOf(id, 0, 5000).flatMap((e) => (e.type === 'log' ? [e.message] : []));
}

/** Convert `source` to a new qcow2; resolves with the job id, its output and what it ran. */
async function convert(source: string, params: Record<string, unknown> = {}, into: { dir?: string } = {}): Promise<{ id: string; output: string; ran: string[]; logs: string[] }> {
  const output = join(into.dir ?? dir, `out-${++n}.qcow2`);
  const id = await submitConvert(worker, { disks: [{ source, output }], ...params });
  const state = await waitState(worker, id);
  expect(state, JSON.stringify(worker.store.summary(id).error)).toBe('COMPLETED');
  return { id, output, ran: subcommands(id), logs: logs(id) };
}

describe('a convert of an image probed before', () => {
  it('runs only the copy while the files are unchanged, with identical output and the reuse in its log', async () => {
    const first = await convert(vmdk);
    expect(first.ran.sort()).toEqual(['check', 'convert', 'info']);
    expect(first.logs.join('\n')).not.toMatch(/reused/);
    expect(first.logs.join('\n')).toMatch(/needs at most 80\.5 MiB \(the most such an output can take, so qemu-img measure was not needed\)/);

    const second = await convert(vmdk);
    expect(second.ran).toEqual(['convert']);
    expect(second.logs.join('\n')).toMatch(/disk 1: image facts reused from an earlier probe \(its file is unchanged since: device, inode, size, mtime, ctime\)/);
    expect((await compareImages(second.output, 'qcow2', raw, 'raw')).exitCode).toBe(0);
    // The result is the same as a probed one: the same facts in the payload.
    const payload = (id: string) => worker.store.result(id)!.payload as { disks: { virtual_size: number; source_format: string; source_subformat: string | null; preflight: { required_bytes: number; required_from?: string } }[] };
    const [a, b] = [payload(first.id).disks[0]!, payload(second.id).disks[0]!];
    expect(b.virtual_size).toBe(SIZE);
    expect([b.source_format, b.source_subformat, b.preflight.required_bytes]).toEqual([a.source_format, a.source_subformat, a.preflight.required_bytes]);
    expect(b.preflight).toMatchObject({ required_bytes: outputSizeBound(SIZE), required_from: 'upper bound' });
  });

  it('probes again when the file was written, even with its mtime put back (ctime tells)', async () => {
    await convert(vmdk);
    const st = statSync(vmdk, { bigint: true });
    await touchBack(vmdk, st.mtimeNs);
    const now = statSync(vmdk, { bigint: true });
    expect(now.mtimeNs).toBe(st.mtimeNs);
    expect(now.ctimeNs).not.toBe(st.ctimeNs);
    const after = await convert(vmdk);
    expect(after.ran.sort()).toEqual(['check', 'convert', 'info']);
  });

  it('probes again when the file was replaced by a copy (another inode), and when another qemu-img is on PATH', async () => {
    const other = join(dir, 'replaced.vmdk');
    copyFileSync(vmdk, other);
    await aged();
    await convert(other);
    expect((await convert(other)).ran).toEqual(['convert']);
    // Renamed over: the path is the same, the file another (same bytes, same mtime).
    const copy = join(dir, 'copy-of-replaced.vmdk');
    copyFileSync(other, copy);
    const st = statSync(other, { bigint: true });
    await touchBack(copy, st.mtimeNs);
    renameSync(copy, other);
    expect(statSync(other).ino).not.toBe(st.ino);
    await aged();
    expect((await convert(other)).ran.sort()).toEqual(['check', 'convert', 'info']);
    expect((await convert(other)).ran).toEqual(['convert']);

    // Another qemu-img (a copy of the binary: another inode) first on PATH: not the tool that
    // read the facts. The runner's tools and the cache read this process's PATH.
    const bin = join(dir, 'bin');
    mkdirSync(bin);
    const real = (process.env.PATH ?? '').split(':').map((d) => join(d, 'qemu-img')).find((p) => existsSync(p))!;
    copyFileSync(real, join(bin, 'qemu-img'));
    chmodSync(join(bin, 'qemu-img'), 0o755);
    const path = process.env.PATH;
    process.env.PATH = `${bin}:${path}`;
    try {
      expect((await convert(other)).ran.sort()).toEqual(['check', 'convert', 'info']);
      expect((await convert(other)).ran).toEqual(['convert']);
    } finally {
      process.env.PATH = path;
    }
    expect((await convert(other)).ran.sort()).toEqual(['check', 'convert', 'info']);
  });

  it('a backing chain is kept with both files: writing the base probes again', async () => {
    // The backing file is checked too (the copy reads it).
    expect((await convert(top)).ran.sort()).toEqual(['check', 'check', 'convert', 'info', 'info']);
    expect((await convert(top)).ran).toEqual(['convert']);
    const base = join(dir, 'chain-base.qcow2');
    await touchBack(base, statSync(base, { bigint: true }).mtimeNs);
    expect((await convert(top)).ran.sort()).toEqual(['check', 'check', 'convert', 'info', 'info']);
  });

  it('where space is tight, a measure is kept per output setting: other settings measure again, and both stay', async () => {
    // Room for what these outputs need (qemu-img measure: a few MiB), not for the most they
    // could take (outputSizeBound: 16 MiB + 1/32 + 64 MiB), so the pre-flight measures.
    expect(outputSizeBound(SIZE)).toBeGreaterThan(40 * MiB);
    const into = { dir: tight };
    expect((await convert(vmdk, {}, into)).ran.sort()).toEqual(['check', 'convert', 'info', 'measure']);
    expect((await convert(vmdk, {}, into)).ran).toEqual(['convert']);
    const zstd = await convert(vmdk, { qcow2: { compression: 'zstd' } }, into);
    expect(zstd.ran).toEqual(['measure', 'convert']);
    expect((await convert(vmdk, { qcow2: { compression: 'zstd' } }, into)).ran).toEqual(['convert']);
    expect((await convert(vmdk, {}, into)).ran).toEqual(['convert']);
    // A roomy destination needs no measure at all, and its log says why.
    const roomy = await convert(vmdk);
    expect(roomy.ran).toEqual(['convert']);
  });

  it('a file written just before its probe is not kept', async () => {
    const fresh = join(dir, 'fresh.vmdk');
    copyFileSync(vmdk, fresh);
    await convert(fresh);
    expect((await convert(fresh)).ran.sort()).toEqual(['check', 'convert', 'info']);
  });
});

describe('broken backing files', () => {
  /** Convert expecting a refusal: the error code, and no output. */
  async function refused(source: string): Promise<string | undefined> {
    const output = join(dir, `never-${++n}.qcow2`);
    const id = await submitConvert(worker, { disks: [{ source, output }] });
    expect(await waitState(worker, id)).toBe('FAILED');
    expect(existsSync(output)).toBe(false);
    return worker.store.summary(id).error?.code;
  }

  it('a truncated qcow2 backing file is refused image_truncated (its check runs too)', async () => {
    const d = mkdtempSync(join(dir, 'tb-'));
    expect((await qemuImg('convert', '-f', 'raw', '-O', 'qcow2', raw, join(d, 'base.qcow2'))).exitCode).toBe(0);
    expect((await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'base.qcow2', '-F', 'qcow2', join(d, 'top.qcow2'))).exitCode).toBe(0);
    truncateSync(join(d, 'base.qcow2'), MiB);
    expect(await refused(join(d, 'top.qcow2'))).toBe('image_truncated');
  });

  it('an inspection does not vouch for a chain: the vmdk parent\'s flat extent truncated after it is found', async () => {
    const d = mkdtempSync(join(dir, 'vc-'));
    expect((await qemuImg('convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicFlat', raw, join(d, 'p.vmdk'))).exitCode).toBe(0);
    expect((await qemuImg('create', '-q', '-f', 'vmdk', '-b', 'p.vmdk', '-F', 'vmdk', join(d, 'c.vmdk'))).exitCode).toBe(0);
    await aged();
    const job = await worker.service['jobs.submit']({ spec: { operation: 'inspect', params: { disks: [join(d, 'c.vmdk')], guest: false } } });
    expect(await waitState(worker, job.id)).toBe('COMPLETED');
    truncateSync(join(d, 'p-flat.vmdk'), 4 * MiB);
    expect(await refused(join(d, 'c.vmdk'))).toBe('image_truncated');
  });
});

describe('a qcow2 with an external data file', () => {
  it('the data file is a file of the source: never an output, stamped, and kept in the record', async () => {
    const d = mkdtempSync(join(dir, 'df-'));
    // qemu-img resolves a relative data file against its working folder: give it absolute.
    const data = join(d, 'ext.dat');
    expect((await qemuImg('create', '-q', '-f', 'qcow2', '-o', `data_file=${data}`, join(d, 'top.qcow2'), String(SIZE))).exitCode).toBe(0);
    const w = await execa('qemu-io', ['-f', 'qcow2', '-c', `write -s ${raw} 0 ${SIZE}`, join(d, 'top.qcow2')], { reject: false });
    expect(w.exitCode, String(w.stderr)).toBe(0);
    await aged();
    const before = sha256Of(data);
    // The data file as the output, overwrite allowed: refused, the data untouched.
    const id = await submitConvert(worker, { disks: [{ source: join(d, 'top.qcow2'), output: data }], overwrite: true });
    expect(await waitState(worker, id)).toBe('FAILED');
    expect(worker.store.summary(id).error?.code).toBe('output_is_input');
    expect(sha256Of(data)).toBe(before);
    const ok = await convert(join(d, 'top.qcow2'));
    expect((await compareImages(ok.output, 'qcow2', raw, 'raw')).exitCode).toBe(0);
    const p = worker.store.result(ok.id)!.payload as { disks: { source_files: string[]; source_before: { path: string }[] }[] };
    expect(p.disks[0]!.source_files).toContain(data);
    expect(p.disks[0]!.source_before.map((b) => b.path)).toContain(data);
    expect((await convert(join(d, 'top.qcow2'))).ran).toEqual(['convert']);
    // Writing the data file ends the record.
    await touchBack(data, statSync(data, { bigint: true }).mtimeNs);
    expect((await convert(join(d, 'top.qcow2'))).ran.sort()).toEqual(['check', 'convert', 'info']);
  });
});

describe('a convert after an inspection', () => {
  it('uses the inspection\'s facts and measure (a default convert\'s settings): only the copy runs', async () => {
    const src = join(dir, 'inspected.vmdk');
    copyFileSync(vmdk, src);
    await aged();
    const job = await worker.service['jobs.submit']({ spec: { operation: 'inspect', params: { disks: [src], guest: false } } });
    expect(await waitState(worker, job.id)).toBe('COMPLETED');
    expect(subcommands(job.id).sort()).toEqual(['check', 'info', 'measure']);
    // Into the tight folder, where the pre-flight needs the measure: the inspection's is used.
    const c = await convert(src, {}, { dir: tight });
    expect(c.ran).toEqual(['convert']);
    expect((await compareImages(c.output, 'qcow2', raw, 'raw')).exitCode).toBe(0);
  });

  it('an image the inspection found corrupt is probed again, and the convert refused', async () => {
    const bad = join(dir, 'bad-l1.qcow2');
    copyFileSync(fixtures['bad-l1-qcow2'], bad);
    await aged();
    const before = sha256Of(bad);
    const job = await worker.service['jobs.submit']({ spec: { operation: 'inspect', params: { disks: [bad], guest: false } } });
    expect(await waitState(worker, job.id)).toBe('COMPLETED');
    const id = await submitConvert(worker, { disks: [{ source: bad, output: join(dir, 'never.qcow2') }] });
    expect(await waitState(worker, id)).toBe('FAILED');
    expect(worker.store.summary(id).error?.code).toBe('image_corrupt');
    expect(subcommands(id)).toContain('check');
    expect(sha256Of(bad)).toBe(before);
  });
});
