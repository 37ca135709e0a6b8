/**
 * The inspect-and-convert flow by keyboard alone (Tab, Shift+Tab, Enter, Space, Escape and
 * typing; no pointer), on a fresh server and browser profile: real focus order, visible focus,
 * the file picker dialog is no trap, focus moves to each new view's heading (to the new job's
 * card after a submit), and a refused submit moves focus to the first field in error.
 */
import { mkdirSync, readdirSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { JobSummary } from '../../shared/protocol';
import { fixtures } from '../support/fixtures';
import { tempDir } from '../support/helpers';
import { focusVisible, focused, launchBrowser, requireBuild, startServe, tabTo, watchPageErrors, type Served } from './support';

const DISK = fixtures['debian-vmdk-monolithicSparse'];

let tmp: ReturnType<typeof tempDir>;
let served: Served;
let context: BrowserContext;
let page: Page;
let errors: string[];
let out: string;

async function latest(operation: string): Promise<JobSummary> {
  const res = await fetch(`${served.origin}/api/jobs.list`, {
    method: 'POST',
    headers: { authorization: `Bearer ${served.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ operation, limit: 1 }),
  });
  return ((await res.json()) as { value: { jobs: JobSummary[] } }).value.jobs[0]!;
}

const heading = () => page.getByRole('heading', { level: 1 }).textContent();

beforeAll(async () => {
  requireBuild();
  tmp = tempDir('h2k-e2e-kbd-');
  out = join(tmp.path, 'out');
  mkdirSync(out);
  served = await startServe(join(tmp.path, 'data'), [dirname(DISK), out]);
  ({ context, page } = await launchBrowser(join(tmp.path, 'profile')));
  errors = watchPageErrors(page);
  await page.goto(served.url);
  await page.getByRole('heading', { level: 1, name: 'New job' }).waitFor();
});

afterAll(async () => {
  await context?.close();
  await served?.stop();
  tmp?.cleanup();
});

describe.sequential('keyboard alone', () => {
  it('skips to the content, and opens and leaves the file picker without a trap', async () => {
    await page.keyboard.press('Tab');
    expect(await focused(page)).toMatchObject({ tag: 'button', text: 'Skip to content' });
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('Enter');
    expect(await focused(page)).toMatchObject({ tag: 'h1', text: 'New job' });
    await tabTo(page, (f) => f.text === 'Choose disks…', 'the Choose disks button');
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('Enter');
    const dialog = page.getByRole('dialog', { name: 'Choose disks' });
    await dialog.waitFor();
    await expect.poll(() => dialog.getByTestId('picker-path').textContent()).toBe(dirname(DISK));
    // Focus stays in the dialog while it is open; Escape leaves it and focus comes back.
    for (let i = 0; i < 6; i++) {
      await page.keyboard.press('Tab');
      expect(await page.evaluate(() => Boolean(document.activeElement?.closest('dialog')))).toBe(true);
    }
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.isVisible()).toBe(false);
    expect(await focused(page)).toMatchObject({ tag: 'button', text: 'Choose disks…' });
  });

  it('builds and submits an inspection', async () => {
    // No error is shown before any input; a submit without a disk moves focus to the disks.
    expect(await page.locator('.field-errors').count()).toBe(0);
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Inspect', 'the Inspect button');
    await page.keyboard.press('Enter');
    await expect.poll(() => focused(page)).toMatchObject({ id: 'disk-path' });
    expect(await page.getByTestId('errors-disks-errors').textContent()).not.toBe('');
    expect(await heading()).toBe('New job');
    await page.keyboard.type(DISK);
    await page.keyboard.press('Enter');
    expect(await page.getByRole('list', { name: 'Chosen disks' }).textContent()).toContain(DISK);
    await tabTo(page, (f) => f.type === 'radio', 'the operation radios');
    expect(await focused(page)).toMatchObject({ id: 'op-inspect' });
    await tabTo(page, (f) => f.id === 'opt-guest', 'the guest inspection checkbox');
    await page.keyboard.press('Space');
    expect(await page.locator('#opt-guest').isChecked()).toBe(false);
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Inspect', 'the Inspect button');
    expect(await focusVisible(page)).toBe(true);
    await page.keyboard.press('Enter');
    await expect.poll(heading).toBe('Progress');
    const job = await latest('inspect');
    expect(job).toMatchObject({ title: basename(DISK) });
    // Focus goes to the new job's card, with a visible focus ring.
    await expect.poll(() => focused(page)).toMatchObject({ tag: 'li', id: `job-card-${job.id}` });
    expect(await focusVisible(page)).toBe(true);
    await expect.poll(() => page.getByTestId(`job-${job.id}`).getAttribute('data-state'), { timeout: 120_000 }).toBe('COMPLETED');
    await tabTo(page, (f) => f.text === 'Open report', 'the Open report button');
    await page.keyboard.press('Enter');
    await expect.poll(heading).toBe('Inspection report');
    expect(await focused(page)).toMatchObject({ tag: 'h1' });
  });

  it('converts the inspected disk', async () => {
    await tabTo(page, (f) => f.text === 'Convert these disks…', 'the Convert these disks button');
    await page.keyboard.press('Enter');
    await expect.poll(heading).toBe('New job');
    expect(await page.getByRole('radio', { name: 'Convert' }).isChecked()).toBe(true);
    await tabTo(page, (f) => f.id === 'dest', 'the destination field');
    await page.keyboard.press('Control+A');
    await page.keyboard.type(out);
    await tabTo(page, (f) => f.tag === 'button' && f.text === 'Convert', 'the Convert button');
    await page.keyboard.press('Enter');
    await expect.poll(heading).toBe('Progress');
    const job = await latest('convert');
    await expect.poll(() => page.getByTestId(`job-${job.id}`).getAttribute('data-state'), { timeout: 180_000 }).toBe('COMPLETED');
    expect(readdirSync(out)).toEqual([`${basename(DISK, '.vmdk')}.qcow2`]);
  });

  it('reaches every view from the navigation, backwards too', async () => {
    await tabTo(page, (f) => f.text.startsWith('History'), 'the History navigation button', 80, true);
    await page.keyboard.press('Enter');
    await expect.poll(heading).toBe('History');
    await tabTo(page, (f) => f.text === 'Settings', 'the Settings navigation button', 80, true);
    await page.keyboard.press('Enter');
    await expect.poll(heading).toBe('Settings');
    await tabTo(page, (f) => f.id === 'set-concurrency', 'the concurrency field');
    expect(await focusVisible(page)).toBe(true);
    expect(errors).toEqual([]);
  });
});
