/**
 * What a technician reads while a convert job runs, through the real worker (runner, store,
 * events as the CLI and the app get them), on the pattern fixture disks with the real qemu-img:
 * - a throttled copy never shows a rate above the limit (qemu-img lets its first requests
 *   through at once, so an instant rate used to read many times the limit), nor a percent ahead
 *   of what the limit let through (qemu-img -p -r counts submitted requests: it read 100 % with
 *   seconds of copy to come);
 * - every progress event's percent agrees with bytes_done / bytes_total, with verification and
 *   hashing too;
 * - the audit trail records the source's size and mtime before and after, in ISO 8601, with one
 *   "source untouched: size X, mtime Y (before = after)" line.
 */
import { statSync } from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ConvertPayload, LogEvent, ProgressEvent, StateEvent } from '../../shared/protocol';
import type { Worker } from '../../electron/worker/worker';
import { fixtures } from '../support/fixtures';
import { compareImages, MiB, openTestWorker, sha256Of, submitConvert, waitState } from './convert-helpers';

let dir: string;
let worker: Worker;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'h2k-convert-progress-'));
  worker = openTestWorker(dir);
});
afterAll(async () => {
  await worker.close();
  rmSync(dir, { recursive: true, force: true });
});

function events(id: string) {
  worker.store.flush();
  return worker.store.eventsOf(id, 0, 5000);
}

/** ISO 8601 of a file's mtime with its nanoseconds, as the audit trail prints it. */
function isoMtime(path: string): string {
  const ns = statSync(path, { bigint: true }).mtimeNs;
  return `${new Date(Number(ns / 1_000_000n)).toISOString().slice(0, 19)}.${(ns % 1_000_000_000n).toString().padStart(9, '0')}Z`;
}

