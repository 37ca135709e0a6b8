/**
 * Migration 003: image probe results kept while the probed files are unchanged
 * (engine/image/probe-cache.ts), one row per image path. Only the newest rows are kept.
 */
export default /* sql */ `
CREATE TABLE probe_cache (
  key        TEXT PRIMARY KEY,             -- the image's absolute path
  value      TEXT NOT NULL,                -- JSON: the record, with the files' identities
  updated_at INTEGER NOT NULL              -- ms since epoch
) WITHOUT ROWID;
CREATE INDEX probe_cache_by_age ON probe_cache (updated_at);
`;
