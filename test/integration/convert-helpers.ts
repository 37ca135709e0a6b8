/**
 * Helpers of the convert tests: a test context that drives the convert operation directly (real
 * tools, real files; it records progress, logs and declared partials, and removes what is still
 * partial when the operation fails, as the runner does), and deterministic test disks with
 * random data at unaligned offsets between holes, built with the real qemu-img.
 */
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeSync, ftruncateSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { JobSpec, type ConvertSpec, type JobSpecInput, type JobState, type WorkerCapabilities } from '../../shared/protocol';
import { openWorker, type Worker } from '../../electron/worker/worker';
import type { OperationContext, OperationOutput, ProgressUpdate } from '../../electron/engine/types';
import { runTool } from '../../electron/tools/spawn';
import { convertOperation } from '../../electron/engine/ops/convert';

export const MiB = 1024 * 1024;

/** What a test context recorded. */
export interface Recorded {
  progress: (ProgressUpdate & { at: number })[];
  logs: { level: string; message: string }[];
  partials: Map<string, 'file' | 'dir'>;
  pids: number[];
}

/** A convert spec with defaults filled, as the service would store it. */
export function convertSpec(params: Extract<JobSpecInput, { operation: 'convert' }>['params'], id = `t${Date.now().toString(36)}${Math.floor(Math.random() * 1e6).toString(36)}`): ConvertSpec {
  return JobSpec.parse({ operation: 'convert', id, params }) as ConvertSpec;
}

/**
 * Run the convert operation with a test context. On failure the declared partials that remain
 * are removed (what the runner does), then the error is rethrown.
 */
export async function runConvert(
  spec: ConvertSpec,
  opts: { signal?: AbortSignal; onProgress?: (p: ProgressUpdate) => void; scratchDir?: string } = {},
): Promise<{ output: OperationOutput; rec: Recorded }> {
  const rec: Recorded = { progress: [], logs: [], partials: new Map(), pids: [] };
  const controller = new AbortController();
  opts.signal?.addEventListener('abort', () => controller.abort(opts.signal?.reason), { once: true });
  const ctx: OperationContext<ConvertSpec> = {
    jobId: spec.id!,
    attempt: 1,
    spec,
    signal: controller.signal,
    scratchDir: opts.scratchDir ?? join(tmpdir(), `h2k-convert-scratch-${spec.id}`),
    capabilities: async () => ({}) as WorkerCapabilities,
    guestfsEnv: async () => ({}),
    progress(u) {
      rec.progress.push({ ...u, at: Date.now() });
      opts.onProgress?.(u);
    },
    log(level, message) {
      rec.logs.push({ level, message });
    },
    run(r) {
      return runTool({
        ...r,
        signal: controller.signal,
        graceMs: 2000,
        onSpawn: (p) => {
          rec.pids.push(p.pid);
          r.onSpawn?.(p);
        },
      });
    },
    partial(path, kind) {
      rec.partials.set(path, kind);
    },
    settled(path) {
      rec.partials.delete(path);
    },
  };
  try {
    const output = await convertOperation(ctx);
    return { output, rec };
  } catch (err) {
    for (const [p, kind] of rec.partials) rmSync(p, { recursive: kind === 'dir', force: true });
    (err as { rec?: Recorded }).rec = rec;
    throw err;
  } finally {
    // The runner removes a job's scratch folder when the job ends.
    if (!opts.scratchDir) rmSync(ctx.scratchDir, { recursive: true, force: true });
  }
}

