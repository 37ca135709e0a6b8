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
import { AbsolutePath, Bytes, ErrorInfo, ImageFormat, JobId, PROTOCOL_VERSION } from './protocol/common';
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

/** One entry of a folder listing (`fs.list`), for the browser's file picker. */
export const FsEntry = z.object({
  name: z.string(),
  path: z.string().describe('absolute path, symlinks resolved'),
  type: z.enum(['dir', 'file', 'other']),
  symlink: z.boolean().describe('the name is a symlink (to a target inside the roots)'),
  size_bytes: Bytes.nullable().describe('apparent size of a file; null for folders'),
  modified_at: z.iso.datetime().nullable(),
  kind: z
    .enum(['disk', 'package', 'extent'])
    .nullable()
    .describe('by extension: a disk image, a VM package (.ova/.ovf), or a vmdk extent (pick its descriptor instead)'),
});
export type FsEntry = z.infer<typeof FsEntry>;

/** A folder the server may show, with the space free there. */
export const FsRoot = z.object({ path: z.string(), free_bytes: Bytes.nullable(), total_bytes: Bytes.nullable() });
export type FsRoot = z.infer<typeof FsRoot>;

export const FsListing = z.object({
  path: z.string().describe('the folder listed, symlinks resolved'),
  root: z.string().describe('the root it lies in'),
  parent: z.string().nullable().describe('the folder above, or null at a root'),
  entries: z.array(FsEntry).describe('folders first, then files, by name'),
  truncated: z.boolean().describe('more entries exist than were returned'),
  free_bytes: Bytes.nullable().describe('free space in this folder\'s filesystem'),
  total_bytes: Bytes.nullable(),
});
export type FsListing = z.infer<typeof FsListing>;

export const VerifyMode = z.enum(['none', 'compare', 'checksum']);

/** What a technician may change; the folders are shown but fixed for the process's life. */
export const SettingsPatch = z
  .object({
    concurrency: z.number().int().min(1).max(8).describe('jobs run at once; applies when the runner next starts'),
    default_format: ImageFormat.describe('output format the job builder proposes for convert'),
    default_verify: VerifyMode.describe('verification the job builder proposes for convert'),
  })
  .partial()
  .strict();
export type SettingsPatch = z.infer<typeof SettingsPatch>;

export const Settings = z
  .object({
    data_dir: z.string().describe('where the store lives (--data-dir or H2K_DATA_DIR; read-only here)'),
    scratch_dir: z.string().describe('temporary files (H2K_SCRATCH_DIR; read-only here)'),
    concurrency: z.number().int().min(1).max(8),
    default_format: ImageFormat,
    default_verify: VerifyMode,
    runner_concurrency: z.number().int().positive().nullable().describe('concurrency of the runner now executing jobs here, when it is this process'),
    updated_at: z.iso.datetime().nullable().describe('when the settings were last changed'),
  })
  .describe('Settings');
export type Settings = z.infer<typeof Settings>;

export const JobReport = z.object({
  json: z.string().describe('the job report as pretty-printed JSON'),
  markdown: z.string().describe('the same report for people, in Markdown'),
  filename_base: z.string().describe('a safe file name without extension, e.g. h2k-job-<id>'),
});
export type JobReport = z.infer<typeof JobReport>;

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
  'jobs.report': method("A job's report (detail, timeline, result, findings) as JSON and Markdown, for export.", z.object({ id: JobId }), JobReport),
  'fs.roots': method('The folders the file picker may show (a server\'s --root folders).', Empty, z.object({ roots: z.array(FsRoot) })),
  'fs.list': method(
    'List a folder inside the roots (after resolving symlinks); anything outside is refused with path_outside_roots.',
    z.object({
      path: AbsolutePath,
      hidden: z.boolean().default(false).describe('include names starting with "."'),
      limit: z.number().int().min(1).max(5000).default(2000),
    }),
    FsListing,
  ),
  'settings.get': method('The worker settings of this data folder.', Empty, Settings),
  'settings.set': method('Change settings; returns them all.', SettingsPatch, Settings),
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

