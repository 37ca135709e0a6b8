// Renders assets/icons/icon.svg into the PNG sizes electron-builder wants (Linux icon set and
// the 512 px master), with the system's Chromium through playwright-core. Run when the SVG
// changes: node build/render-icons.mjs
import { chromium } from 'playwright-core';
import { mkdirSync, readFileSync } from 'node:fs';

const svg = readFileSync(new URL('../assets/icons/icon.svg', import.meta.url), 'utf8');
const out = new URL('../assets/icons/', import.meta.url);
const browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox', '--disable-gpu'] });
try {
  mkdirSync(new URL('png/', out), { recursive: true });
  for (const size of [16, 32, 48, 64, 128, 256, 512]) {
    const page = await browser.newPage({ viewport: { width: size, height: size } });
    await page.setContent(`<html><body style="margin:0;background:transparent">${svg.replace('width="512" height="512"', `width="${size}" height="${size}"`)}</body></html>`);
    await page.screenshot({ path: new URL(`png/${size}x${size}.png`, out).pathname, omitBackground: true });
    if (size === 512) await page.screenshot({ path: new URL('icon.png', out).pathname, omitBackground: true });
    await page.close();
  }
} finally {
  await browser.close();
}
console.log('icons: done');
