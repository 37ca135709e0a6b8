/**
 * The runner: the one process that executes a data folder's jobs (it holds the folder's lock).
 *
 * It claims QUEUED jobs by priority, runs their operation with an OperationContext, and owns
 * every exit path: COMPLETED, FAILED (or RETRY_WAIT when the retry policy allows another
 * attempt), CANCELLED. It records its own pid and start time and those of every tool it spawns,
 * and the paths each job is about to create, so that the next runner, after a crash, kills the
 * orphaned tools, removes the partial outputs and ends the jobs with `interrupted`.
 */
import { rmSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { ErrorInfo, JobResult, JobSpec, JobState, Metrics, ProgressEvent } from '../../shared/protocol';
import { ACTIVE_STATES, PROTOCOL_VERSION } from '../../shared/protocol';
import { WorkerError, errorInfo, toErrorInfo } from '../../shared/errors';
import { attemptsOf, backoffSeconds } from '../../shared/state-machine';
import type { JobStore } from '../store/store';
import type { OperationContext, OperationOutput, OperationRegistry, ProgressUpdate } from '../engine/types';
import { isSameProcessAlive, killGroup, processStartTime, runTool } from '../tools/spawn';
import { RunnerLock } from './lock';
import { listenDoorbell } from './doorbell';
import { ProbeCache } from '../engine/image/probe-cache';
import type { CapabilityProvider } from './capability-provider';

export interface RunnerOptions {
  store: JobStore;
  dataDir: string;
  scratchDir: string;
  operations: OperationRegistry;
  capabilities: CapabilityProvider;
  /** Jobs run at once (default 1); a function is asked on every poll, so a change applies at once. */
  concurrency?: number | (() => number);
  /** How often the queue, cancel flags and retries are looked at, in ms (default 200). */
  pollMs?: number;
  /** Milliseconds between SIGTERM and SIGKILL when a tool is stopped (default 3000). */
  graceMs?: number;
  /** Called with every line the runner wants to tell its operator. */
  log?: (line: string) => void;
  /** Also tell the operator when each job starts and ends (`h2k-worker run`). */
  announceJobs?: boolean;
  /** Test-only: hold a claimed job in ASSIGNED this long before starting it (ms). */
  testOnlyHoldAfterClaimMs?: number;
}

/** Error codes worth another attempt when the retry policy allows one. */
const RETRYABLE: ReadonlySet<string> = new Set(['interrupted', 'timeout', 'tool_failed', 'appliance_failed']);

/** At most this many progress events per second per job are stored (and so reach UIs). */
const PROGRESS_PER_SECOND = 10;

interface Running {
  id: string;
  controller: AbortController;
  done: Promise<void>;
}

export class Runner {
  readonly store: JobStore;
  private readonly opts: Required<Omit<RunnerOptions, 'testOnlyHoldAfterClaimMs' | 'log'>> & Pick<RunnerOptions, 'testOnlyHoldAfterClaimMs' | 'log'>;
  private lock: RunnerLock | null = null;
  private runnerId = 0;
  private timer: NodeJS.Timeout | null = null;
  private offWake: (() => void) | null = null;
  private nudged = false;
  private tickAgain = false;
  private readonly running = new Map<string, Running>();
  private stopping = false;
  /** Claims nothing more (retire). */
  private retiring = false;
  private ticking = false;
  private lastHeartbeat = 0;
  /** Image probe results of this data folder, shared by its jobs (engine/image/probe-cache.ts). */
  private readonly probeCache: ProbeCache;

  constructor(opts: RunnerOptions) {
    this.store = opts.store;
    this.opts = { concurrency: 1, pollMs: 200, graceMs: 3000, announceJobs: false, ...opts };
    this.probeCache = new ProbeCache({ get: (k) => this.store.probeRecord(k), put: (k, v) => this.store.saveProbeRecord(k, v) });
  }

  get id(): number {
    return this.runnerId;
  }

  /** How many jobs run at once. */
  get concurrency(): number {
    const c = this.opts.concurrency;
    return Math.max(1, typeof c === 'function' ? c() : c);
  }

  /** Jobs being executed now. */
  get active(): string[] {
    return [...this.running.keys()];
  }

  /**
   * Take the data folder's lock, clean up after any runner that died, and start executing.
   * Throws WorkerError `runner_busy` when another runner holds the folder.
   */
  start(): void {
    try {
      this.lock = RunnerLock.acquire(this.opts.dataDir, 1000);
    } catch (err) {
      if (err instanceof WorkerError && err.code === 'runner_busy') {
        const holder = this.store.lastRunner();
        if (holder) throw new WorkerError('runner_busy', { detail: `held by runner pid ${holder.pid} on ${holder.hostname}, started ${new Date(holder.started_at).toISOString()}` });
      }
      throw err;
    }
    this.runnerId = this.store.registerRunner(process.pid, processStartTime(process.pid), hostname());
    this.recover();
    this.timer = setInterval(() => void this.tick(), this.opts.pollMs);
    // A job submitted or cancelled through this process, or another that rings the doorbell,
    // starts or stops at once; the poll is the safety net.
    const nudge = () => {
      if (this.nudged || this.stopping) return;
      this.nudged = true;
      setImmediate(() => {
        this.nudged = false;
        void this.tick();
      });
    };
    const offStore = this.store.onWake(nudge);
    // Other processes' submissions and cancels ring the doorbell (./doorbell).
    const offBell = listenDoorbell(this.opts.dataDir, nudge);
    this.offWake = () => {
      offStore();
      offBell();
    };
    void this.tick();
  }

  /**
   * Leave without interrupting anyone: claim nothing more, let the jobs already running finish,
   * then stop (the lock released, queued jobs left for the next runner). A command that became
   * the runner for its own job retires when that job has ended. Resolves with the number of
   * jobs it waited for.
   */
  async retire(): Promise<number> {
    this.retiring = true;
    const waited = this.running.size;
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    await this.stop('runner retired');
    return waited;
  }

  /**
   * Stop cleanly: claim nothing more, stop the running jobs (their tools killed, partial outputs
   * removed, the jobs ended `interrupted` or set to retry), then release the lock.
   */
  async stop(reason = 'runner stopped'): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    if (this.timer) clearInterval(this.timer);
    this.offWake?.();
    for (const r of this.running.values()) r.controller.abort(new WorkerError('interrupted', { detail: reason }));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
    this.store.flush();
    if (this.runnerId) this.store.stopRunner(this.runnerId);
    this.lock?.release();
    this.lock = null;
  }

  /**
   * Clean up after a dead runner without becoming the runner: when no process holds the data
   * folder's lock, take it for the moment it takes to end the jobs a dead runner left active
   * (their tools killed, partial outputs removed, `interrupted` or a retry), then let it go.
   * Commands that only look (status, list) call this, so a job whose runner was killed does
   * not stay PROGRESSING until the next runner starts. Returns the number of jobs recovered,
   * or null when a live runner holds the folder (it is that runner's business).
   */
  recoverOnly(): number | null {
    if (this.lock || this.stopping) return null;
    let lock: RunnerLock;
    try {
      lock = RunnerLock.acquire(this.opts.dataDir);
    } catch (err) {
      if (err instanceof WorkerError && err.code === 'runner_busy') return null;
      throw err;
    }
    try {
      return this.recover();
    } finally {
      this.store.flush();
      lock.release();
    }
  }

  private say(line: string): void {
    this.opts.log?.(line);
  }

  /**
   * Clean up after runners that died: jobs they left active, their tools and partial outputs.
   * Only while holding the lock. Returns the number of jobs recovered.
   */
  private recover(): number {
    for (const dead of this.store.unstoppedRunners(this.runnerId)) {
      // We hold the lock, so no other runner is alive for this folder.
      this.store.stopRunner(dead.id);
    }
    const orphans = this.store.jobsIn(ACTIVE_STATES);
    for (const id of orphans) {
      let killed = 0;
      for (const p of this.store.openProcesses(id)) {
        if (isSameProcessAlive(p.pid, p.start_time)) {
          killGroup(p.pgid, 'SIGKILL');
          killed++;
        }
        this.store.endProcess(p.id);
      }
      const removed = this.removePartials(id);
      const detail = `runner died while the job was ${this.store.stateOf(id)}; killed ${killed} orphaned tool(s), removed ${removed} partial output(s)`;
      this.say(`recovered job ${id}: ${detail}`);
      this.store.appendEvent({ type: 'log', job_id: id, level: 'warn', message: detail });
      this.finishFailed(id, errorInfo('interrupted', { detail }));
    }
    return orphans.length;
  }

  private removePartials(id: string): number {
    let n = 0;
    for (const p of this.store.partialsOf(id)) {
      try {
        rmSync(p.path, { recursive: p.kind === 'dir', force: true });
        n++;
      } catch (err) {
        this.store.appendEvent({ type: 'log', job_id: id, level: 'error', message: `could not remove partial output ${p.path}: ${String(err)}` });
        continue;
      }
      this.store.removePartial(id, p.path);
    }
    return n;
  }

  private async tick(): Promise<void> {
    if (this.stopping) return;
    if (this.ticking) {
      this.tickAgain = true;
      return;
    }
    this.ticking = true;
    this.tickAgain = false;
    try {
      // A heartbeat every 5 s is plenty for anyone looking; no need to write the store each poll.
      if (Date.now() - this.lastHeartbeat >= 5000) {
        this.store.heartbeat(this.runnerId);
        this.lastHeartbeat = Date.now();
      }
      for (const id of this.store.dueRetries()) this.store.transition(id, 'QUEUED', 'retry backoff passed', { not_before: null }, ['RETRY_WAIT']);
      for (const r of this.running.values()) {
        if (!r.controller.signal.aborted && this.store.cancelRequested(r.id)) r.controller.abort(new WorkerError('cancelled'));
      }
      const concurrency = this.concurrency;
      while (!this.stopping && !this.retiring && this.running.size < concurrency) {
        const id = this.store.claimNext(this.runnerId);
        if (!id) break;
        if (this.opts.announceJobs) {
          const s = this.store.summary(id);
          this.say(`job ${id} started: ${s.operation} ${s.title}`);
        }
        const controller = new AbortController();
        const entry: Running = { id, controller, done: Promise.resolve() };
        this.running.set(id, entry);
        entry.done = this.execute(id, controller).finally(() => this.running.delete(id));
      }
    } catch (err) {
      this.say(`runner tick failed: ${String(err)}`);
    } finally {
      this.ticking = false;
    }
    if (this.tickAgain) void this.tick();
  }

  private async execute(id: string, controller: AbortController): Promise<void> {
    const spec = this.store.specOf(id);
    if (this.opts.testOnlyHoldAfterClaimMs) await new Promise((r) => setTimeout(r, this.opts.testOnlyHoldAfterClaimMs));
    if (!spec) {
      this.finishFailed(id, errorInfo('internal', { detail: 'job has no valid spec' }));
      return;
    }
    if (controller.signal.aborted || this.store.cancelRequested(id)) {
      this.finishAborted(id, controller.signal.reason ?? new WorkerError('cancelled'));
      return;
    }
    const impl = this.opts.operations[spec.operation];
    if (!impl) {
      this.finishFailed(id, errorInfo('not_implemented', { detail: `operation ${spec.operation}` }));
      return;
    }
    this.store.transition(id, 'RUNNING', `started by runner ${this.runnerId} (pid ${process.pid})`, {}, ['ASSIGNED']);
    const attempt = this.store.getRow(id)?.attempt ?? 1;
    const timeout = spec.timeout_s
      ? setTimeout(() => controller.abort(new WorkerError('timeout', { detail: `timeout_s ${spec.timeout_s}` })), spec.timeout_s * 1000)
      : null;
    const scratchDir = join(this.opts.scratchDir, `job-${id}`);
    const ctx = this.context(id, attempt, spec, controller.signal, scratchDir);
    try {
      const output = await (impl as (c: OperationContext) => Promise<OperationOutput>)(ctx);
      if (controller.signal.aborted) throw controller.signal.reason;
      ctx.flushProgress();
      this.finishCompleted(id, output);
    } catch (err) {
      ctx.flushProgress();
      if (controller.signal.aborted) this.finishAborted(id, controller.signal.reason);
      else this.finishFailed(id, toErrorInfo(err));
    } finally {
      if (timeout) clearTimeout(timeout);
      rmSync(scratchDir, { recursive: true, force: true });
    }
  }

  private context(id: string, attempt: number, spec: JobSpec, signal: AbortSignal, scratchDir: string): OperationContext & { flushProgress(): void } {
    const store = this.store;
    const runnerId = this.runnerId;
    const graceMs = this.opts.graceMs;
    const caps = this.opts.capabilities;
    let progressed = false;
    let lastPercent = 0;
    let lastStored = 0;
    let lastStage: string | null = null;
    let pendingProgress: Omit<ProgressEvent, 'seq' | 'at'> | null = null;
    let rate: { at: number; bytes: number; stage: string; bps: number | null } | null = null;

    const store1 = (ev: Omit<ProgressEvent, 'seq' | 'at'>) => {
      if (!progressed) {
        progressed = true;
        store.transition(id, 'PROGRESSING', 'first progress', {}, ['RUNNING']);
      }
      store.appendEvent(ev);
      lastStored = Date.now();
      pendingProgress = null;
    };
    const flushProgress = () => {
      if (pendingProgress) store1(pendingProgress);
    };

    return {
      jobId: id,
      attempt,
      spec,
      signal,
      scratchDir,
      flushProgress,
      probeCache: this.probeCache,
      capabilities: (o) => caps.get({ appliance: o?.appliance ?? false }),
      guestfsEnv: () => caps.guestfsEnv(),
      log(level, message, source) {
        store.appendEvent({ type: 'log', job_id: id, level, message, ...(source ? { source } : {}) });
      },
      progress(u: ProgressUpdate) {
        const now = Date.now();
        const percent = Math.min(100, Math.max(lastPercent, u.percent));
        lastPercent = percent;
        // Rate from bytes, smoothed (exponential moving average over ~2 s) when not given.
        let bps = u.rate_bps ?? null;
        if (bps === null && u.bytes_done != null) {
          if (rate && rate.stage === u.stage && now > rate.at) {
            const inst = ((u.bytes_done - rate.bytes) * 1000) / (now - rate.at);
            const alpha = Math.min(1, (now - rate.at) / 2000);
            bps = rate.bps === null ? inst : rate.bps + alpha * (inst - rate.bps);
            rate = { at: now, bytes: u.bytes_done, stage: u.stage, bps };
          } else if (!rate || rate.stage !== u.stage) {
            rate = { at: now, bytes: u.bytes_done, stage: u.stage, bps: null };
          } else bps = rate.bps;
        }
        const eta =
          u.eta_s ?? (bps && bps > 0 && u.bytes_total != null && u.bytes_done != null ? Math.max(0, (u.bytes_total - u.bytes_done) / bps) : null);
        const ev: Omit<ProgressEvent, 'seq' | 'at'> = {
          type: 'progress',
          job_id: id,
          stage: u.stage,
          percent: Math.round(percent * 100) / 100,
          bytes_done: u.bytes_done ?? null,
          bytes_total: u.bytes_total ?? null,
          rate_bps: bps === null ? null : Math.max(0, Math.round(bps)),
          eta_s: eta === null ? null : Math.round(eta * 10) / 10,
          allocated_bytes: u.allocated_bytes ?? null,
          ...(u.message ? { message: u.message } : {}),
        };
        // A stage's last word is kept: the held-back event of the stage that just ended is
        // stored before the next stage's first.
        if (pendingProgress && pendingProgress.stage !== ev.stage) store1(pendingProgress);
        // The first event, a new stage's first, and 100% go out at once; others at most
        // PROGRESS_PER_SECOND a second.
        if (!progressed || percent >= 100 || ev.stage !== lastStage || now - lastStored >= 1000 / PROGRESS_PER_SECOND) store1(ev);
        else pendingProgress = ev;
        lastStage = ev.stage;
      },
      async run(run) {
        let recordId = 0;
        return runTool({
          ...run,
          signal,
          graceMs,
          onSpawn: (p) => {
            recordId = store.recordProcess({ job_id: id, runner_id: runnerId, pid: p.pid, pgid: p.pgid, start_time: p.startTime, command: p.command, args: [...p.args] });
            run.onSpawn?.(p);
          },
          onExit: (p) => {
            if (recordId) store.endProcess(recordId);
            run.onExit?.(p);
          },
        });
      },
      partial(path, kind) {
        store.addPartial(id, path, kind);
      },
      settled(path) {
        store.removePartial(id, path);
      },
    };
  }

  private metrics(id: string, output: OperationOutput | null, endMs: number): Metrics {
    const transitions = this.store.transitionsOf(id);
    const first = transitions[0];
    const lastAssigned = transitions.findLast((t) => t.to === 'ASSIGNED');
    const lastRunning = transitions.findLast((t) => t.to === 'RUNNING');
    const secs = (from: string | undefined, to: number) => (from ? Math.max(0, (to - Date.parse(from)) / 1000) : null);
    const runS = secs(lastRunning?.at, endMs);
    const bytes = output?.bytes_processed ?? null;
    return {
      queued_s: lastAssigned ? secs(first?.at, Date.parse(lastAssigned.at)) : null,
      run_s: runS,
      total_s: secs(first?.at, endMs) ?? 0,
      attempts: attemptsOf(transitions),
      bytes_processed: bytes,
      throughput_bps: bytes !== null && runS ? bytes / runS : null,
      stages: output?.stages ?? {},
    };
  }

  /**
   * End a job: its result and its terminal transition are written in one transaction, so a
   * client that sees the terminal state always finds the result.
   */
  private finish(id: string, to: 'COMPLETED' | 'FAILED' | 'CANCELLED', reason: string, output: OperationOutput | null, error: ErrorInfo | null): void {
    const row = this.store.getRow(id);
    if (!row) return;
    const spec = this.store.specOf(id);
    const endMs = Date.now();
    const outcome = ({ COMPLETED: 'completed', FAILED: 'failed', CANCELLED: 'cancelled' } as const)[to];
    this.store.db.transaction(() => {
      this.store.saveResult({
        protocol: PROTOCOL_VERSION,
        job_id: id,
        operation: (spec?.operation ?? row.operation) as JobResult['operation'],
        outcome,
        finished_at: new Date(endMs).toISOString(),
        artifacts: output?.artifacts ?? [],
        metrics: this.metrics(id, output, endMs),
        error,
        payload: output?.payload ?? null,
      });
      this.store.transition(id, to, reason, { error }, [row.state as JobState]);
    })();
    if (this.opts.announceJobs) this.say(`job ${id} ${to}${error ? `: ${error.code}: ${error.message}` : ''} (${((endMs - row.created_at) / 1000).toFixed(1)} s after submit)`);
  }

  private finishCompleted(id: string, output: OperationOutput): void {
    // Outputs are final now: nothing of this job is partial any more.
    for (const p of this.store.partialsOf(id)) this.store.removePartial(id, p.path);
    this.finish(id, 'COMPLETED', 'operation finished', output, null);
  }

  private finishAborted(id: string, reason: unknown): void {
    const info = toErrorInfo(reason);
    if (info.code === 'cancelled') {
      this.removePartials(id);
      this.finish(id, 'CANCELLED', 'cancelled on request', null, info);
      return;
    }
    this.finishFailed(id, info);
  }

  /** FAILED, or RETRY_WAIT when the error is transient and attempts remain. */
  private finishFailed(id: string, info: ErrorInfo): void {
    this.removePartials(id);
    const row = this.store.getRow(id);
    if (!row) return;
    const state = row.state as JobState;
    const retry = this.store.specOf(id)?.retry;
    // A job stopped before it ran has still used its turn.
    const used = Math.max(1, row.attempt);
    if (retry && RETRYABLE.has(info.code) && used < retry.max_attempts) {
      const delay = backoffSeconds(retry, used);
      this.store.transition(
        id,
        'RETRY_WAIT',
        `attempt ${used} of ${retry.max_attempts} ended with ${info.code}; retrying in ${delay} s`,
        { error: info, not_before: Date.now() + delay * 1000, runner_id: null },
        [state],
      );
      return;
    }
    this.finish(id, 'FAILED', `${info.code}: ${info.message}`, null, info);
  }
}