/** A small deterministic PRNG (mulberry32), so the test disks are the same on every run. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Regions of random bytes at unaligned offsets with holes between them. */
export function randomRegions(size: number, seed: number, count = 10): { offset: number; data: Buffer }[] {
  const rand = prng(seed);
  const slot = Math.floor(size / count);
  const out: { offset: number; data: Buffer }[] = [];
  for (let i = 0; i < count; i++) {
    // Leave a hole at the start of every slot; start and length are odd on purpose.
    const offset = i * slot + 4097 + Math.floor(rand() * (slot / 4)) * 2 + 1;
    const length = Math.min(slot - (offset - i * slot) - 1, 1 + 2 * Math.floor(rand() * (slot / 3)));
    const data = Buffer.alloc(length);
    for (let k = 0; k < length; k += 4) data.writeUInt32LE(Math.floor(rand() * 0xffffffff), Math.min(k, length - 4));
    out.push({ offset, data });
  }
  return out;
}

/** Write regions into a file (created sparse, `size` bytes, or extended to it). */
export function writeRegions(path: string, size: number, regions: { offset: number; data: Buffer }[]): void {
  const fd = openSync(path, existsSync(path) ? 'r+' : 'w');
  try {
    ftruncateSync(fd, size);
    for (const r of regions) writeSync(fd, r.data, 0, r.data.length, r.offset);
  } finally {
    closeSync(fd);
  }
}

/** Bytes of a file that are not zero (for "the disk holds data" assertions). */
export function nonZeroBytes(path: string): number {
  const b = readFileSync(path);
  let n = 0;
  for (let i = 0; i < b.length; i++) if (b[i] !== 0) n++;
  return n;
}

/** sha256 of a file, read in 4 MiB pieces (files may exceed a Buffer's 2 GiB). */
export function sha256Of(path: string): string {
  const hash = createHash('sha256');
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(4 * MiB);
    for (let pos = 0; ; ) {
      const n = readSync(fd, buf, 0, buf.length, pos);
      if (n === 0) break;
      hash.update(buf.subarray(0, n));
      pos += n;
    }
  } finally {
    closeSync(fd);
  }
  return hash.digest('hex');
}

/** sha256 of every file in a folder (name → digest), to prove sources unchanged. */
export function hashFolder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const n of readdirSync(dir).sort()) {
    const p = join(dir, n);
    if (statSync(p).isFile()) out[n] = sha256Of(p);
  }
  return out;
}

export async function qemuImg(...args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  const r = await execa('qemu-img', args, { reject: false });
  return { stdout: String(r.stdout), stderr: String(r.stderr), exitCode: r.exitCode ?? -1 };
}

/** `qemu-img compare -f A -F B`: exit code 0 identical, 1 different. */
export async function compareImages(a: string, aFmt: string, b: string, bFmt: string): Promise<{ exitCode: number; text: string }> {
  const r = await qemuImg('compare', '-f', aFmt, '-F', bFmt, '--', a, b);
  return { exitCode: r.exitCode, text: (r.stdout + r.stderr).trim() };
}

/** An input image of the matrix: path, format as qemu-img names it, and how it was made. */
export interface TestInput {
  name: string;
  path: string;
  format: string;
  /** The raw file with the same guest bytes. */
  expect: string;
}

/**
 * Build every input format and subformat from one raw disk in `dir` (real qemu-img):
 * raw, qcow2, a qcow2 over a qcow2 backing file with writes of its own, vmdk in all five
 * subformats, vpc fixed and dynamic, vhdx, vdi. Returns them with the raw file of their bytes.
 */
