/**
 * The data folder's settings, kept in the store (table `settings`, migration 002): how many jobs
 * the runner runs at once and the defaults the job builder proposes. Each key is stored as JSON
 * and read back through its zod schema, so a value written by an older or newer version that no
 * longer fits falls back to the default instead of breaking the app.
 */
import { SettingsPatch } from '../../shared/contract';
import type { JobStore } from './store';

/** The settings a technician may change, with their defaults. */
export type StoredSettings = Required<SettingsPatch>;

export const DEFAULT_SETTINGS: StoredSettings = { concurrency: 1, default_format: 'qcow2', default_verify: 'none' };

const KEYS = Object.keys(DEFAULT_SETTINGS) as (keyof StoredSettings)[];

/**
 * The stored settings (defaults where unset or unreadable) and when they last changed (ms, or
 * null). The runner asks on every poll (its concurrency), hence the store's cached statement.
 */
export function readSettings(store: JobStore): StoredSettings & { updated_at: number | null } {
  const rows = store.prepare('SELECT key, value, updated_at FROM settings').all() as { key: string; value: string; updated_at: number }[];
  const out: StoredSettings = { ...DEFAULT_SETTINGS };
  let updated: number | null = null;
  for (const row of rows) {
    if (!(KEYS as string[]).includes(row.key)) continue;
    let value: unknown;
    try {
      value = JSON.parse(row.value);
    } catch {
      continue;
    }
    const parsed = SettingsPatch.safeParse({ [row.key]: value });
    if (!parsed.success) continue;
    Object.assign(out, parsed.data);
    updated = Math.max(updated ?? 0, row.updated_at);
  }
  return { ...out, updated_at: updated };
}

/** Store the given settings (already validated by the contract) in one transaction. */
export function writeSettings(store: JobStore, patch: SettingsPatch, now = Date.now()): void {
  const valid = SettingsPatch.parse(patch);
  const put = store.prepare(
    'INSERT INTO settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at',
  );
  store.db.transaction(() => {
    for (const key of KEYS) {
      const v = valid[key];
      if (v !== undefined) put.run(key, JSON.stringify(v), now);
    }
  })();
}
