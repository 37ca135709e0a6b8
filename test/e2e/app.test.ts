/**
 * The app end to end in the system's Chromium, through `h2k-worker serve` (built), on a fresh
 * data folder and a fresh browser profile: a real Debian 12 vmdk (test fixture) inspected with
 * the libguestfs appliance, converted with qemu-img (rate-limited so progress can be watched),
 * another conversion followed across a reload and cancelled, a finding turned into the spec of
 * its fix, the history, a server restart, and an axe scan and a screenshot of every view.
 */
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Finding, type JobDetail, type JobSummary } from '../../shared/protocol';
import { ERROR_CATALOGUE } from '../../shared/errors';
import { fixtures } from '../support/fixtures';
import { tempDir } from '../support/helpers';
import { axeViolations, launchBrowser, requireBuild, screenshot, startServe, watchPageErrors, type Served } from './support';

const DISK = fixtures['debian-vmdk-monolithicSparse'];
const DISK_DIR = dirname(DISK);
const OUTPUT_NAME = `${basename(DISK, '.vmdk')}.qcow2`;

let tmp: ReturnType<typeof tempDir>;
let served: Served;
let context: BrowserContext;
let page: Page;
let errors: string[];
let out: string;
let inspectId = '';
let convertId = '';

async function api<T>(s: Served, method: string, body: unknown): Promise<T> {
  const res = await fetch(`${s.origin}/api/${method}`, { method: 'POST', headers: { authorization: `Bearer ${s.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const env = (await res.json()) as { ok: boolean; value: T; error: unknown };
  if (!env.ok) throw new Error(`${method}: ${JSON.stringify(env.error)}`);
  return env.value;
}

/** The one job card of a job id in the progress view. */
const card = (id: string) => page.getByTestId(`job-${id}`);

async function nav(name: string): Promise<void> {
  await page.getByRole('navigation', { name: 'Views' }).getByRole('button', { name }).click();
}

beforeAll(async () => {
  requireBuild();
  if (!existsSync(DISK)) throw new Error(`fixture ${DISK} is missing: run npm run fixtures`);
  tmp = tempDir('h2k-e2e-');
  out = join(tmp.path, 'out');
  mkdirSync(join(out, 'cancel'), { recursive: true });
  served = await startServe(join(tmp.path, 'data'), [DISK_DIR, out]);
  ({ context, page } = await launchBrowser(join(tmp.path, 'profile')));
  errors = watchPageErrors(page);
});

afterAll(async () => {
  await context?.close();
  await served?.stop();
  tmp?.cleanup();
});

describe.sequential('the app in a browser through h2k-worker serve', () => {
  it('refuses API requests without the token, or sent from another web page', async () => {
    const none = await fetch(`${served.origin}/api/jobs.list`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(none.status).toBe(401);
    expect(await none.json()).toMatchObject({ ok: false, error: { code: 'unauthorized', message: ERROR_CATALOGUE.unauthorized.message } });
    const foreign = await fetch(`${served.origin}/api/jobs.list`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${served.token}`, origin: 'https://evil.example' },
      body: '{}',
    });
    expect(foreign.status).toBe(403);
    expect(await foreign.json()).toMatchObject({ ok: false, error: { code: 'forbidden_origin' } });
    const events = await fetch(`${served.origin}/api/events`, { headers: { origin: 'https://evil.example' } });
    expect(events.status).toBe(403);
  });

  it('opens with the printed URL: the token becomes an HttpOnly cookie and leaves the address bar', async () => {
    await page.goto(served.url);
    await expect.poll(() => page.url()).toBe(`${served.origin}/`);
    const cookies = await context.cookies(served.origin);
    expect(cookies).toEqual([expect.objectContaining({ name: `h2k_token_${new URL(served.origin).port}`, value: served.token, httpOnly: true, sameSite: 'Strict' })]);
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('New job');
    expect(await page.evaluate(() => document.cookie)).toBe('');
  });

  it('inspects a real Debian vmdk chosen with the file picker, and shows its distro and findings', async () => {
    await page.getByRole('button', { name: 'Choose disks…' }).click();
    const dialog = page.getByRole('dialog', { name: 'Choose disks' });
    await dialog.waitFor();
    await expect.poll(() => dialog.getByTestId('picker-path').textContent()).toBe(DISK_DIR);
    // Extents are shown but cannot be picked; the descriptor can.
    expect(await dialog.getByText('debian-twoGbMaxExtentSparse-s001.vmdk').count()).toBe(1);
    expect(await dialog.getByRole('checkbox', { name: 'debian-twoGbMaxExtentSparse-s001.vmdk' }).count()).toBe(0);
    // Files are labelled by what they plausibly are, not by their extension alone.
    const row = dialog.locator('li', { has: page.getByRole('checkbox', { name: basename(DISK) }) });
    expect(await row.getByTestId('file-kind').textContent()).toBe('disk image');
    await dialog.getByRole('checkbox', { name: basename(DISK) }).check();
    await screenshot(page, 'file-picker');
    await dialog.getByRole('button', { name: 'Add 1 disk' }).click();
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(await page.getByRole('list', { name: 'Chosen disks' }).textContent()).toContain(DISK);
    await page.getByLabel('Destination folder (optional)').fill(out);
    await expect.poll(() => page.getByTestId('dest-space').textContent()).toMatch(/^Free space there: \d/);
    expect(await page.getByRole('radio', { name: 'Inspect' }).isChecked()).toBe(true);
    await page.getByRole('button', { name: 'Inspect', exact: true }).click();

    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Progress');
    const list = await api<{ jobs: JobSummary[] }>(served, 'jobs.list', {});
    inspectId = list.jobs[0]!.id;
    expect(list.jobs[0]).toMatchObject({ operation: 'inspect', title: basename(DISK) });
    // Focus goes to the new job's card.
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe(`job-card-${inspectId}`);
    await expect.poll(() => card(inspectId).getAttribute('data-state'), { timeout: 400_000, interval: 1000 }).toBe('COMPLETED');
    await card(inspectId).getByRole('button', { name: 'Open report' }).click();

    const report = page.getByTestId('report');
    await report.waitFor();
    const detail = await api<JobDetail>(served, 'jobs.get', { id: inspectId });
    const payload = detail.result!.payload as { guest: { status: string; roots: { distro: string; major_version: number }[] }; findings: unknown[] };
    expect(payload.guest.status).toBe('inspected');
    expect(payload.guest.roots[0]).toMatchObject({ distro: 'debian', major_version: 12 });
    const guest = page.getByTestId('guest-facts');
    await expect.poll(() => guest.locator('dt', { hasText: /^Distro$/ }).locator('xpath=following-sibling::dd[1]').textContent()).toBe('debian');
    expect(await guest.locator('dt', { hasText: /^Version$/ }).locator('xpath=following-sibling::dd[1]').textContent()).toMatch(/^12(\.\d+)?$/);
    const findings = payload.findings.map((f) => Finding.parse(f));
    expect(findings.length).toBeGreaterThan(0);
    // The summary comes first: verdict, OS, counts; then the findings, then the facts.
    const summary = page.getByTestId('report-summary');
    const count = (sev: string) => findings.filter((f) => f.severity === sev).length;
    expect(await summary.getByTestId('summary-os').textContent()).toBe('Debian GNU/Linux 12, x86_64');
    const words = (n: number, one: string, many: string) => `${n} ${n === 1 ? one : many}`;
    const countLine = [words(count('blocker'), 'blocker', 'blockers'), words(count('warning'), 'warning', 'warnings'), `${count('info')} info`];
    expect(await summary.getByTestId('summary-counts').textContent()).toBe(countLine.join(' · '));
    expect(await summary.getByTestId('verdict').textContent()).toMatch(count('blocker') ? /^Not ready for KVM: \d+ blockers? to fix/ : /^(Can be converted|Nothing found)/);
    const order = await page.evaluate(() =>
      ['report-summary', 'findings-title', 'guest-title', 'disks-title'].map((id) => {
        const el = document.querySelector(`[data-testid="${id}"]`) ?? document.getElementById(id);
        return el ? el.getBoundingClientRect().top + window.scrollY : -1;
      }),
    );
    expect(order.every((y) => y >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(await page.getByRole('heading', { level: 2, name: /^Findings/ }).textContent()).toContain(`Findings (${findings.length}`);
    for (const f of findings) {
      const item = page.getByTestId(`finding-${f.id}`).first();
      expect(await item.getByRole('heading', { level: 4 }).textContent(), f.id).toBe(f.title);
      expect(await item.locator(`.sev-${f.severity}`).textContent()).toBe(f.severity);
      for (const ev of f.evidence) expect(await item.locator('.evidence').textContent()).toContain(ev.text.trim());
    }
    await screenshot(page, 'report', true);
    expect(await axeViolations(page)).toEqual([]);

    // Its card in Progress counts the findings by severity.
    await nav('Progress');
    await expect.poll(() => card(inspectId).getByTestId('finding-counts').textContent()).toBe(`Findings: ${countLine.join(' ')}`);
    await card(inspectId).getByRole('button', { name: 'Open report' }).click();
    await report.waitFor();
  });

  it('converts it with live progress: rising percents, rate and ETA, then COMPLETED', async () => {
    await page.getByRole('button', { name: 'Convert these disks…' }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('New job');
    expect(await page.getByRole('radio', { name: 'Convert' }).isChecked()).toBe(true);
    expect(await page.getByLabel('Destination folder', { exact: true }).inputValue()).toBe(out);
    expect(await page.getByRole('list', { name: 'Output files' }).textContent()).toContain(join(out, OUTPUT_NAME));
    // Inline validation from the JobSpec schema, next to the field.
    await page.getByLabel('Rate limit (MiB/s)').fill('fast');
    expect(await page.getByTestId('errors-opt-rate').textContent()).toContain('a positive number of MiB/s');
    // A refused submit sends nothing and moves focus to the first field in error.
    await page.getByRole('button', { name: 'Convert', exact: true }).click();
    await expect.poll(() => page.evaluate(() => document.activeElement?.id)).toBe('opt-rate');
    expect(await page.getByRole('heading', { level: 1 }).textContent()).toBe('New job');
    expect(await page.getByTestId('submit-incomplete').textContent()).toBe('Not submitted: complete the fields marked above.');
    await page.getByLabel('Rate limit (MiB/s)').fill('10');
    expect(await page.getByTestId('errors-opt-rate').count()).toBe(0);
    await page.getByRole('button', { name: 'Convert', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Progress');
    convertId = (await api<{ jobs: JobSummary[] }>(served, 'jobs.list', { operation: 'convert' })).jobs[0]!.id;

    const percents: number[] = [];
    const rates = new Set<string>();
    const etas = new Set<string>();
    let shot = false;
    const deadline = Date.now() + 180_000;
    while (Date.now() < deadline) {
      const state = await card(convertId).getAttribute('data-state');
      if (state === 'COMPLETED' || state === 'FAILED' || state === 'CANCELLED') break;
      if (state === 'PROGRESSING') {
        const text = (await card(convertId).getByTestId('percent').textContent()) ?? '';
        const p = Number(text.replace('%', ''));
        if (p > 0 && p < 100 && p !== percents.at(-1)) percents.push(p);
        const rate = (await card(convertId).getByTestId('rate').textContent()) ?? '';
        const eta = (await card(convertId).getByTestId('eta').textContent()) ?? '';
        if (rate !== '—') rates.add(rate);
        if (eta !== '—') etas.add(eta);
        if (!shot && p > 20) {
          await screenshot(page, 'progress');
          expect(await axeViolations(page)).toEqual([]);
          shot = true;
        }
      }
      await page.waitForTimeout(150);
    }
    expect(await card(convertId).getAttribute('data-state')).toBe('COMPLETED');
    expect(percents.length, `intermediate percents seen: ${percents.join(', ')}`).toBeGreaterThanOrEqual(3);
    expect([...percents].sort((a, b) => a - b)).toEqual(percents);
    expect([...rates].every((r) => /^\d+(\.\d+)? (B|KiB|MiB|GiB)\/s$/.test(r)), [...rates].join(', ')).toBe(true);
    expect(rates.size).toBeGreaterThan(0);
    expect([...etas].every((e) => /^\d+(\.\d+)? s$|min/.test(e)), [...etas].join(', ')).toBe(true);
    expect(etas.size).toBeGreaterThan(0);
    expect(await card(convertId).getByTestId('percent').textContent()).toBe('100%');
    expect(statSync(join(out, OUTPUT_NAME)).size).toBeGreaterThan(1024 * 1024);
  });

  it('keeps following a job across a reload, and cancels it, leaving no output', async () => {
    await nav('New job');
    // The form was reset for the next job: no disk, the options kept, and no error shown before any input.
    expect(await page.getByText('No disk chosen yet.').count()).toBe(1);
    expect(await page.getByRole('radio', { name: 'Convert' }).isChecked()).toBe(true);
    expect(await page.getByLabel('Destination folder', { exact: true }).inputValue()).toBe(out);
    expect(await page.locator('.field-errors').count()).toBe(0);
    await page.getByLabel('or a path').fill(DISK);
    await page.getByRole('button', { name: 'Add path' }).click();
    await page.getByLabel('Destination folder', { exact: true }).fill(join(out, 'cancel'));
    await page.getByLabel('Rate limit (MiB/s)').fill('1');
    await page.getByRole('button', { name: 'Convert', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe('Progress');
    const id = (await api<{ jobs: JobSummary[] }>(served, 'jobs.list', { operation: 'convert' })).jobs[0]!.id;
    expect(id).not.toBe(convertId);
    const percentOf = async () => Number(((await card(id).getByTestId('percent').textContent()) ?? '0').replace('%', ''));
    await expect.poll(percentOf, { timeout: 60_000 }).toBeGreaterThan(0);
    const before = await percentOf();

    await page.reload();
    await card(id).waitFor();
    expect(await card(id).getAttribute('data-state')).toBe('PROGRESSING');
    await expect.poll(percentOf, { timeout: 60_000 }).toBeGreaterThan(before);

    await card(id).getByRole('button', { name: 'Cancel' }).click();
    await expect.poll(() => card(id).getAttribute('data-state'), { timeout: 30_000 }).toBe('CANCELLED');
    // A cancel is no error: a neutral ending, with the hint that arrives with the refreshed summary.
    const ending = card(id).getByTestId('ending');
    await expect.poll(() => ending.getAttribute('data-tone')).toBe('neutral');
    await expect.poll(() => ending.textContent()).toBe(`Cancelled on request${ERROR_CATALOGUE.cancelled.hint}`);
    expect(await card(id).locator('.error-box').count()).toBe(0);
    expect(await card(id).getByRole('alert').count()).toBe(0);
    // The finished conversion's elapsed time comes from the stored job, so it survives a reload.
    await page.reload();
    await card(convertId).waitFor();
    await expect.poll(() => card(convertId).getByTestId('elapsed').textContent()).toMatch(/^\d+(\.\d+)? s$|min/);
    expect(readdirSync(join(out, 'cancel'))).toEqual([]);
    const d = await api<JobDetail>(served, 'jobs.get', { id });
    expect(d.summary.state).toBe('CANCELLED');
    expect(d.result?.artifacts).toEqual([]);
  });

  it('turns a finding into the job spec of its fix: exact operation, parameters and the converted copy as target', async () => {
    await page.goto(`${served.origin}/#/report/${inspectId}`);
    await page.getByTestId('report').waitFor();
    const detail = await api<JobDetail>(served, 'jobs.get', { id: inspectId });
    const findings = (detail.result!.payload as { findings: unknown[] }).findings.map((f) => Finding.parse(f));
    const f = findings.find((x) => x.remediation.kind === 'operation');
    expect(f, 'the Debian fixture has a finding with an operation remedy').toBeDefined();
    if (!f || f.remediation.kind !== 'operation') return;
    const item = page.getByTestId(`finding-${f.id}`).first();
    const output = join(out, OUTPUT_NAME);
    await expect.poll(() => item.getByTestId(`finding-${f.id}-target`).textContent()).toContain(`(from job ${convertId})`);
    expect(await item.getByTestId(`finding-${f.id}-target`).textContent()).toContain(output);
    const spec = JSON.parse((await item.getByTestId(`finding-${f.id}-spec`).textContent()) ?? '{}') as { operation: string; params: Record<string, unknown>; labels: Record<string, string> };
    expect(spec).toEqual({
      operation: f.remediation.operation,
      params: { ...f.remediation.params, disks: [output] },
      labels: { finding: f.id, inspect_job: inspectId },
    });
    expect(f.remediation.target).toBe('converted_output');
    // Repairs are not in this version: the one-click button is there, disabled, with the reason.
    const create = item.getByRole('button', { name: 'Create fix job' });
    expect(await create.isDisabled()).toBe(true);
    const why = await create.getAttribute('aria-describedby');
    expect(await page.locator(`[id="${why}"]`).textContent()).toContain(ERROR_CATALOGUE.not_implemented.message);
  });

  it('shows the history with timelines, exports a report, and every view passes an axe scan', async () => {
    await nav('History');
    await expect.poll(() => page.getByTestId('history-count').textContent()).toBe('3 of 3 shown');
    await page.getByTestId(`history-${inspectId}`).getByRole('button').click();
    const detail = page.getByTestId('job-detail');
    await detail.waitFor();
    const states = await detail.getByTestId('timeline').locator('tbody tr td:first-child').allTextContents();
    expect(states).toEqual(['Created', 'Validated', 'Queued', 'Assigned', 'Running', 'Progressing', 'Completed']);
    const download = page.waitForEvent('download');
    await detail.getByRole('button', { name: 'Export Markdown' }).click();
    const file = await (await download).path();
    const md = readFileSync(file, 'utf8');
    expect(md).toContain(`# Job ${inspectId}: inspect`);
    expect(md).toContain('## Findings');
    await screenshot(page, 'history');
    expect(await axeViolations(page)).toEqual([]);

    await page.getByLabel('Search').fill('nothing-matches-this');
    await page.getByRole('button', { name: 'Search' }).click();
    await expect.poll(() => page.getByTestId('history-count').textContent()).toBe('0 of 0 shown');
    await page.getByLabel('Search').fill('');
    await page.getByLabel('State').selectOption('CANCELLED');
    await expect.poll(() => page.getByTestId('history-count').textContent()).toBe('1 of 1 shown');
    await page.getByLabel('State').selectOption('');

    for (const [view, name] of [
      ['New job', 'builder'],
      ['This machine', 'machine'],
      ['Settings', 'settings'],
      ['Progress', 'progress-finished'],
    ] as const) {
      await nav(view);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).textContent()).toBe(view === 'New job' ? 'New job' : view);
      if (view === 'This machine') await page.getByTestId('operations').waitFor();
      await screenshot(page, name);
      expect(await axeViolations(page), view).toEqual([]);
    }
    await page.emulateMedia({ colorScheme: 'dark' });
    await page.goto(`${served.origin}/#/report/${inspectId}`);
    await page.getByTestId('guest-facts').waitFor();
    await screenshot(page, 'report-dark');
    expect(await axeViolations(page), 'report, dark').toEqual([]);
    await page.emulateMedia({ colorScheme: 'light' });
    expect(errors).toEqual([]);
  });

  it('finds the history intact after the server restarts (new token: the old page is refused until the new URL is opened)', async () => {
    const before = await api<{ jobs: JobSummary[] }>(served, 'jobs.list', {});
    expect(await served.stop('SIGTERM')).toBe(0);
    served = await startServe(join(tmp.path, 'data'), [DISK_DIR, out]);
    await page.goto(`${served.origin}/#/history`);
    await expect.poll(() => page.getByRole('alert').first().textContent()).toContain(ERROR_CATALOGUE.unauthorized.message);
    await page.goto(served.url);
    await nav('History');
    await expect.poll(() => page.getByTestId('history-count').textContent()).toBe('3 of 3 shown');
    for (const j of before.jobs) {
      expect(await page.getByTestId(`history-${j.id}`).locator('.badge').textContent()).toBe(j.state[0] + j.state.slice(1).toLowerCase());
    }
  });

  it('pages the Reports list: a total, and Load more while older reports remain', async () => {
    // The restart above logged the refused requests of the old page on purpose: only what comes after counts.
    const seen = errors.length;
    // 25 quick inspections (no guest) after the first: 26 reports, one more than a page.
    for (let i = 0; i < 25; i++) await api(served, 'jobs.submit', { spec: { operation: 'inspect', params: { disks: [DISK], guest: false } } });
    const done = async () => (await api<{ total: number }>(served, 'jobs.list', { operation: 'inspect', state: ['COMPLETED'], limit: 1 })).total;
    await expect.poll(done, { timeout: 180_000, interval: 1000 }).toBe(26);
    await nav('Reports');
    await expect.poll(() => page.getByTestId('reports-count').textContent()).toBe('25 of 26 shown');
    expect(await page.getByTestId('reports-list').getByRole('listitem').count()).toBe(25);
    await page.getByRole('button', { name: 'Load more' }).click();
    await expect.poll(() => page.getByTestId('reports-count').textContent()).toBe('26 of 26 shown');
    expect(await page.getByTestId('reports-list').getByRole('listitem').last().textContent()).toContain(inspectId);
    expect(await page.getByRole('button', { name: 'Load more' }).count()).toBe(0);
    expect(await axeViolations(page), 'reports list').toEqual([]);
    expect(errors.slice(seen)).toEqual([]);
  });
});
