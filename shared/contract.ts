/**
 * The one API contract. Each method has a name, an input schema and an output schema; the event
 * stream has its own schema. The CLI, the IPC router and preload bridge, the REST server and the
 * HTTP client are all derived from this map, so a method added here exists everywhere.
 *
 * Transport rules derived from it:
 * - IPC: channel `h2k:<method>`, answered `{ ok: true, value } | { ok: false, error }`.
 * - REST: `POST /api/<method>` with the input as JSON body, the same envelope back.
 * - Events: IPC channel `h2k:event`; REST `GET /api/events` as server-sent events.
 */
import { z } from 'zod';
import { ErrorInfo, JobId, PROTOCOL_VERSION } from './protocol/common';
import { WorkerCapabilities, OperationSupport } from './protocol/capabilities';
import { JobState } from './protocol/job-state';
import { OperationType } from './protocol/job-spec';
import { WorkerEvent } from './protocol/events';
import { JobDetail, JobSummary } from './protocol/job';

type MethodDef = { summary: string; input: z.ZodType; output: z.ZodType };
function method<I extends z.ZodType, O extends z.ZodType>(summary: string, input: I, output: O) {
  return { summary, input, output };
}

const Empty = z.object({}).strict();

export const WorkerInfo = z.object({
  name: z.literal('hyper2kvm-workbench'),
  version: z.string(),
  protocol: z.literal(PROTOCOL_VERSION),
  data_dir: z.string(),
  runner: z
    .object({ pid: z.number().int(), started_at: z.iso.datetime(), hostname: z.string(), alive: z.boolean() })
    .nullable()
    .describe('the runner executing this data folder\'s jobs, if any'),
});

export const ListInput = z.object({
  state: z.array(JobState).optional(),
  operation: OperationType.optional(),
  search: z.string().max(200).optional().describe('matched against id, title and labels'),
  limit: z.number().int().min(1).max(500).default(50),
  before: z.string().optional().describe('cursor: next_before of the previous page'),
});

export const contract = {
  'worker.info': method('Who this worker is and who runs its jobs.', Empty, WorkerInfo),
  'capabilities.get': method(
    'What this machine can do. Slow probes come from the host-wide cache unless refresh is set.',
    z.object({
      refresh: z.boolean().default(false).describe('re-run the slow probes'),
      appliance: z.boolean().default(true).describe('probe the libguestfs appliance when no cached probe exists (20-60 s)'),
    }),
    WorkerCapabilities,
  ),
  'jobs.supports': method(
    'Whether a spec could run here, and why not.',
    z.object({ spec: z.unknown() }),
    OperationSupport,
  ),
  'jobs.submit': method(
    'Submit a job spec. Resolves with the stored job, QUEUED; an invalid spec is recorded as FAILED and answered with validation_failed.',
    z.object({ spec: z.unknown().describe('a JobSpec (see the JobSpec schema)') }),
    JobSummary,
  ),
  'jobs.get': method('A job with its audit trail, per-state durations and result.', z.object({ id: JobId }), JobDetail),
  'jobs.list': method(
    'Jobs, newest first, filtered; page with `before`.',
    ListInput,
    z.object({ jobs: z.array(JobSummary), next_before: z.string().nullable(), total: z.number().int().nonnegative() }),
  ),
  'jobs.cancel': method(
    'Cancel a job: at once when it waits, through its runner when it runs.',
    z.object({ id: JobId }),
    JobSummary,
  ),
  'jobs.events': method(
    "A job's stored events after a sequence number.",
    z.object({ id: JobId, after_seq: z.number().int().nonnegative().default(0), limit: z.number().int().min(1).max(5000).default(500) }),
    z.object({ events: z.array(WorkerEvent) }),
  ),
  'jobs.rerun': method('Submit a finished job\'s spec again as a new job.', z.object({ id: JobId }), JobSummary),
  'protocol.schema': method(
    'JSON Schema of a protocol type, or the list of names.',
    z.object({ name: z.string().optional() }),
    z.object({ names: z.array(z.string()), schema: z.unknown().optional() }),
  ),
} as const satisfies Record<string, MethodDef>;

export type Contract = typeof contract;
export type MethodName = keyof Contract;
export const METHOD_NAMES = Object.keys(contract) as MethodName[];
export type MethodInput<M extends MethodName> = z.input<Contract[M]['input']>;
export type ParsedInput<M extends MethodName> = z.output<Contract[M]['input']>;
export type MethodOutput<M extends MethodName> = z.output<Contract[M]['output']>;

/** The event stream: what subscribers receive, and how they narrow it. */
export const EventFilter = z.object({ job_id: JobId.optional() });
export type EventFilter = z.infer<typeof EventFilter>;
export const eventStream = { event: WorkerEvent, filter: EventFilter } as const;

/** Every answer crossing a process boundary: a value, or an error as data. */
export const Envelope = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), value: z.unknown() }),
  z.object({ ok: z.literal(false), error: ErrorInfo }),
]);
export type Envelope<T = unknown> = { ok: true; value: T } | { ok: false; error: ErrorInfo };

/** The server side of the contract: one handler per method, given parsed input. */
export type WorkerHandlers = { [M in MethodName]: (input: ParsedInput<M>) => Promise<MethodOutput<M>> };

/**
 * What every client (renderer, CLI, tests) talks to. In Electron it is the preload bridge; in a
 * browser, the HTTP/SSE client. `call` rejects with a WorkerError carrying the ErrorInfo.
 */
export interface WorkerClient {
  call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>>;
  /** Receive events (all, or one job's); returns the function that unsubscribes. */
  subscribe(filter: EventFilter, onEvent: (event: WorkerEvent) => void): () => void;
}

/** IPC channel names, derived from the method names. */
export const ipcChannel = (method: MethodName): string => `h2k:${method}`;
export const IPC_EVENT_CHANNEL = 'h2k:event';
export const IPC_SUBSCRIBE_CHANNEL = 'h2k:subscribe';
