/**
 * UI benchmarks in the system's Chromium, through the built `h2k-worker serve` (npm run build
 * first): first contentful paint of the app in browser mode (target ≤ 1 s), and the longest
 * main-thread task (Long Tasks API) while four real conversions stream their progress into the
 * Progress view (target: none over 100 ms). Reported, never asserted.
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { launchBrowser, requireBuild, startServe } from '../test/e2e/support';
import { fixtures } from '../test/support/fixtures';
import { tempDir } from '../test/support/helpers';
import type { BenchContext, BenchRow } from './run';

export const title = 'UI (browser mode)';
export const description =
  'The built app in the system Chromium through `h2k-worker serve`: first contentful paint (cold profile, after the redirect that drops the token), and the longest main-thread task while four real conversions stream progress.';

async function call(origin: string, token: string, method: string, body: unknown): Promise<unknown> {
  const res = await fetch(`${origin}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const env = (await res.json()) as { ok: boolean; value: unknown; error: unknown };
  if (!env.ok) throw new Error(`${method}: ${JSON.stringify(env.error)}`);
  return env.value;
}

export async function run(ctx?: BenchContext): Promise<BenchRow[]> {
  requireBuild();
  const tmp = tempDir('h2k-bench-ui-');
  ctx?.log('serving the built app and opening Chromium');
  const rows: BenchRow[] = [];
  const dataDir = join(tmp.path, 'data');
  const out = join(tmp.path, 'out');
  mkdirSync(out);
  try {
    // Four jobs at once: the runner reads its concurrency from the settings when it starts.
    let served = await startServe(dataDir, [out]);
    await call(served.origin, served.token, 'settings.set', { concurrency: 4 });
    await served.stop();
    served = await startServe(dataDir, [out]);
    const { context, page } = await launchBrowser(join(tmp.path, 'profile'));
    try {
      // 1. First contentful paint after the redirect that drops the token (cold cache).
      await page.goto(served.url);
      await page.waitForFunction(() => performance.getEntriesByName('h2k-ready').length > 0);
      const paint = await page.evaluate(() => {
        const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null;
        const ready = performance.getEntriesByName('h2k-ready')[0]?.startTime ?? null;
        return { fcp, ready };
      });
      rows.push({
        name: 'first contentful paint, browser mode',
        value: Math.round(paint.fcp ?? -1),
        unit: 'ms',
        target: '≤ 1000 ms',
        ok: paint.fcp !== null && paint.fcp <= 1000,
        detail: `snapshot loaded and stream subscribed at ${Math.round(paint.ready ?? -1)} ms`,
      });

      // 2. Long tasks while 4 conversions stream progress (about 10 events/s each).
      await page.goto(`${served.origin}/#/progress`);
      await page.reload();
      await page.waitForFunction(() => performance.getEntriesByName('h2k-ready').length > 0);
      await page.evaluate(() => {
        const w = window as unknown as { __longTasks: number[] };
        w.__longTasks = [];
        new PerformanceObserver((list) => {
          for (const e of list.getEntries()) w.__longTasks.push(e.duration);
        }).observe({ type: 'longtask' });
      });
      const source = fixtures['debian-vmdk-monolithicSparse'];
      const ids: string[] = [];
      for (let i = 0; i < 4; i++) {
        const job = (await call(served.origin, served.token, 'jobs.submit', {
          spec: { operation: 'convert', params: { disks: [{ source, output: join(out, `bench-${i}.qcow2`) }], rate_limit_bps: 12 * 1024 * 1024 } },
        })) as { id: string };
        ids.push(job.id);
      }
      const started = Date.now();
      let events = 0;
      // Watch for 12 s of streaming, or until all four are done.
      while (Date.now() - started < 12_000) {
        await page.waitForTimeout(500);
        const states = await page.evaluate((list) => list.map((id) => document.querySelector(`[data-testid="job-${id}"]`)?.getAttribute('data-state') ?? ''), ids);
        if (states.every((s) => s === 'COMPLETED' || s === 'FAILED')) break;
      }
      const seconds = (Date.now() - started) / 1000;
      for (const id of ids) await call(served.origin, served.token, 'jobs.cancel', { id }).catch(() => undefined);
      for (const id of ids) {
        const stored = ((await call(served.origin, served.token, 'jobs.events', { id, limit: 5000 })) as { events: { type: string }[] }).events;
        events += stored.filter((e) => e.type === 'progress').length;
      }
      const longTasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
      const max = longTasks.length ? Math.max(...longTasks) : 0;
      rows.push({
        name: 'longest main-thread task, 4 jobs streaming',
        value: Math.round(max),
        unit: 'ms',
        target: 'none > 100 ms',
        ok: max <= 100,
        detail: `${longTasks.length} long task(s) (> 50 ms) over ${seconds.toFixed(1)} s; ${events} progress events streamed for the 4 jobs`,
      });
    } finally {
      await context.close();
      await served.stop();
    }
  } finally {
    tmp.cleanup();
  }
  return rows;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  for (const r of await run()) console.log(`${r.ok ? 'ok  ' : 'SLOW'} ${r.name}: ${r.value} ${r.unit} (target ${r.target})${r.detail ? ` — ${r.detail}` : ''}`);
}
