/**
 * The job store: one SQLite file (better-sqlite3, WAL) in the data folder holding jobs, their
 * state transitions (the audit trail), events, results, capability snapshots, runners, the
 * tools they spawned and the partial outputs in flight. Nothing else in the worker touches SQL.
 *
 * Every door (CLI, app, server) writes through this store and every runner reads from it, so
 * several processes share the file; writes that must be atomic run in IMMEDIATE transactions.
 * Times are stored as milliseconds since the epoch and returned as ISO 8601 strings.
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import {
  ErrorInfo,
  JobResult,
  JobSpec,
  WorkerEvent,
  type JobDetail,
  type JobState,
  type JobSummary,
  type NewEvent,
  type OperationType,
  type ProgressEvent,
  type Transition,
  type WorkerCapabilities,
  isTerminal,
} from '../../shared/protocol';
import { assertTransition, secondsByState, spansOf } from '../../shared/state-machine';
import { WorkerError } from '../../shared/errors';
import { MIGRATIONS } from './migrations';
import { ensureDir } from '../paths';

export const DB_FILE = 'h2k.sqlite';

/** Image probe records kept (about 2-20 KiB each): the newest by last use. */
export const PROBE_RECORDS_KEPT = 500;

interface JobRow {
  id: string;
  operation: string;
  state: string;
  priority: number;
  title: string;
  labels: string;
  submitted: string;
  spec: string | null;
  created_at: number;
  updated_at: number;
  attempt: number;
  cancel_requested: number;
  not_before: number | null;
  runner_id: number | null;
  error: string | null;
}

export interface NewJob {
  id: string;
  operation: OperationType;
  priority: number;
  title: string;
  labels: Record<string, string>;
  submitted: unknown;
  spec: JobSpec | null;
}

/** Extra columns a transition sets on the job. */
export interface TransitionPatch {
  error?: ErrorInfo | null;
  not_before?: number | null;
  runner_id?: number | null;
  cancel_requested?: boolean;
}

export interface ListFilter {
  state?: JobState[];
  operation?: OperationType;
  search?: string;
  limit: number;
  before?: string;
}

export interface RunnerRecord {
  id: number;
  pid: number;
  start_time: number | null;
  hostname: string;
  started_at: number;
  heartbeat_at: number;
  stopped_at: number | null;
}

export interface ProcessRecord {
  id: number;
  job_id: string;
  runner_id: number;
  pid: number;
  pgid: number;
  start_time: number | null;
  command: string;
  args: string[];
  started_at: number;
  ended_at: number | null;
}

export interface PartialRecord {
  job_id: string;
  path: string;
  kind: 'file' | 'dir';
}

const iso = (ms: number): string => new Date(ms).toISOString();

export class JobStore {
  readonly db: Database.Database;
  readonly path: string;
  private pending: { event: NewEvent; atMs: number }[] = [];
  private flushTimer: NodeJS.Timeout | null = null;
  private readonly listeners = new Set<() => void>();
  private readonly wakers = new Set<() => void>();
  private readonly stmts;
  private readonly cached = new Map<string, Database.Statement>();

  /** Batching of event writes: at most this many buffered, or this many ms old. */
  static readonly FLUSH_EVENTS = 2000;
  static readonly FLUSH_MS = 50;

  /**
   * Open (creating when needed) the store in `dataDir`. Applies pending migrations.
   * Throws if the folder cannot be created or the file is not a SQLite database.
   */
  static open(dataDir: string): JobStore {
    ensureDir(dataDir);
    return new JobStore(join(dataDir, DB_FILE));
  }

  private constructor(path: string) {
    this.path = path;
    this.db = new Database(path);
    this.db.pragma('journal_mode = WAL');
    this.db.pragma('synchronous = NORMAL');
    this.db.pragma('busy_timeout = 10000');
    this.db.pragma('foreign_keys = ON');
    this.migrate();
    const db = this.db;
    this.stmts = {
      getJob: db.prepare<[string], JobRow>('SELECT * FROM jobs WHERE id = ?'),
      maxSeq: db.prepare<[string], { s: number | null }>('SELECT max(seq) AS s FROM events WHERE job_id = ?'),
      insertEvent: db.prepare('INSERT INTO events (job_id, seq, type, at, body) VALUES (?, ?, ?, ?, ?)'),
      transitions: db.prepare<[string], { seq: number; from_state: string | null; to_state: string; at: number; reason: string; attempt: number }>(
        'SELECT seq, from_state, to_state, at, reason, attempt FROM transitions WHERE job_id = ? ORDER BY seq',
      ),
      lastTransitionSeq: db.prepare<[string], { s: number | null }>('SELECT max(seq) AS s FROM transitions WHERE job_id = ?'),
      insertTransition: db.prepare(
        'INSERT INTO transitions (job_id, seq, from_state, to_state, at, reason, attempt) VALUES (?, ?, ?, ?, ?, ?, ?)',
      ),
      lastProgress: db.prepare<[string], { body: string }>(
        "SELECT body FROM events WHERE job_id = ? AND type = 'progress' ORDER BY seq DESC LIMIT 1",
      ),
    };
  }

