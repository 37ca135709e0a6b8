/**
 * Where the worker keeps its files. The data folder holds the store (h2k.sqlite) and the
 * runner lock; by default it is the desktop app's user-data folder, so the CLI and the app
 * share one history. Scratch is for temporary files (OVA members, probes).
 */
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';

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
