/**
 * Worker-core benchmarks, through the store's own API on a real SQLite file:
 * progress events persisted per second; the newest page of 50 and a filtered page from
 * 100,000 jobs; the cached capability report. Reported, never asserted.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { JobStore } from '../electron/store/store';
import { JobSpec, JobState } from '../shared/protocol';
import { detectCapabilities } from '../electron/capabilities/detect';

import type { BenchContext, BenchRow } from './run';

export const title = 'Worker core: store and capability report';
export const description =
  'Through the store\'s own API on a real SQLite file (WAL): progress events persisted per second (batched commits), the newest and a filtered page of 50 from 100,000 jobs created through the API, and the capability report served from the host-wide cache.';

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

function time(fn: () => void, runs: number): number {
  const out: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t = process.hrtime.bigint();
    fn();
    out.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  return median(out);
}

export async function run(ctx: BenchContext): Promise<BenchRow[]> {
  const dir = mkdtempSync(join(ctx.dir, 'store-'));
  const rows: BenchRow[] = [];
  const store = JobStore.open(dir);
  try {
    // 1. Progress events through appendEvent (batched commits), 200,000 of them.
    const spec = JobSpec.parse({ id: 'bench-events', operation: 'convert', params: { disks: [{ source: '/a.vmdk', output: '/b.qcow2' }] } });
    store.createJob({ id: spec.id!, operation: 'convert', priority: 50, title: 'bench', labels: {}, submitted: spec, spec });
    const n = 200_000;
    const t0 = process.hrtime.bigint();
    for (let i = 0; i < n; i++) {
      store.appendEvent({ type: 'progress', job_id: 'bench-events', stage: 'copy', percent: (i / n) * 100, bytes_done: i * 4096, bytes_total: n * 4096, rate_bps: 1e9, eta_s: 1 });
    }
    store.flush();
    const secs = Number(process.hrtime.bigint() - t0) / 1e9;
    const stored = store.eventsOf('bench-events', 0, 5000).length;
    const perSec = n / secs;
    rows.push({ name: 'progress events persisted', value: Math.round(perSec), unit: 'events/s', target: '≥ 50,000/s', ok: perSec >= 50_000, detail: `${n} events in ${secs.toFixed(2)} s (first page read back: ${stored})` });

    // 2. 100,000 jobs, created through the store's API in one transaction, a spread of states.
    const states: JobState[] = ['QUEUED', 'FAILED', 'COMPLETED', 'CANCELLED'];
    const PATHS: Partial<Record<JobState, JobState[]>> = {
      QUEUED: ['VALIDATED', 'QUEUED'],
      FAILED: ['VALIDATED', 'FAILED'],
      CANCELLED: ['VALIDATED', 'QUEUED', 'CANCELLED'],
      COMPLETED: ['VALIDATED', 'QUEUED', 'ASSIGNED', 'RUNNING', 'PROGRESSING', 'COMPLETED'],
    };
    const insert = store.db.transaction(() => {
      for (let i = 0; i < 100_000; i++) {
        const id = `bench-${String(i).padStart(6, '0')}`;
        store.createJob({ id, operation: i % 3 ? 'convert' : 'inspect', priority: 50, title: `disk-${i}.vmdk → disk-${i}.qcow2`, labels: { site: i % 2 ? 'lab' : 'prod' }, submitted: {}, spec: null });
        // Legal paths only: the state machine checks every move, here as in production.
        const path = PATHS[states[i % states.length]!] ?? [];
        for (const to of path) store.transition(id, to, 'bench');
      }
    });
    const ti = process.hrtime.bigint();
    insert();
    const insertS = Number(process.hrtime.bigint() - ti) / 1e9;
    const newest = time(() => store.list({ limit: 50 }), 30);
    const filtered = time(() => store.list({ limit: 50, state: ['FAILED'], operation: 'convert' }), 30);
    const searched = time(() => store.list({ limit: 50, search: 'disk-4242' }), 10);
    rows.push({ name: 'newest page of 50 from 100,000 jobs', value: +newest.toFixed(2), unit: 'ms', target: '≤ 20 ms', ok: newest <= 20, detail: `jobs created through the API in ${insertS.toFixed(1)} s` });
    rows.push({ name: 'filtered page (state FAILED, convert) of 50 from 100,000', value: +filtered.toFixed(2), unit: 'ms', target: '≤ 20 ms', ok: filtered <= 20 });
    rows.push({ name: 'text search page from 100,000 (not a target; for reference)', value: +searched.toFixed(2), unit: 'ms', target: '—', ok: true });
  } finally {
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }

  // 3. The cached capability report (slow probes from the host-wide cache, cheap facts live).
  const data = mkdtempSync(join(ctx.dir, 'caps-'));
  try {
    await detectCapabilities({ dataDir: data, scratchDir: data, probeAppliance: false });
    const runs: number[] = [];
    for (let i = 0; i < 10; i++) {
      const t = process.hrtime.bigint();
      await detectCapabilities({ dataDir: data, scratchDir: data, probeAppliance: false });
      runs.push(Number(process.hrtime.bigint() - t) / 1e6);
    }
    const m = median(runs);
    rows.push({ name: 'cached capability report', value: +m.toFixed(1), unit: 'ms', target: '≤ 150 ms', ok: m <= 150, detail: 'median of 10, after one warm-up' });
  } finally {
    rmSync(data, { recursive: true, force: true });
  }
  return rows;
}
