/** Migrations in order; each runs once, in a transaction, and bumps PRAGMA user_version. */
import m001 from './001-initial';
import m002 from './002-settings';
import m003 from './003-probe-cache';

export const MIGRATIONS: readonly { version: number; name: string; sql: string }[] = [
  { version: 1, name: '001-initial', sql: m001 },
  { version: 2, name: '002-settings', sql: m002 },
  { version: 3, name: '003-probe-cache', sql: m003 },
];