  private migrate(): void {
    const current = this.db.pragma('user_version', { simple: true }) as number;
    for (const m of MIGRATIONS) {
      if (m.version <= current) continue;
      this.db.transaction(() => {
        this.db.exec(m.sql);
        this.db.pragma(`user_version = ${m.version}`);
      }).immediate();
    }
  }

  /**
   * A prepared statement for SQL built at run time, prepared once per distinct text. Queries
   * run on every runner poll use it, so SQLite does not compile them again each time.
   */
  prepare(sql: string): Database.Statement {
    let st = this.cached.get(sql);
    if (!st) {
      st = this.db.prepare(sql);
      this.cached.set(sql, st);
    }
    return st;
  }

  /** Schema version in use (PRAGMA user_version). */
  get schemaVersion(): number {
    return this.db.pragma('user_version', { simple: true }) as number;
  }

  close(): void {
    this.flush();
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.db.close();
  }

  /** Be told (in this process) whenever events were committed. */
  onCommit(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private notify(): void {
    for (const l of this.listeners) l();
  }

  /**
   * Be told (in this process) when a runner has something to do: a job became QUEUED or a
   * cancel was requested. Other processes' changes are found by polling.
   */
  onWake(listener: () => void): () => void {
    this.wakers.add(listener);
    return () => this.wakers.delete(listener);
  }

  private wake(): void {
    for (const w of this.wakers) w();
  }

  // ---------------------------------------------------------------- jobs

  /** Insert a job in CREATED, with its first transition and state event. Throws `job_exists`. */
  createJob(job: NewJob, reason = 'submitted'): JobSummary {
    const now = Date.now();
    this.db
      .transaction(() => {
        if (this.stmts.getJob.get(job.id)) throw new WorkerError('job_exists', { detail: job.id });
        this.prepare(
          `INSERT INTO jobs (id, operation, state, priority, title, labels, submitted, spec, created_at, updated_at)
             VALUES (?, ?, 'CREATED', ?, ?, ?, ?, ?, ?, ?)`,
        ).run(job.id, job.operation, job.priority, job.title, JSON.stringify(job.labels), JSON.stringify(job.submitted ?? null), job.spec ? JSON.stringify(job.spec) : null, now, now);
        this.writeTransition(job.id, null, 'CREATED', reason, 0, now);
      })
      .immediate();
    this.notify();
    return this.summary(job.id);
  }

  /**
   * Move a job to `to`, validated by the state machine, stored with its time and reason, and
   * published as a state event. `expect` guards against races: when the job is not in one of
   * those states, nothing changes and null is returned. Throws `not_found`, `invalid_transition`.
   */
  transition(id: string, to: JobState, reason: string, patch: TransitionPatch = {}, expect?: readonly JobState[]): Transition | null {
    // Buffered events of this job go first, so the stream stays in order.
    this.flush();
    const result = this.db
      .transaction((): Transition | null => {
        const row = this.stmts.getJob.get(id);
        if (!row) throw new WorkerError('not_found', { detail: id });
        const from = row.state as JobState;
        if (expect && !expect.includes(from)) return null;
        assertTransition(from, to);
        const now = Date.now();
        const attempt = to === 'RUNNING' ? row.attempt + 1 : row.attempt;
        const sets: string[] = ['state = @to', 'updated_at = @now', 'attempt = @attempt'];
        const params: Record<string, unknown> = { id, to, now, attempt };
        if (patch.error !== undefined) {
          sets.push('error = @error');
          params.error = patch.error ? JSON.stringify(patch.error) : null;
        }
        if (patch.not_before !== undefined) {
          sets.push('not_before = @not_before');
          params.not_before = patch.not_before;
        }
        if (patch.runner_id !== undefined) {
          sets.push('runner_id = @runner_id');
          params.runner_id = patch.runner_id;
        }
        if (patch.cancel_requested !== undefined) {
          sets.push('cancel_requested = @cancel');
          params.cancel = patch.cancel_requested ? 1 : 0;
        }
        this.prepare(`UPDATE jobs SET ${sets.join(', ')} WHERE id = @id`).run(params);
        return this.writeTransition(id, from, to, reason, attempt, now);
      })
      .immediate();
    if (result) {
      this.notify();
      if (to === 'QUEUED') this.wake();
    }
    return result;
  }

  private writeTransition(id: string, from: JobState | null, to: JobState, reason: string, attempt: number, now: number): Transition {
    const tseq = (this.stmts.lastTransitionSeq.get(id)?.s ?? 0) + 1;
    this.stmts.insertTransition.run(id, tseq, from, to, now, reason, attempt);
    const seq = (this.stmts.maxSeq.get(id)?.s ?? 0) + 1;
    const event: WorkerEvent = { type: 'state', job_id: id, seq, at: iso(now), from, to, reason, attempt };
    this.stmts.insertEvent.run(id, seq, 'state', now, JSON.stringify(event));
    return { seq: tseq, from, to, at: iso(now), reason, attempt };
  }

  /** Raw row access for the runner. */
  getRow(id: string): JobRow | undefined {
    return this.stmts.getJob.get(id);
  }

  /** The job's state, or throws `not_found`. */
  stateOf(id: string): JobState {
    const row = this.stmts.getJob.get(id);
    if (!row) throw new WorkerError('not_found', { detail: id });
    return row.state as JobState;
  }

  specOf(id: string): JobSpec | null {
    const row = this.stmts.getJob.get(id);
    if (!row) throw new WorkerError('not_found', { detail: id });
    return row.spec ? JobSpec.parse(JSON.parse(row.spec)) : null;
  }

  summary(id: string): JobSummary {
    const row = this.stmts.getJob.get(id);
    if (!row) throw new WorkerError('not_found', { detail: id });
    return this.toSummary(row);
  }

  private toSummary(row: JobRow): JobSummary {
    const lp = this.stmts.lastProgress.get(row.id);
    return {
      id: row.id,
      operation: row.operation as OperationType,
      state: row.state as JobState,
      priority: row.priority,
      labels: JSON.parse(row.labels) as Record<string, string>,
      title: row.title,
      created_at: iso(row.created_at),
      updated_at: iso(row.updated_at),
      attempt: row.attempt,
      cancel_requested: row.cancel_requested === 1,
      not_before: row.not_before === null ? null : iso(row.not_before),
      last_progress: lp ? (JSON.parse(lp.body) as ProgressEvent) : null,
      error: row.error ? ErrorInfo.parse(JSON.parse(row.error)) : null,
    };
  }

  transitionsOf(id: string): Transition[] {
    return this.stmts.transitions.all(id).map((t) => ({
      seq: t.seq,
      from: t.from_state as JobState | null,
      to: t.to_state as JobState,
      at: iso(t.at),
      reason: t.reason,
      attempt: t.attempt,
    }));
  }

  /** The job with its whole audit trail, per-state durations and result. Throws `not_found`. */
  detail(id: string, now: Date = new Date()): JobDetail {
    const row = this.stmts.getJob.get(id);
    if (!row) throw new WorkerError('not_found', { detail: id });
    const transitions = this.transitionsOf(id);
    const spans = spansOf(transitions, now);
    return {
      summary: this.toSummary(row),
      spec: row.spec ? JobSpec.parse(JSON.parse(row.spec)) : null,
      submitted: JSON.parse(row.submitted) as unknown,
      transitions,
      spans,
      seconds_by_state: secondsByState(spans),
      terminal: isTerminal(row.state as JobState),
      result: this.result(id),
    };
  }

  /** Jobs newest first. `before` is the cursor returned as next_before by the previous page. */
  list(filter: ListFilter): { jobs: JobSummary[]; next_before: string | null; total: number } {
    const where: string[] = [];
    const params: unknown[] = [];
    if (filter.state?.length) {
      where.push(`state IN (${filter.state.map(() => '?').join(',')})`);
      params.push(...filter.state);
    }
    if (filter.operation) {
      where.push('operation = ?');
      params.push(filter.operation);
    }
    if (filter.search) {
      where.push("(id LIKE ? ESCAPE '\\' OR title LIKE ? ESCAPE '\\' OR labels LIKE ? ESCAPE '\\')");
      const like = `%${filter.search.replace(/[\\%_]/g, (c) => '\\' + c)}%`;
      params.push(like, like, like);
    }
    const countWhere = where.length ? `WHERE ${where.join(' AND ')}` : '';
    const total = (this.prepare(`SELECT count(*) AS n FROM jobs ${countWhere}`).get(...params) as { n: number }).n;
    const pageWhere = [...where];
    const pageParams = [...params];
    if (filter.before) {
      const [ms, ...rest] = filter.before.split(':');
      const cursorId = rest.join(':');
      pageWhere.push('(created_at < ? OR (created_at = ? AND id < ?))');
      pageParams.push(Number(ms), Number(ms), cursorId);
    }
    const sql = `SELECT * FROM jobs ${pageWhere.length ? 'WHERE ' + pageWhere.join(' AND ') : ''} ORDER BY created_at DESC, id DESC LIMIT ?`;
    const rows = this.prepare(sql).all(...pageParams, filter.limit + 1) as JobRow[];
    const more = rows.length > filter.limit;
    const page = rows.slice(0, filter.limit);
    const last = page.at(-1);
    return {
      jobs: page.map((r) => this.toSummary(r)),
      next_before: more && last ? `${last.created_at}:${last.id}` : null,
      total,
    };
  }

  /** Ids of jobs in the given states (optionally of one runner). */
  jobsIn(states: readonly JobState[], runnerId?: number): string[] {
    const sql = `SELECT id FROM jobs WHERE state IN (${states.map(() => '?').join(',')})${runnerId === undefined ? '' : ' AND runner_id = ?'} ORDER BY created_at`;
    const args: unknown[] = [...states];
    if (runnerId !== undefined) args.push(runnerId);
    return (this.db.prepare(sql).all(...args) as { id: string }[]).map((r) => r.id);
  }

  /**
   * Claim the next QUEUED job for a runner, atomically: highest priority first, then oldest.
   * Returns its id, or null when the queue is empty.
   */
  claimNext(runnerId: number): string | null {
    // Runners poll: answer an empty queue with a read, without taking the write lock.
    if (!this.prepare("SELECT 1 FROM jobs WHERE state = 'QUEUED' LIMIT 1").get()) return null;
    this.flush();
    const claimed = this.db
      .transaction((): string | null => {
        const row = this.db
          .prepare<[], { id: string }>("SELECT id FROM jobs WHERE state = 'QUEUED' ORDER BY priority DESC, created_at, id LIMIT 1")
          .get();
        if (!row) return null;
        const t = this.transition(row.id, 'ASSIGNED', `claimed by runner ${runnerId}`, { runner_id: runnerId }, ['QUEUED']);
        return t ? row.id : null;
      })
      .immediate();
    return claimed;
  }

  /** RETRY_WAIT jobs whose backoff has passed. */
  dueRetries(nowMs = Date.now()): string[] {
    return (
      this.prepare("SELECT id FROM jobs WHERE state = 'RETRY_WAIT' AND (not_before IS NULL OR not_before <= ?)").all(nowMs) as { id: string }[]
    ).map((r) => r.id);
  }

  /** Ask for a job to be cancelled; its runner sees the flag. */
  requestCancel(id: string): void {
    const r = this.db.prepare('UPDATE jobs SET cancel_requested = 1, updated_at = ? WHERE id = ?').run(Date.now(), id);
    if (r.changes === 0) throw new WorkerError('not_found', { detail: id });
    this.wake();
  }

  cancelRequested(id: string): boolean {
    return this.stmts.getJob.get(id)?.cancel_requested === 1;
  }

  // ---------------------------------------------------------------- events

  /**
   * Queue an event for writing; it is committed with others in one transaction within
   * FLUSH_MS (or at once when FLUSH_EVENTS are waiting, or before any transition). Its
   * sequence number is given at commit time, from the store itself, so processes writing
   * events of the same job (a door and a runner, a runner and its successor) never collide.
   */
  appendEvent(event: NewEvent, atMs = Date.now()): void {
    this.pending.push({ event, atMs });
    if (this.pending.length >= JobStore.FLUSH_EVENTS) this.flush();
    else if (!this.flushTimer) {
      this.flushTimer = setTimeout(() => this.flush(), JobStore.FLUSH_MS);
      this.flushTimer.unref();
    }
  }

  /** Commit buffered events now, numbering each job's events after its last stored one. */
  flush(): void {
    if (this.flushTimer) {
      clearTimeout(this.flushTimer);
      this.flushTimer = null;
    }
    if (this.pending.length === 0) return;
    const batch = this.pending;
    this.pending = [];
    this.db.transaction(() => {
      const next = new Map<string, number>();
      for (const { event, atMs } of batch) {
        const seq = next.get(event.job_id) ?? (this.stmts.maxSeq.get(event.job_id)?.s ?? 0) + 1;
        next.set(event.job_id, seq + 1);
        const numbered = { ...event, seq, at: iso(atMs) };
        this.stmts.insertEvent.run(event.job_id, seq, event.type, atMs, JSON.stringify(numbered));
      }
    }).immediate();
    this.notify();
  }

  /** A job's events after `afterSeq`, oldest first. */
  eventsOf(jobId: string, afterSeq = 0, limit = 500): WorkerEvent[] {
    return (
      this.db.prepare('SELECT body FROM events WHERE job_id = ? AND seq > ? ORDER BY seq LIMIT ?').all(jobId, afterSeq, limit) as { body: string }[]
    ).map((r) => JSON.parse(r.body) as WorkerEvent);
  }

  /** Every job's events after a global position, for tailing; `id` is the next position to ask after. */
  tail(afterId: number, limit = 1000): { id: number; event: WorkerEvent }[] {
    return (
      this.db.prepare('SELECT id, body FROM events WHERE id > ? ORDER BY id LIMIT ?').all(afterId, limit) as { id: number; body: string }[]
    ).map((r) => ({ id: r.id, event: JSON.parse(r.body) as WorkerEvent }));
  }

  /** The global position of the newest stored event (0 when none). */
  lastEventId(): number {
    return (this.db.prepare('SELECT max(id) AS m FROM events').get() as { m: number | null }).m ?? 0;
  }

  // ---------------------------------------------------------------- results

  saveResult(result: JobResult): void {
    const parsed = JobResult.parse(result);
    this.db
      .prepare('INSERT INTO results (job_id, outcome, body) VALUES (?, ?, ?) ON CONFLICT (job_id) DO UPDATE SET outcome = excluded.outcome, body = excluded.body')
      .run(parsed.job_id, parsed.outcome, JSON.stringify(parsed));
  }

  /**
   * End a job that never ran (invalid spec, cannot run here, cancelled while waiting): its
   * result and terminal transition in one transaction. Returns null when `expect` did not match.
   */
  endUnrun(id: string, to: 'FAILED' | 'CANCELLED', reason: string, error: ErrorInfo, expect?: readonly JobState[]): Transition | null {
    return this.db.transaction(() => {
      const row = this.stmts.getJob.get(id);
      if (!row) throw new WorkerError('not_found', { detail: id });
      const t = this.transition(id, to, reason, { error, ...(to === 'CANCELLED' ? { cancel_requested: true } : {}) }, expect);
      if (!t) return null;
      this.saveResult({
        protocol: 'hyper2kvm.worker/v1',
        job_id: id,
        operation: row.operation as OperationType,
        outcome: to === 'FAILED' ? 'failed' : 'cancelled',
        finished_at: t.at,
        artifacts: [],
        metrics: { queued_s: null, run_s: null, total_s: Math.max(0, (Date.parse(t.at) - row.created_at) / 1000), attempts: row.attempt, bytes_processed: null, throughput_bps: null, stages: {} },
        error,
        payload: null,
      });
      return t;
    })();
  }

  result(jobId: string): JobResult | null {
    const row = this.db.prepare('SELECT body FROM results WHERE job_id = ?').get(jobId) as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as JobResult) : null;
  }