/** Methods of the app's doors (file picker, settings, report export), served by service-extra. */
export const APP_METHOD_NAMES = ['jobs.report', 'fs.roots', 'fs.list', 'settings.get', 'settings.set'] as const satisfies readonly MethodName[];
export type AppMethodName = (typeof APP_METHOD_NAMES)[number];
/** The job methods, served by the core service. */
export type CoreMethodName = Exclude<MethodName, AppMethodName>;
export type CoreHandlers = Pick<WorkerHandlers, CoreMethodName>;
export type AppHandlers = Pick<WorkerHandlers, AppMethodName>;

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
export const IPC_UNSUBSCRIBE_CHANNEL = 'h2k:unsubscribe';

/** A subscription's id, chosen by the preload. */
const SubscriptionId = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/);
/** `h2k:subscribe` payload: the preload names the subscription, so no event can outrun its id. */
export const SubscribeRequest = z.object({ sub: SubscriptionId, filter: EventFilter }).strict();
export const UnsubscribeRequest = z.object({ sub: SubscriptionId }).strict();
/** What main pushes on `h2k:event`: one event for one of this page's subscriptions. */
export type EventPush = { sub: string; event: WorkerEvent };

/** A method's namespace and function name: `jobs.submit` → ['jobs', 'submit']. */
export function splitMethod<M extends MethodName>(method: M): [string, string] {
  const dot = method.indexOf('.');
  return [method.slice(0, dot), method.slice(dot + 1)];
}

type NamespaceOf<M> = M extends `${infer N}.${string}` ? N : never;
type FnOf<M, N extends string> = M extends `${N}.${infer F}` ? F : never;
export type BridgeNamespace = NamespaceOf<MethodName>;

/**
 * What the preload exposes as `window.h2k`: one named function per contract method, grouped by
 * namespace (`h2k.jobs.submit(input)`), each resolving with an Envelope (errors as data, since
 * an Error crossing the context bridge keeps only its message), plus `subscribe`.
 */
export type H2kBridge = {
  [N in BridgeNamespace]: {
    [F in FnOf<MethodName, N>]: (input: MethodInput<`${N}.${F}` & MethodName>) => Promise<Envelope<MethodOutput<`${N}.${F}` & MethodName>>>;
  };
} & {
  /** Receive events (all, or one job's); returns the function that unsubscribes. */
  subscribe(filter: EventFilter, onEvent: (event: WorkerEvent) => void): () => void;
  readonly protocol_version: typeof PROTOCOL_VERSION;
};

/**
 * The desktop bridge (`window.h2kDesktop`, Electron only): native dialogs and the file manager.
 * Not part of the worker contract, since no other door has them; the browser falls back to the
 * server's file picker (`fs.list`). Channels `h2k-desktop:<name>`, same envelope.
 */
export const desktopContract = {
  pickDisks: method(
    'Native dialog: choose disk images or VM packages.',
    z.object({ multiple: z.boolean().default(true) }).strict(),
    z.object({ paths: z.array(z.string()) }),
  ),
  pickFolder: method(
    'Native dialog: choose a folder (a destination); with its free space.',
    z.object({ title: z.string().max(200).optional(), default_path: AbsolutePath.optional() }).strict(),
    z.object({ path: z.string().nullable(), free_bytes: Bytes.nullable() }),
  ),
  showInFolder: method('Show a file in the file manager.', z.object({ path: AbsolutePath }).strict(), z.object({ shown: z.boolean() })),
} as const satisfies Record<string, MethodDef>;
export type DesktopContract = typeof desktopContract;
export type DesktopMethod = keyof DesktopContract;
export const DESKTOP_METHOD_NAMES = Object.keys(desktopContract) as DesktopMethod[];
export const desktopChannel = (method: DesktopMethod): string => `h2k-desktop:${method}`;
export type DesktopBridge = {
  [M in DesktopMethod]: (input: z.input<DesktopContract[M]['input']>) => Promise<Envelope<z.output<DesktopContract[M]['output']>>>;
};
