/**
 * What an operation (inspect, convert, the repairs) sees of the engine, and what it returns.
 * Operations are plain async functions over an OperationContext; the runner owns the job's
 * life around them (states, cancel, timeout, clean-up, result), so an operation only does its
 * work, reports progress and declares the paths it is about to create.
 */
import type { Artifact, JobSpec, OperationType, SpecOf, WorkerCapabilities } from '../../shared/protocol';
import type { ToolResult, ToolRun } from '../tools/spawn';
import type { ProbeCache } from './image/probe-cache';

export interface ProgressUpdate {
  /** What is happening, e.g. "copy", "verify", "appliance-start". */
  stage: string;
  /** 0-100 of the whole job. The engine never lets it go backwards. */
  percent: number;
  /** Bytes done and total for the stage (convert: virtual bytes); null when not byte-based. */
  bytes_done?: number | null;
  bytes_total?: number | null;
  /** Bytes per second and seconds left; computed by the engine from bytes_done when left out. */
  rate_bps?: number | null;
  eta_s?: number | null;
  allocated_bytes?: number | null;
  message?: string;
}

export interface OperationContext<S extends JobSpec = JobSpec> {
  readonly jobId: string;
  readonly attempt: number;
  readonly spec: S;
  /** Aborted on cancel, timeout or runner shutdown; `signal.reason` is a WorkerError. */
  readonly signal: AbortSignal;
  /** Folder for temporary files of this job (created on demand, removed at the end). */
  readonly scratchDir: string;
  /** The capabilities of this machine (probing the appliance when it has not been probed). */
  capabilities(opts?: { appliance?: boolean }): Promise<WorkerCapabilities>;
  /** Environment for libguestfs tools, per the appliance probe (backend, force_tcg). */
  guestfsEnv(): Promise<Record<string, string>>;
  progress(update: ProgressUpdate): void;
  log(level: 'debug' | 'info' | 'warn' | 'error', message: string, source?: string): void;
  /**
   * Run a tool in its own process group, recorded in the store (so a later runner can kill it
   * after a crash) and killed when the job is aborted. Same options as runTool, minus signal.
   */
  run(run: Omit<ToolRun, 'signal'>): Promise<ToolResult>;
  /**
   * Image probe results kept while the probed files are unchanged (image/probe-cache.ts),
   * shared by the jobs of this data folder; absent where nothing is kept (every probe runs).
   */
  readonly probeCache?: ProbeCache;
  /** Declare a path before creating it; it is removed if the job does not complete. */
  partial(path: string, kind: 'file' | 'dir'): void;
  /** A declared path is now final (renamed into place, or removed by the operation). */
  settled(path: string): void;
}

export interface OperationOutput {
  artifacts: Artifact[];
  payload: unknown;
  /** Bytes the job processed (convert: virtual bytes copied), for the throughput metric. */
  bytes_processed?: number | null;
  /** Seconds per stage, for the metrics. */
  stages?: Record<string, number>;
}

export type OperationImpl<O extends OperationType = OperationType> = (ctx: OperationContext<SpecOf<O>>) => Promise<OperationOutput>;

/** The operations this worker implements. Operations not in it fail with `not_implemented`. */
export type OperationRegistry = Partial<{ [O in OperationType]: OperationImpl<O> }>;