describe('progress a technician can trust', () => {
  it('with --rate-limit, no event after the first second shows a rate above the limit, and the percent follows what the limit lets through', async () => {
    const source = fixtures['pattern-raw'];
    const before = sha256Of(source);
    const limit = 4 * MiB;
    const out = join(mkdtempSync(join(dir, 'o-')), 'pattern.qcow2');
    const id = await submitConvert(worker, { disks: [{ source, output: out }], rate_limit_bps: limit });
    expect(await waitState(worker, id)).toBe('COMPLETED');
    const progress = events(id).filter((e): e is ProgressEvent => e.type === 'progress');
    const copy = progress.filter((p) => p.stage === 'copy');
    const start = Date.parse(copy[0]!.at);
    const end = Date.parse(copy.at(-1)!.at);
    // The limit was applied: about 15 MB of data at 4 MiB/s (unthrottled it takes 0.3 s here).
    expect(end - start).toBeGreaterThanOrEqual(1500);
    const rated = copy.filter((p) => p.rate_bps !== null && Date.parse(p.at) - start >= 1000);
    expect(rated.length).toBeGreaterThanOrEqual(2);
    for (const p of rated) expect(p.rate_bps!, `${p.at} ${p.percent}%`).toBeLessThanOrEqual(1.1 * limit);
    // And it is an estimate of the real pace, not a zero.
    expect(Math.max(...rated.map((p) => p.rate_bps!))).toBeGreaterThanOrEqual(0.5 * limit);
    // The ETA comes from the measured progress (holes cost nothing, so a sparse disk's virtual
    // bytes advance faster than the limit): it shrinks to zero and never reads past the real end.
    for (const p of rated) expect(p.eta_s).not.toBeNull();
    for (const p of rated) expect(Date.parse(p.at) + p.eta_s! * 1000).toBeLessThanOrEqual(end + 5000);
    expect(rated.filter((p) => p.percent < 80).every((p) => p.eta_s! > 0)).toBe(true);
    // qemu-img -p with -r counts the requests it submitted and reads 100 % within the first
    // burst; the fraction shown is capped by what the limit allows so far over the data to copy
    // (the source's allocated bytes), so the percent follows the clock: it never runs ahead of
    // elapsed × limit / data (its time taken from the events, with a quarter second for the
    // event to be stored after it was computed), rises in steps, and reaches 99 % only in the
    // last second; 100 % comes with qemu-img's exit, in the last copy event.
    const last = copy.at(-1)!;
    expect(last.percent).toBe(100);
    const running = copy.slice(0, -1);
    const data = last.allocated_bytes!;
    expect(data).toBe(statSync(source).blocks * 512);
    for (const p of running) {
      const allowed = (100 * (((Date.parse(p.at) - start + 250) / 1000) * limit)) / data;
      expect(p.percent, `${p.at} ${p.percent}%`).toBeLessThanOrEqual(Math.min(99, allowed) + 0.01);
      if (end - Date.parse(p.at) > 1000) expect(p.percent, `${p.at}: ${end - Date.parse(p.at)} ms of copy still to come`).toBeLessThan(99);
    }
    const rises = running.map((p) => p.percent).filter((v, k, a) => k === 0 || v > a[k - 1]!);
    expect(new Set(rises).size).toBeGreaterThanOrEqual(3);
    // The ETA comes from that capped progress: half-way through the copy it is still seconds.
    const mid = running.find((p) => Date.parse(p.at) - start >= (end - start) / 2 && p.eta_s !== null);
    expect(mid?.eta_s).toBeGreaterThan(0.25);
    expect((await compareImages(source, 'raw', out, 'qcow2')).exitCode).toBe(0);
    expect(sha256Of(source)).toBe(before);
  });

  it('percent and bytes_done / bytes_total agree in every event, with verification and hashing', async () => {
    const source = fixtures['pattern-qcow2'];
    const out = join(mkdtempSync(join(dir, 'o-')), 'pattern.vdi');
    const id = await submitConvert(worker, { disks: [{ source, output: out }], format: 'vdi', verify: 'compare', sha256: true, rate_limit_bps: 16 * MiB });
    expect(await waitState(worker, id)).toBe('COMPLETED');
    const progress = events(id).filter((e): e is ProgressEvent => e.type === 'progress' && e.bytes_total !== null);
    const stages = new Set(progress.map((p) => p.stage));
    for (const s of ['copy', 'verify', 'done']) expect(stages).toContain(s);
    const virtual = 64 * MiB;
    for (const p of progress) {
      // The work of the job: the copy and the comparison read the 64 MiB disk once each, hashing counts half.
      expect(p.bytes_total).toBe(virtual * 2.5);
      expect(Math.abs(p.percent - (100 * p.bytes_done!) / p.bytes_total!), `${p.stage} ${p.percent}% ${p.bytes_done}/${p.bytes_total}`).toBeLessThanOrEqual(1);
    }
    // The copy is the first 40 % of the work (64 of 160 MiB), the comparison the next 40 %.
    for (const p of progress.filter((x) => x.stage === 'copy')) expect(p.bytes_done!).toBeLessThanOrEqual(virtual);
    for (const p of progress.filter((x) => x.stage === 'verify')) expect(p.percent).toBeGreaterThanOrEqual(40);
    for (const p of progress.filter((x) => x.stage === 'verify')) expect(p.bytes_done!).toBeLessThanOrEqual(2 * virtual);
    expect(progress.at(-1)).toMatchObject({ stage: 'done', percent: 100, bytes_done: virtual * 2.5 });
    expect((await compareImages(source, 'qcow2', out, 'vdi')).exitCode).toBe(0);
  });

  it('records the source before and after in ISO 8601, and one "source untouched" line', async () => {
    const source = fixtures['pattern-vmdk-monolithicSparse'];
    const mtime = isoMtime(source);
    const size = statSync(source).size;
    const out = join(mkdtempSync(join(dir, 'o-')), 'pattern.qcow2');
    const id = await submitConvert(worker, { disks: [{ source, output: out }] });
    expect(await waitState(worker, id)).toBe('COMPLETED');
    const evs = events(id);
    const logs = evs.filter((e): e is LogEvent => e.type === 'log').map((l) => l.message);
    expect(logs.filter((l) => l.includes('source untouched'))).toEqual([`disk 1: source untouched: size ${size} bytes, mtime ${mtime} (before = after)`]);
    expect(logs.some((l) => l.includes(`source before: ${source}: size ${size} bytes, mtime ${mtime})`))).toBe(true);
    // No epoch numbers: every mtime in the log is ISO 8601.
    for (const l of logs) expect(l).not.toMatch(/mtime \d{10,}/);
    const disk = (worker.store.result(id)!.payload as ConvertPayload).disks[0]!;
    expect(disk.source_before).toEqual(disk.source_after);
    expect(disk.source_before[0]).toEqual({ path: source, size_bytes: size, mtime_ns: statSync(source, { bigint: true }).mtimeNs.toString() });
    expect(evs.filter((e): e is StateEvent => e.type === 'state').at(-1)!.to).toBe('COMPLETED');
  });
});
