/**
 * How a job looks to clients: a summary for lists and a detail with its whole audit trail.
 */
import { z } from 'zod';
import { ErrorInfo, JobId } from './common';
import { JobSpec, OperationType } from './job-spec';
import { JobState, StateSpan, Transition } from './job-state';
import { ProgressEvent } from './events';
import { JobResult } from './job-result';

export const JobSummary = z
  .object({
    id: JobId,
    operation: OperationType,
    state: JobState,
    priority: z.number().int(),
    labels: z.record(z.string(), z.string()),
    title: z.string().describe('a short description: the disks involved'),
    created_at: z.iso.datetime(),
    updated_at: z.iso.datetime(),
    attempt: z.number().int().nonnegative().describe('attempts started so far'),
    cancel_requested: z.boolean(),
    not_before: z.iso.datetime().nullable().describe('RETRY_WAIT: when the job goes back to the queue'),
    last_progress: ProgressEvent.nullable(),
    error: ErrorInfo.nullable(),
  })
  .describe('JobSummary');
export type JobSummary = z.infer<typeof JobSummary>;

export const JobDetail = z
  .object({
    summary: JobSummary,
    spec: JobSpec.nullable().describe('null when the submitted spec was invalid'),
    submitted: z.unknown().describe('the spec as submitted, before defaults'),
    transitions: z.array(Transition),
    spans: z.array(StateSpan).describe('each visit of a state with the time spent there'),
    seconds_by_state: z.record(z.string(), z.number().nonnegative()).describe('total seconds per state'),
    terminal: z.boolean(),
    result: JobResult.nullable(),
  })
  .describe('JobDetail');
export type JobDetail = z.infer<typeof JobDetail>;
