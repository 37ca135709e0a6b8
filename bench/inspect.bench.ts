/**
 * Inspect benchmark, on the test fixtures (test/fixtures/build-all.sh builds them if needed):
 * - image level: an inspect job with `guest: false` per disk (submit → COMPLETED, in-process
 *   worker and runner), for each container format of the Debian guest; median of
 *   H2K_BENCH_RUNS runs. Target ≤ 300 ms per disk.
 * - full inspection (one appliance, the whole guest part and the rules) of the Debian vmdk vs bare
 *   `virt-inspector --format=vmdk -a` on the same image, in the same run, with the same libguestfs
 *   environment (ctx.guestfsEnv: backend, force_tcg), in alternating order; medians of
 *   H2K_BENCH_APPLIANCE_RUNS rounds (default 2: each round starts two appliances). Target ≤ 1.3×.
 */
import { join } from 'node:path';
import { isTerminal, type InspectionReport } from '../shared/protocol';
import { openWorker, type Worker } from '../electron/worker/worker';
import { dispatch } from '../electron/worker/local-client';
import { runTool } from '../electron/tools/spawn';
import { ensureFixtures, fixtures, type FixtureName } from '../test/support/fixtures';
import type { BenchContext, BenchRow } from './run';

export const title = 'Inspect: image level per disk, and a full inspection against virt-inspector';
export const description =
  'Image level: an `inspect` job with `guest: false` (qemu-img info, check, measure; backing chain, extents) per disk of the Debian 12 fixture in each format. ' +
  'Full: the Debian 12 VMware guest (2 GiB monolithicSparse vmdk) with one TCG appliance, all guest facts (initramfs listing included) and the rules, against bare virt-inspector on the same image. Targets from issue 3.';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

async function job(w: Worker, disks: string[], guest: boolean): Promise<{ seconds: number; report: InspectionReport }> {
  const t0 = performance.now();
  const j = await dispatch(w.service, 'jobs.submit', { spec: { operation: 'inspect', params: { disks, guest } } });
  for (;;) {
    const state = w.store.stateOf(j.id);
    if (isTerminal(state)) break;
    await new Promise((r) => setTimeout(r, guest ? 200 : 5));
  }
  const seconds = (performance.now() - t0) / 1000;
  const d = await dispatch(w.service, 'jobs.get', { id: j.id });
  if (d.summary.state !== 'COMPLETED') throw new Error(`inspect job ${j.id} ${d.summary.state}: ${JSON.stringify(d.summary.error)}`);
  return { seconds, report: d.result!.payload as InspectionReport };
}

const IMAGE_LEVEL: FixtureName[] = [
  'debian-raw',
  'debian-qcow2',
  'debian-overlay-qcow2',
  'debian-vmdk-monolithicSparse',
  'debian-vmdk-streamOptimized',
  'debian-vmdk-twoGbMaxExtentSparse',
  'debian-vmdk-monolithicFlat',
  'debian-vhd',
  'debian-vhdx',
  'pattern-vdi',
];

export async function run(ctx: BenchContext): Promise<{ rows: BenchRow[]; notes: string[] }> {
  ctx.log('making sure the fixtures are built');
  await ensureFixtures(['debian', 'pattern']);
  const w = openWorker({ dataDir: join(ctx.dir, 'data'), runner: { pollMs: 5 } });
  const rows: BenchRow[] = [];
  const notes: string[] = [];
  try {
    w.startRunner();
    // --- image level --------------------------------------------------------------------------------
    await job(w, [fixtures['debian-raw']], false); // warm the capability cache and the page cache
    for (const name of IMAGE_LEVEL) {
      const times: number[] = [];
      const facts: number[] = [];
      for (let i = 0; i < ctx.runs; i++) {
        const r = await job(w, [fixtures[name]], false);
        times.push(r.seconds * 1000);
        facts.push(r.report.timings.image_s * 1000);
      }
      const m = median(times);
      rows.push({ name: `image level: ${name}`, value: m, unit: 'ms', target: '≤ 300 ms', ok: m <= 300, detail: `job submit→COMPLETED, median of ${ctx.runs}; image facts alone ${median(facts).toFixed(0)} ms` });
      ctx.log(`${name}: ${m.toFixed(0)} ms`);
    }

    // --- full inspection vs virt-inspector ---------------------------------------------------------------
    const rounds = Math.max(1, Number(process.env.H2K_BENCH_APPLIANCE_RUNS ?? 2) || 2);
    const env = await w.capabilities.guestfsEnv();
    const image = fixtures['debian-vmdk-monolithicSparse'];
    const ours: number[] = [];
    const theirs: number[] = [];
    const starts: number[] = [];
    const bare = async () => {
      const t0 = performance.now();
      const r = await runTool({ command: 'virt-inspector', args: ['--format=vmdk', '-a', image], env, timeoutMs: 900_000 });
      if (r.exitCode !== 0) throw new Error(`virt-inspector failed: ${r.stderr.slice(-500)}`);
      theirs.push((performance.now() - t0) / 1000);
      ctx.log(`virt-inspector: ${theirs.at(-1)!.toFixed(1)} s`);
    };
    const full = async () => {
      const r = await job(w, [image], true);
      ours.push(r.seconds);
      if (r.report.guest.appliance) starts.push(r.report.guest.appliance.start_seconds);
      ctx.log(`inspect job: ${r.seconds.toFixed(1)} s (appliance start ${r.report.guest.appliance?.start_seconds ?? '?'} s, ${r.report.findings.length} findings)`);
    };
    for (let i = 0; i < rounds; i++) {
      if (i % 2 === 0) {
        await bare();
        await full();
      } else {
        await full();
        await bare();
      }
    }
    const ratio = median(ours) / median(theirs);
    rows.push({ name: 'full inspection (job, one appliance)', value: median(ours), unit: 's', target: '', ok: true, detail: `median of ${rounds}: ${ours.map((s) => s.toFixed(1)).join(', ')}; appliance start ${starts.map((s) => s.toFixed(1)).join(', ')} s` });
    rows.push({ name: 'bare virt-inspector, same image', value: median(theirs), unit: 's', target: '', ok: true, detail: `median of ${rounds}: ${theirs.map((s) => s.toFixed(1)).join(', ')}` });
    rows.push({ name: 'full inspection ÷ virt-inspector', value: ratio, unit: '×', target: '≤ 1.3 ×', ok: ratio <= 1.3, detail: 'virt-inspector reads less (no initramfs, network, LVM config); both start one appliance' });
    notes.push(`libguestfs environment of both: ${Object.entries(env).map(([k, v]) => `${k}=${v}`).join(' ')}`);
  } finally {
    await w.close();
  }
  return { rows, notes };
}
