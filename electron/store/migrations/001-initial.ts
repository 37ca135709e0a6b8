/** Migration 001: jobs, their audit trail, events, results, capability snapshots, runners. */
export default /* sql */ `
CREATE TABLE jobs (
  id               TEXT PRIMARY KEY,
  operation        TEXT NOT NULL,
  state            TEXT NOT NULL,
  priority         INTEGER NOT NULL,
  title            TEXT NOT NULL,
  labels           TEXT NOT NULL,          -- JSON object
  submitted        TEXT NOT NULL,          -- JSON as submitted
  spec             TEXT,                   -- JSON, parsed with defaults; NULL when invalid
  created_at       INTEGER NOT NULL,       -- ms since epoch
  updated_at       INTEGER NOT NULL,
  attempt          INTEGER NOT NULL DEFAULT 0,
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  not_before       INTEGER,                -- RETRY_WAIT: ms since epoch
  runner_id        INTEGER,
  error            TEXT                    -- JSON ErrorInfo of the last failure
);
CREATE INDEX jobs_created ON jobs (created_at DESC, id DESC);
CREATE INDEX jobs_state_created ON jobs (state, created_at DESC, id DESC);
CREATE INDEX jobs_state_op_created ON jobs (state, operation, created_at DESC, id DESC);
CREATE INDEX jobs_op_created ON jobs (operation, created_at DESC, id DESC);
CREATE INDEX jobs_queue ON jobs (state, priority DESC, created_at, id) WHERE state IN ('QUEUED', 'RETRY_WAIT');

CREATE TABLE transitions (
  job_id     TEXT NOT NULL REFERENCES jobs (id),
  seq        INTEGER NOT NULL,
  from_state TEXT,
  to_state   TEXT NOT NULL,
  at         INTEGER NOT NULL,
  reason     TEXT NOT NULL,
  attempt    INTEGER NOT NULL,
  PRIMARY KEY (job_id, seq)
) WITHOUT ROWID;

CREATE TABLE events (
  id      INTEGER PRIMARY KEY,             -- global order, for tailing
  job_id  TEXT NOT NULL,
  seq     INTEGER NOT NULL,
  type    TEXT NOT NULL,
  at      INTEGER NOT NULL,
  body    TEXT NOT NULL,                   -- JSON WorkerEvent
  UNIQUE (job_id, seq)
);

CREATE TABLE results (
  job_id  TEXT PRIMARY KEY REFERENCES jobs (id),
  outcome TEXT NOT NULL,
  body    TEXT NOT NULL                    -- JSON JobResult
) WITHOUT ROWID;

CREATE TABLE capability_snapshots (
  id   INTEGER PRIMARY KEY,
  at   INTEGER NOT NULL,
  body TEXT NOT NULL                       -- JSON WorkerCapabilities
);

CREATE TABLE runners (
  id          INTEGER PRIMARY KEY,
  pid         INTEGER NOT NULL,
  start_time  INTEGER,                     -- /proc/PID/stat starttime, clock ticks
  hostname    TEXT NOT NULL,
  started_at  INTEGER NOT NULL,
  heartbeat_at INTEGER NOT NULL,
  stopped_at  INTEGER
);

CREATE TABLE processes (
  id          INTEGER PRIMARY KEY,
  job_id      TEXT NOT NULL,
  runner_id   INTEGER NOT NULL,
  pid         INTEGER NOT NULL,
  pgid        INTEGER NOT NULL,
  start_time  INTEGER,
  command     TEXT NOT NULL,
  args        TEXT NOT NULL,               -- JSON array
  started_at  INTEGER NOT NULL,
  ended_at    INTEGER
);
CREATE INDEX processes_job ON processes (job_id);

CREATE TABLE partials (
  job_id     TEXT NOT NULL,
  path       TEXT NOT NULL,
  kind       TEXT NOT NULL,                -- 'file' or 'dir'
  created_at INTEGER NOT NULL,
  PRIMARY KEY (job_id, path)
) WITHOUT ROWID;
`;
