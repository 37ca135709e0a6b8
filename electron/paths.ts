/**
 * Where the worker keeps its files. The data folder holds the store (h2k.sqlite) and the
 * runner lock; by default it is the desktop app's user-data folder, so the CLI and the app
 * share one history. Scratch is for temporary files (OVA members, probes).
 */
import { mkdirSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { WorkerError } from '../shared/errors';

export const APP_DIR_NAME = 'hyper2kvm-workbench';

/** `--data-dir`, else H2K_DATA_DIR, else $XDG_CONFIG_HOME/hyper2kvm-workbench (Electron's userData). */
export function resolveDataDir(flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  if (flag) return resolve(flag);
  if (env.H2K_DATA_DIR) return resolve(env.H2K_DATA_DIR);
  const base = env.XDG_CONFIG_HOME || join(homedir(), '.config');
  return join(base, APP_DIR_NAME);
}

/** H2K_SCRATCH_DIR, else `<dataDir>/scratch`. */
export function resolveScratchDir(dataDir: string, env: NodeJS.ProcessEnv = process.env): string {
  return env.H2K_SCRATCH_DIR ? resolve(env.H2K_SCRATCH_DIR) : join(dataDir, 'scratch');
}

/**
 * Make sure a folder exists, creating it and its missing parents (mode 0700 by default).
 * Node's own `mkdirSync(path, { recursive: true })` never returns on some paths (under /proc,
 * it loops on ENOENT), so the parents are walked here. Throws WorkerError `folder_unusable`
 * naming the path when a parent is not a folder or a level cannot be created.
 */
export function ensureDir(path: string, mode = 0o700): void {
  const missing: string[] = [];
  let p = resolve(path);
  for (;;) {
    try {
      if (!statSync(p).isDirectory()) throw new WorkerError('folder_unusable', { detail: `${p} exists and is not a folder` });
      break;
    } catch (err) {
      if (err instanceof WorkerError) throw err;
      const code = (err as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT') throw new WorkerError('folder_unusable', { detail: `${p}: ${(err as Error).message}` });
      missing.unshift(p);
      const parent = dirname(p);
      if (parent === p) throw new WorkerError('folder_unusable', { detail: `${path}: no existing parent folder` });
      p = parent;
    }
  }
  for (const m of missing) {
    try {
      mkdirSync(m, { mode });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') continue;
      throw new WorkerError('folder_unusable', { detail: `cannot create ${m}: ${(err as Error).message}` });
    }
  }
}
