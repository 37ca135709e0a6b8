/** Migration 002: the data folder's settings (concurrency, the job builder's defaults), one row per key. */
export default /* sql */ `
CREATE TABLE settings (
  key        TEXT PRIMARY KEY,
  value      TEXT NOT NULL,                -- JSON
  updated_at INTEGER NOT NULL              -- ms since epoch
) WITHOUT ROWID;
`;
