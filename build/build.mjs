// Builds what runs: the CLI (and REST server) for Node, the Electron main process and its
// preload, and the renderer. esbuild for Node code, Vite for the renderer.
import { build } from 'esbuild';
import { existsSync, readFileSync, rmSync } from 'node:fs';
// eslint-disable-next-line no-restricted-imports -- a build step running Vite, not a tool the worker spawns
import { spawnSync } from 'node:child_process';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8'));
const define = { __H2K_VERSION__: JSON.stringify(pkg.version) };
const common = { bundle: true, platform: 'node', target: 'node20', sourcemap: true, define, logLevel: 'warning' };

rmSync('dist', { recursive: true, force: true });

// CLI and server: dependencies stay in node_modules (better-sqlite3 is native).
await build({ ...common, entryPoints: ['electron/cli/entry.ts'], outfile: 'dist/cli/h2k-worker.mjs', format: 'esm', packages: 'external' });

// Electron main process and preload (the preload is sandboxed: one file, only `electron` external).
if (existsSync('electron/shell/main.ts')) {
  await build({ ...common, entryPoints: ['electron/shell/main.ts'], outfile: 'dist/electron/main.cjs', format: 'cjs', external: ['electron', 'better-sqlite3'] });
  // Minified: the preload runs before every page load of the window.
  await build({ ...common, entryPoints: ['electron/shell/preload.ts'], outfile: 'dist/electron/preload.cjs', format: 'cjs', external: ['electron'], platform: 'browser', target: 'chrome120', minify: true });
}

// Renderer.
if (existsSync('renderer/index.html')) {
  const r = spawnSync(process.execPath, ['node_modules/vite/bin/vite.js', 'build', '--config', 'renderer/vite.config.ts', '--logLevel', 'warn'], { stdio: 'inherit' });
  if (r.status !== 0) process.exit(r.status ?? 1);
}
console.log('build: done');
