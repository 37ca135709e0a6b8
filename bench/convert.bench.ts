/**
 * Convert benchmark: a 4 GiB monolithicSparse vmdk holding 1 GiB of random data scattered across
 * it, converted to qcow2 with verification off, four ways, side by side, in rounds:
 * - job: a convert job of the worker, from `jobs.submit` to the COMPLETED transition, executed by
 *   a real runner process (`node bin/h2k-worker.js run`, the built CLI);
 * - bare: the very qemu-img command line the job ran, alone;
 * - copy limit: `cp --sparse=always` of the same data as a raw file, then `sync`;
 * - hyper2kvm: `qemu-img convert -p -t none -T none -f vmdk -O qcow2` (its command line).
 * Before every run dirty pages are synced and, when permitted (root), the page cache dropped
 * (`echo 3 > /proc/sys/vm/drop_caches`), so every run reads from the disk; outputs are removed
 * between rounds. Medians of H2K_BENCH_RUNS rounds, in a new order every round; the job and bare
 * qemu-img always back to back, and the target is read on their per-round ratio.
 */
import { randomFillSync } from 'node:crypto';
import { closeSync, existsSync, ftruncateSync, openSync, readFileSync, rmSync, writeFileSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import type { ConvertPayload } from '../shared/protocol';
import { isTerminal } from '../shared/protocol';
import { openWorker } from '../electron/worker/worker';
import { runTool } from '../electron/tools/spawn';
import type { BenchContext, BenchRow } from './run';

export const title = 'Convert: 4 GiB vmdk with 1 GiB of data → qcow2';
export const description =
  'A monolithicSparse vmdk of 4 GiB virtual size holding 1 GiB of random (incompressible) data in 1024 runs of 1 MiB at random ' +
  '4 KiB-aligned offsets, converted to qcow2 (compat 1.1) with verification off. Targets from issue 4.';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const REPO = join(import.meta.dirname, '..');

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** The 4 GiB input, built once (a marker file records it is complete). */
async function buildInput(dir: string, log: (l: string) => void): Promise<{ raw: string; vmdk: string }> {
  const raw = join(dir, 'data.raw');
  const vmdk = join(dir, 'src.vmdk');
  const marker = join(dir, 'input-v1.ok');
  if (existsSync(marker) && existsSync(raw) && existsSync(vmdk)) return { raw, vmdk };
  log('building the input: 4 GiB raw with 1 GiB of random data, then the vmdk');
  rmSync(raw, { force: true });
  const fd = openSync(raw, 'w');
  try {
    ftruncateSync(fd, 4 * GiB);
    // 1024 of the 2048 slots of 2 MiB, each run shifted by a random 4 KiB multiple within its
    // slot's first half: runs never touch, and most do not start on a MiB boundary.
    const slots = Array.from({ length: 2048 }, (_, i) => i);
    let seed = 20261129;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (let i = slots.length - 1; i > 0; i--) {
      const j = Math.floor(rand() * (i + 1));
      [slots[i], slots[j]] = [slots[j]!, slots[i]!];
    }
    const buf = Buffer.alloc(MiB);
    for (const slot of slots.slice(0, 1024).sort((a, b) => a - b)) {
      randomFillSync(buf);
      writeSync(fd, buf, 0, MiB, slot * 2 * MiB + Math.floor(rand() * 256) * 4096);
    }
  } finally {
    closeSync(fd);
  }
  rmSync(vmdk, { force: true });
  const r = await runTool({ command: 'qemu-img', args: ['convert', '-f', 'raw', '-O', 'vmdk', '-o', 'subformat=monolithicSparse', '--', raw, vmdk] });
  if (r.exitCode !== 0) throw new Error(`building the vmdk: ${r.stderr}`);
  writeFileSync(marker, 'ok\n');
  return { raw, vmdk };
}

/** Sync, then drop the page cache when permitted. Returns whether the cache was dropped. */
async function coldCache(): Promise<boolean> {
  await runTool({ command: 'sync', args: [] });
  try {
    writeFileSync('/proc/sys/vm/drop_caches', '3\n');
    return true;
  } catch {
    return false;
  }
}

async function timed(fn: () => Promise<void>): Promise<number> {
  const t = process.hrtime.bigint();
  await fn();
  return Number(process.hrtime.bigint() - t) / 1e9;
}

async function must(command: string, args: string[]): Promise<void> {
  const r = await runTool({ command, args });
  if (r.exitCode !== 0) throw new Error(`${command} ${args.join(' ')}: ${r.stderr || r.exitCode}`);
}

export async function run(ctx: BenchContext): Promise<{ rows: BenchRow[]; notes: string[] }> {
  const bin = join(REPO, 'dist', 'cli', 'h2k-worker.mjs');
  if (!existsSync(bin)) throw new Error('the built CLI is missing: run `npm run build` first');
  const { raw, vmdk } = await buildInput(ctx.dir, ctx.log);
  const dataDir = join(ctx.dir, 'worker-data');
  rmSync(dataDir, { recursive: true, force: true });
  // Outputs are named per round and removed together after each round: deleting a 1 GiB file
  // on a filesystem mounted with `discard` sends discards to the device in the background, which
  // would slow whichever run came next.
  let round = -1;
  const out = (name: string, ext: string) => join(ctx.dir, `out-${name}-r${round + 1}.${ext}`);
  const written = new Set<string>();
  const mark = (p: string) => {
    written.add(p);
    return p;
  };
  const clean = async () => {
    for (const p of written) rmSync(p, { force: true });
    written.clear();
    await runTool({ command: 'sync', args: [] });
    await new Promise((r) => setTimeout(r, 3000));
  };

  // The runner: a real `h2k-worker run` process of the built CLI.
  const runner = execa(process.execPath, [join(REPO, 'bin', 'h2k-worker.js'), '--data-dir', dataDir, 'run'], { reject: false, buffer: false, cwd: REPO });
  let runnerOut = '';
  runner.stderr?.on('data', (d: Buffer) => (runnerOut += d.toString()));
  const deadline = Date.now() + 30_000;
  while (!/runner \d+ \(pid/.test(runnerOut)) {
    if (Date.now() > deadline) throw new Error(`the runner did not start: ${runnerOut}`);
    await new Promise((r) => setTimeout(r, 50));
  }
  const worker = openWorker({ dataDir });
  const times: Record<'job' | 'bare' | 'plain' | 'cp' | 'hyper2kvm', number[]> = { job: [], bare: [], plain: [], cp: [], hyper2kvm: [] };
  const stages: Record<string, number[]> = {};
  let dropped = true;
  let rssKiB = NaN;
  /** Job time minus its copy stage: queueing, pre-flight, flush, publishing, bookkeeping. */
  const overhead: number[] = [];
  /** Per round: job ÷ bare qemu-img, run back to back. */
  const paired: number[] = [];
  let bareCommand: string[] = [];
  let plainCommand: string[] = [];
  try {
    const variants = {
      job: async () => {
        const started = Date.now();
        const job = await worker.service['jobs.submit']({ spec: { operation: 'convert', params: { disks: [{ source: vmdk, output: mark(out('job', 'qcow2')) }], format: 'qcow2', verify: 'none' } } });
        let state = job.state;
        // The time is taken from the stored COMPLETED transition, so a slow poll costs nothing
        // and keeps this process out of the measured copy's way.
        while (!isTerminal(state)) {
          await new Promise((r) => setTimeout(r, 250));
          state = worker.store.stateOf(job.id);
        }
        if (state !== 'COMPLETED') throw new Error(`the job ended ${state}: ${JSON.stringify(worker.store.summary(job.id).error)}`);
        const end = Date.parse(worker.store.transitionsOf(job.id).at(-1)!.at);
        times.job.push((end - started) / 1000);
        const result = worker.store.result(job.id)!;
        const tr = worker.store.transitionsOf(job.id);
        const running = tr.find((t) => t.to === 'RUNNING');
        if (running) (stages['submit → RUNNING'] ??= []).push((Date.parse(running.at) - started) / 1000);
        for (const [k, v] of Object.entries(result.metrics.stages)) (stages[k] ??= []).push(v);
        overhead.push(times.job.at(-1)! - (result.metrics.stages.copy ?? 0));
        const command = (result.payload as ConvertPayload).disks[0]!.command;
        // The same command line, writing elsewhere: the last argument is the target.
        bareCommand = command.slice(0, -1);
        plainCommand = command.at(-2) === vmdk ? [] : [...command.slice(0, -2), vmdk];
      },
      bare: async () => {
        if (!bareCommand.length) return;
        const target = mark(out('bare', 'qcow2'));
        times.bare.push(await timed(() => must(bareCommand[0]!, [...bareCommand.slice(1), target])));
      },
      plain: async () => {
        if (!plainCommand.length) return;
        const target = mark(out('plain', 'qcow2'));
        times.plain.push(await timed(() => must(plainCommand[0]!, [...plainCommand.slice(1), target])));
      },
      cp: async () => {
        times.cp.push(
          await timed(async () => {
            await must('cp', ['--sparse=always', '--', raw, mark(out('cp', 'raw'))]);
            await must('sync', []);
          }),
        );
      },
      hyper2kvm: async () => {
        times.hyper2kvm.push(await timed(() => must('qemu-img', ['convert', '-p', '-t', 'none', '-T', 'none', '-f', 'vmdk', '-O', 'qcow2', vmdk, mark(out('hyper2kvm', 'qcow2'))])));
      },
    };
    // H2K_BENCH_CONVERT_ONLY=job,bare runs a subset (for investigation; the report needs all).
    const only = process.env.H2K_BENCH_CONVERT_ONLY?.split(',');
    const order = (Object.keys(variants) as (keyof typeof variants)[]).filter((k) => !only || only.includes(k));
    // A first job run fills bareCommand; it is a warm-up and not counted.
    await coldCache();
    await variants.job();
    await clean();
    times.job.length = 0;
    overhead.length = 0;
    for (const k of Object.keys(stages)) stages[k] = [];
    // A new order every round (seeded shuffle), so no variant always follows the same one.
    let seed = 7;
    const rand = () => ((seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32);
    for (round = 0; round < ctx.runs; round++) {
      // job and bare run back to back (which first alternates by the shuffle), so that their
      // per-round ratio sees the same disk speed: this host's disk drifts within a minute.
      const units: (keyof typeof variants)[][] = order.filter((n) => n !== 'bare').map((n) => (n === 'job' && order.includes('bare') ? ['job', 'bare'] : [n]));
      for (let i = units.length - 1; i > 0; i--) {
        const j = Math.floor(rand() * (i + 1));
        [units[i], units[j]] = [units[j]!, units[i]!];
      }
      for (const unit of units) {
        if (unit.length === 2 && rand() < 0.5) unit.reverse();
        for (const name of unit) {
          dropped = (await coldCache()) && dropped;
          await variants[name]();
        }
      }
      if (times.job.length === round + 1 && times.bare.length === round + 1) paired.push(times.job.at(-1)! / times.bare.at(-1)!);
      await clean();
      ctx.log(
        `round ${round + 1}/${ctx.runs}: ${order.map((n) => `${n} ${times[n].at(-1)?.toFixed(2) ?? '—'} s`).join(', ')}` +
          (order.includes('job') ? ` (job: pre-flight ${stages.preflight?.at(-1)?.toFixed(2)} s, copy ${stages.copy?.at(-1)?.toFixed(2)} s)` : ''),
      );
    }
  } finally {
    await clean();
    // Peak resident memory of the runner process itself (VmHWM, proc(5)), qemu-img excluded.
    try {
      rssKiB = Number(/VmHWM:\s+(\d+)/.exec(readFileSync(`/proc/${runner.pid}/status`, 'utf8'))?.[1] ?? NaN);
    } catch {
      /* the runner is gone: no number */
    }
    await worker.close();
    runner.kill('SIGTERM');
    await runner;
  }

  const m = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)])) as Record<keyof typeof times, number>;
  const rows: BenchRow[] = [
    { name: 'job, submit → COMPLETED (median)', value: m.job, unit: 's', target: '', ok: true, detail: `runs: ${times.job.map((t) => t.toFixed(2)).join(', ')}` },
    { name: 'bare qemu-img, same command line', value: m.bare, unit: 's', target: '', ok: true, detail: `runs: ${times.bare.map((t) => t.toFixed(2)).join(', ')}` },
    { name: 'cp --sparse=always + sync of the data as raw', value: m.cp, unit: 's', target: '', ok: true, detail: `runs: ${times.cp.map((t) => t.toFixed(2)).join(', ')}` },
    { name: 'hyper2kvm: qemu-img convert -p -t none -T none', value: m.hyper2kvm, unit: 's', target: '', ok: true, detail: `runs: ${times.hyper2kvm.map((t) => t.toFixed(2)).join(', ')}` },
    {
      name: 'job ÷ bare qemu-img (median of per-round ratios, run back to back)',
      value: median(paired),
      unit: '×',
      target: '≤ 1.05 ×',
      ok: median(paired) <= 1.05,
      detail: `rounds: ${paired.map((r) => r.toFixed(2)).join(', ')}`,
    },
    { name: 'job ÷ bare qemu-img, ratio of the medians (informative)', value: m.job / m.bare, unit: '×', target: '', ok: true },
    { name: 'job ÷ copy limit (cp + sync)', value: m.job / m.cp, unit: '×', target: '≤ 1.3 ×', ok: m.job / m.cp <= 1.3 },
    { name: 'hyper2kvm ÷ job (how much faster)', value: m.hyper2kvm / m.job, unit: '×', target: '≥ 1.5 ×', ok: m.hyper2kvm / m.job >= 1.5 },
    { name: 'peak RSS of the runner process (VmHWM)', value: rssKiB / 1024, unit: 'MiB', target: '≤ 150 MiB', ok: rssKiB / 1024 <= 150, detail: 'the worker process over all its jobs, qemu-img not included' },
  ];
  rows.push({
    name: 'job overhead: job − its own copy stage (median)',
    value: median(overhead),
    unit: 's',
    target: '',
    ok: true,
    detail: `queueing, pre-flight, flush, publishing and bookkeeping; ≤ 5 % of a copy of ${(median(overhead) / 0.05).toFixed(1)} s or longer`,
  });
  if (times.plain.length) {
    rows.push({ name: 'same flags, source without io_uring (informative)', value: m.plain, unit: 's', target: '', ok: true, detail: `runs: ${times.plain.map((t) => t.toFixed(2)).join(', ')}` });
  }
  return {
    rows,
    notes: [
      `Job stages (median s): ${Object.entries(stages).map(([k, v]) => `${k} ${median(v).toFixed(2)}`).join(', ')}.`,
      `The job's qemu-img command line: \`${bareCommand.join(' ')} <target>\`.`,
      dropped ? 'Page cache dropped before every run (cold reads).' : 'The page cache could NOT be dropped (not root?): runs after the first may read from memory.',
      `${ctx.runs} rounds, the variants in a new (seeded random) order every round, the job and bare qemu-img always back to back (in either order); medians reported. Outputs are deleted only between rounds (then sync and 3 s of rest), since deleting a 1 GiB file on this discard-mounted filesystem sends discards that slow the next run.`,
      'Where the gap to bare qemu-img is (investigated 2026-11-29 on this 2-core host): (1) fixed costs, the overhead row: submit, three probes (qemu-img info, check, measure) and the flush and rename; each spawn blocks the worker for about 25 ms here (fork of a 90 MiB process in this VM), which is most of the pre-flight. (2) Inside the copy: the job\'s qemu-img, same command line, used more CPU than the bare one in alternating runs (perf stat task-clock 1.30-1.56 s against 0.92-1.28 s, same kernel profile: copy_to_iter and pvm_irq_enable on top). Ruled out, each by an alternating A/B run: the progress pipe (the job without -p was as slow), the probes run before the copy (bare after the same probes was not slower), the worker\'s code pages dropped with the page cache (re-read first: no change), sched autogroups (off: no change), and the process attributes (environment, limits, cgroup, CPU mask, speculation flags: identical; only SigIgn differs). The same qemu-img started by runTool from a small Node script was 3-10 % slower than from bash. Cause not found; the target is not met in this report.',
    ],
  };
}
