/**
 * WorkerEvent: everything the worker pushes, one discriminated union on `type`, keyed by job id.
 * `seq` orders a job's events (1-based, gap-free per job as stored), so a client that reconnects
 * asks for `after_seq` and misses nothing.
 */
import { z } from 'zod';
import { JobId } from './common';
import { JobState } from './job-state';

const base = {
  job_id: JobId,
  seq: z.number().int().positive().describe('per-job sequence number'),
  at: z.iso.datetime(),
};

export const StateEvent = z.object({
  ...base,
  type: z.literal('state'),
  from: JobState.nullable(),
  to: JobState,
  reason: z.string(),
  attempt: z.number().int().nonnegative(),
});

export const ProgressEvent = z.object({
  ...base,
  type: z.literal('progress'),
  stage: z.string().describe('what is happening, e.g. "copy", "verify", "appliance-start"'),
  percent: z.number().min(0).max(100).describe('of the whole job, never going backwards'),
  bytes_done: z.number().nonnegative().nullable().describe('bytes (for convert: virtual bytes)'),
  bytes_total: z.number().nonnegative().nullable().describe('bytes (for convert: virtual size)'),
  rate_bps: z.number().nonnegative().nullable().describe('bytes per second, smoothed'),
  eta_s: z.number().nonnegative().nullable().describe('seconds left, estimated'),
  allocated_bytes: z.number().nonnegative().nullable().optional().describe('allocated bytes of the source, when known'),
  message: z.string().optional(),
});

export const LogEvent = z.object({
  ...base,
  type: z.literal('log'),
  level: z.enum(['debug', 'info', 'warn', 'error']),
  message: z.string(),
  source: z.string().optional().describe('the tool that printed it, when it came from a tool'),
});

export const WorkerEvent = z.discriminatedUnion('type', [StateEvent, ProgressEvent, LogEvent]).describe('WorkerEvent');
export type WorkerEvent = z.infer<typeof WorkerEvent>;
export type StateEvent = z.infer<typeof StateEvent>;
export type ProgressEvent = z.infer<typeof ProgressEvent>;
export type LogEvent = z.infer<typeof LogEvent>;

/** An event before the store numbers it. */
export type NewEvent =
  | Omit<StateEvent, 'seq' | 'at'>
  | Omit<ProgressEvent, 'seq' | 'at'>
  | Omit<LogEvent, 'seq' | 'at'>;
