/**
 * End-to-end support: the built `h2k-worker serve` as a child process on a fresh data folder,
 * the system's Chromium driven by playwright-core with a fresh user-data folder, screenshots
 * for docs/screenshots, the axe scan, and keyboard helpers. Needs `npm run build` first (the
 * tests use what ships: dist/cli and dist/renderer).
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import AxeBuilder from '@axe-core/playwright';
import { REPO } from '../support/helpers';

export const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
export const CHROMIUM_ARGS = ['--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--disable-sync', '--no-first-run'];
export const SCREENSHOTS = join(REPO, 'docs', 'screenshots');

/** Throws with the fix when the app is not built. */
export function requireBuild(): void {
  for (const f of ['dist/cli/h2k-worker.mjs', 'dist/renderer/index.html']) {
    if (!existsSync(join(REPO, f))) throw new Error(`${f} is missing: run \`npm run build\` before the e2e tests`);
  }
}

export interface Served {
  child: ResultPromise;
  /** The printed URL, with the token. */
  url: string;
  origin: string;
  token: string;
  stderr(): string;
  stop(signal?: NodeJS.Signals): Promise<number | undefined>;
}

/** Start `node bin/h2k-worker.js serve --port 0 --data-dir DIR --root ROOT...`; resolves once it printed its URL. */
export async function startServe(dataDir: string, roots: readonly string[]): Promise<Served> {
  const args = ['bin/h2k-worker.js', '--data-dir', dataDir, 'serve', '--port', '0', ...roots.flatMap((r) => ['--root', r])];
  const child = execa(process.execPath, args, { cwd: REPO, reject: false, buffer: false });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`serve printed no URL in 30 s: ${err}`)), 30_000);
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /http:\/\/127\.0\.0\.1:\d+\/\?token=[A-Za-z0-9_-]{43}/.exec(out);
      if (m) {
        clearTimeout(timer);
        resolve(m[0]);
      }
    });
    void child.then((r) => reject(new Error(`serve exited (${r.exitCode}): ${err}`)));
  });
  const u = new URL(url);
  return {
    child,
    url,
    origin: u.origin,
    token: u.searchParams.get('token')!,
    stderr: () => err,
    async stop(signal = 'SIGTERM') {
      if (child.exitCode === null) child.kill(signal);
      return (await child).exitCode;
    },
  };
}

/** Chromium with a fresh user-data folder (headless), its first page at 1280×720. */
export async function launchBrowser(userDataDir: string, colorScheme: 'light' | 'dark' = 'light'): Promise<{ context: BrowserContext; page: Page }> {
  mkdirSync(userDataDir, { recursive: true });
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 1280, height: 720 },
    colorScheme,
    acceptDownloads: true,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  return { context, page };
}

/** Fail the test on any error the page throws or logs. */
export function watchPageErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(`pageerror: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(`console: ${m.text()}`);
  });
  return errors;
}

export async function screenshot(page: Page, name: string, fullPage = false): Promise<void> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage });
}

/** Serious and critical axe violations of the page as it is, as readable lines. */
export async function axeViolations(page: Page): Promise<string[]> {
  const r = await new AxeBuilder({ page }).withTags(['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'best-practice']).analyze();
  return r.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} — ${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(' | ')}`);
}

/** The focused element's accessible description: role-ish tag, name and label. */
export async function focused(page: Page): Promise<{ tag: string; text: string; label: string; id: string; type: string }> {
  return page.evaluate(() => {
    const el = document.activeElement as HTMLElement | null;
    if (!el) return { tag: '', text: '', label: '', id: '', type: '' };
    const labelled = el.id ? document.querySelector(`label[for="${CSS.escape(el.id)}"]`)?.textContent ?? '' : '';
    return {
      tag: el.tagName.toLowerCase(),
      text: (el.textContent ?? '').trim(),
      label: el.getAttribute('aria-label') ?? labelled,
      id: el.id,
      type: (el as HTMLInputElement).type ?? '',
    };
  });
}

/**
 * Press Tab (or Shift+Tab) until the focused element matches, at most `max` times; throws
 * naming what got focus on the way, so a broken focus order reads clearly.
 */
export async function tabTo(page: Page, match: (f: Awaited<ReturnType<typeof focused>>) => boolean, what: string, max = 60, back = false): Promise<void> {
  const seen: string[] = [];
  for (let i = 0; i < max; i++) {
    await page.keyboard.press(back ? 'Shift+Tab' : 'Tab');
    const f = await focused(page);
    if (match(f)) return;
    seen.push(`${f.tag}${f.id ? '#' + f.id : ''}:${(f.label || f.text).slice(0, 30)}`);
  }
  throw new Error(`no ${what} within ${max} Tab presses; focus went: ${seen.join(' → ')}`);
}

/** Whether the focused element shows a visible focus indicator (outline or box-shadow). */
export async function focusVisible(page: Page): Promise<boolean> {
  return page.evaluate(() => {
    const el = document.activeElement;
    if (!el) return false;
    const s = getComputedStyle(el);
    return (s.outlineStyle !== 'none' && parseFloat(s.outlineWidth) > 0) || s.boxShadow !== 'none';
  });
}