  // ---------------------------------------------------------------- capabilities

  saveCapabilities(caps: WorkerCapabilities): void {
    this.db.prepare('INSERT INTO capability_snapshots (at, body) VALUES (?, ?)').run(Date.now(), JSON.stringify(caps));
    // Keep the newest 20 snapshots: enough to see what changed, not a growing log.
    this.db.prepare('DELETE FROM capability_snapshots WHERE id NOT IN (SELECT id FROM capability_snapshots ORDER BY id DESC LIMIT 20)').run();
  }

  latestCapabilities(): WorkerCapabilities | null {
    const row = this.db.prepare('SELECT body FROM capability_snapshots ORDER BY id DESC LIMIT 1').get() as { body: string } | undefined;
    return row ? (JSON.parse(row.body) as WorkerCapabilities) : null;
  }

  // ---------------------------------------------------------------- image probe results

  /** The stored probe record of an image (engine/image/probe-cache.ts), or null. */
  probeRecord(key: string): string | null {
    const row = this.prepare('SELECT value FROM probe_cache WHERE key = ?').get(key) as { value: string } | undefined;
    return row?.value ?? null;
  }

  /** Store an image's probe record, keeping the newest PROBE_RECORDS_KEPT records. */
  saveProbeRecord(key: string, value: string): void {
    this.db.transaction(() => {
      this.prepare('INSERT INTO probe_cache (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at').run(
        key,
        value,
        Date.now(),
      );
      this.prepare('DELETE FROM probe_cache WHERE key NOT IN (SELECT key FROM probe_cache ORDER BY updated_at DESC LIMIT ?)').run(PROBE_RECORDS_KEPT);
    })();
  }