export async function buildInputs(dir: string, size: number, seed: number): Promise<TestInput[]> {
  const base = join(dir, 'base.raw');
  writeRegions(base, size, randomRegions(size, seed));
  const inputs: TestInput[] = [{ name: 'raw', path: base, format: 'raw', expect: base }];
  const make = async (name: string, file: string, fmt: string, opts: string[]) => {
    const path = join(dir, file);
    const r = await qemuImg('convert', '-f', 'raw', '-O', fmt, ...(opts.length ? ['-o', opts.join(',')] : []), base, path);
    if (r.exitCode !== 0) throw new Error(`building ${name}: ${r.stderr}`);
    inputs.push({ name, path, format: fmt, expect: base });
  };
  await make('qcow2', 'in.qcow2', 'qcow2', []);
  for (const sub of ['monolithicSparse', 'streamOptimized', 'twoGbMaxExtentSparse', 'monolithicFlat', 'twoGbMaxExtentFlat']) {
    await make(`vmdk-${sub}`, `in-${sub}.vmdk`, 'vmdk', [`subformat=${sub}`]);
  }
  await make('vpc-fixed', 'in-fixed.vhd', 'vpc', ['subformat=fixed', 'force_size=on']);
  await make('vpc-dynamic', 'in-dynamic.vhd', 'vpc', ['subformat=dynamic', 'force_size=on']);
  await make('vhdx', 'in.vhdx', 'vhdx', []);
  await make('vdi', 'in.vdi', 'vdi', []);

  // A backing chain: base qcow2 ← overlay with writes of its own (unaligned, over data and holes).
  const chainBase = join(dir, 'chain-base.qcow2');
  const overlay = join(dir, 'chain-top.qcow2');
  let r = await qemuImg('convert', '-f', 'raw', '-O', 'qcow2', base, chainBase);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  r = await qemuImg('create', '-q', '-f', 'qcow2', '-b', 'chain-base.qcow2', '-F', 'qcow2', overlay);
  if (r.exitCode !== 0) throw new Error(r.stderr);
  const expectChain = join(dir, 'chain-expect.raw');
  const overlayRegions = randomRegions(size, seed + 1, 4);
  writeRegions(expectChain, size, randomRegions(size, seed));
  writeRegions(expectChain, size, overlayRegions);
  // Write the overlay's bytes through qemu-img dd from a raw file of only those regions… qemu-io
  // is simpler and exact: one write per region from a file of its bytes.
  for (const [k, reg] of overlayRegions.entries()) {
    const piece = join(dir, `piece-${k}.bin`);
    writeRegions(piece, reg.data.length, [{ offset: 0, data: reg.data }]);
    const w = await execa('qemu-io', ['-f', 'qcow2', '-c', `write -s ${piece} ${reg.offset} ${reg.data.length}`, overlay], { reject: false });
    rmSync(piece);
    if (w.exitCode !== 0) throw new Error(`qemu-io: ${String(w.stderr)}${String(w.stdout)}`);
  }
  inputs.push({ name: 'qcow2-backing-chain', path: overlay, format: 'qcow2', expect: expectChain });
  return inputs;
}

// ----------------------------------------------------------------------- through the worker

/** A real worker (store, service, runner) over a fresh data folder in `dir`. */
export function openTestWorker(dir: string, opts: { runner?: boolean; graceMs?: number } = {}): Worker {
  const worker = openWorker({ dataDir: join(dir, 'data'), cacheDir: join(dir, 'cache'), runner: { pollMs: 50, graceMs: opts.graceMs ?? 1000 } });
  if (opts.runner !== false) worker.startRunner();
  return worker;
}

/** Submit a convert job through the service (as every door does); resolves with its id. */
export async function submitConvert(worker: Worker, params: Extract<JobSpecInput, { operation: 'convert' }>['params'], extra: Partial<Extract<JobSpecInput, { operation: 'convert' }>> = {}): Promise<string> {
  const job = await worker.service['jobs.submit']({ spec: { operation: 'convert', params, ...extra } });
  return job.id;
}

/** Wait until the job is in one of `states` (default: any terminal state); returns the state. */
export async function waitState(worker: Worker, id: string, states: readonly JobState[] = ['COMPLETED', 'FAILED', 'CANCELLED'], timeoutMs = 120_000): Promise<JobState> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const s = worker.store.stateOf(id);
    if (states.includes(s)) return s;
    if (Date.now() > end) throw new Error(`job ${id} is ${s}, not ${states.join('/')} after ${timeoutMs} ms: ${JSON.stringify(worker.store.summary(id).error)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Files in a folder whose name marks a temporary output. */
export function partialsIn(dir: string): string[] {
  return readdirSync(dir).filter((n) => n.includes('h2k-partial'));
}