  /** Forget every probe record: the next job probes every image afresh. Returns how many went. */
  clearProbeRecords(): number {
    return this.prepare('DELETE FROM probe_cache').run().changes;
  }

  // ---------------------------------------------------------------- runners, tools, partials

  registerRunner(pid: number, startTime: number | null, hostname: string): number {
    const now = Date.now();
    return Number(
      this.db.prepare('INSERT INTO runners (pid, start_time, hostname, started_at, heartbeat_at) VALUES (?, ?, ?, ?, ?)').run(pid, startTime, hostname, now, now)
        .lastInsertRowid,
    );
  }

  heartbeat(runnerId: number): void {
    this.db.prepare('UPDATE runners SET heartbeat_at = ? WHERE id = ?').run(Date.now(), runnerId);
  }

  stopRunner(runnerId: number): void {
    this.db.prepare('UPDATE runners SET stopped_at = ? WHERE id = ?').run(Date.now(), runnerId);
  }

  /** The newest runner that has not recorded a stop (it may have died: check its pid). */
  lastRunner(): RunnerRecord | null {
    return (this.db.prepare('SELECT * FROM runners WHERE stopped_at IS NULL ORDER BY id DESC LIMIT 1').get() as RunnerRecord | undefined) ?? null;
  }

  /** Runners that never recorded a stop, other than `exceptId`. */
  unstoppedRunners(exceptId: number): RunnerRecord[] {
    return this.db.prepare('SELECT * FROM runners WHERE stopped_at IS NULL AND id != ?').all(exceptId) as RunnerRecord[];
  }

  recordProcess(p: Omit<ProcessRecord, 'id' | 'started_at' | 'ended_at'>): number {
    return Number(
      this.db
        .prepare('INSERT INTO processes (job_id, runner_id, pid, pgid, start_time, command, args, started_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)')
        .run(p.job_id, p.runner_id, p.pid, p.pgid, p.start_time, p.command, JSON.stringify(p.args), Date.now()).lastInsertRowid,
    );
  }

  endProcess(id: number): void {
    this.db.prepare('UPDATE processes SET ended_at = ? WHERE id = ?').run(Date.now(), id);
  }

  /** Tools recorded for a job that have not been seen to end. */
  openProcesses(jobId: string): ProcessRecord[] {
    return (this.db.prepare('SELECT * FROM processes WHERE job_id = ? AND ended_at IS NULL').all(jobId) as (Omit<ProcessRecord, 'args'> & { args: string })[]).map(
      (r) => ({ ...r, args: JSON.parse(r.args) as string[] }),
    );
  }

  /** Record a path about to be created, so a crash or a cancel can remove it. */
  addPartial(jobId: string, path: string, kind: 'file' | 'dir'): void {
    this.db.prepare('INSERT OR IGNORE INTO partials (job_id, path, kind, created_at) VALUES (?, ?, ?, ?)').run(jobId, path, kind, Date.now());
  }

  removePartial(jobId: string, path: string): void {
    this.db.prepare('DELETE FROM partials WHERE job_id = ? AND path = ?').run(jobId, path);
  }

  partialsOf(jobId: string): PartialRecord[] {
    return this.db.prepare('SELECT job_id, path, kind FROM partials WHERE job_id = ? ORDER BY created_at DESC').all(jobId) as PartialRecord[];
  }
}
