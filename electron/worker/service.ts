/**
 * WorkerService: the contract's handlers. Every door (CLI, IPC, REST) calls these; they only
 * write specs to the store and read state and events back, so every job lands in history and
 * whichever process holds the runner lock executes it.
 */
import { randomBytes } from 'node:crypto';
import { basename } from 'node:path';
import { JobId, JobSpec, OperationType, PROTOCOL_VERSION, WAITING_STATES, isTerminal, type JobSummary, type OperationSupport } from '../../shared/protocol';
import type { CoreHandlers, ParsedInput } from '../../shared/contract';
import { WorkerError, errorInfo } from '../../shared/errors';
import { fieldErrors } from '../../shared/validation';
import { SCHEMA_NAMES, jsonSchemaOf, type SchemaName } from '../../shared/schemas';
import { isSameProcessAlive } from '../tools/spawn';
import { supports } from '../capabilities/supports';
import type { JobStore } from '../store/store';
import type { CapabilityProvider } from './capability-provider';
import { VERSION } from '../version';

export interface ServiceOptions {
  store: JobStore;
  capabilities: CapabilityProvider;
  dataDir: string;
}

/** A readable, sortable job id: `YYYYMMDD-HHMMSS-xxxx` (UTC, 4 random hex digits). */
export function newJobId(now = new Date()): string {
  const stamp = now.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15);
  return `${stamp}-${randomBytes(2).toString('hex')}`;
}

/** A short description of a job for lists: the disks it touches. */
export function titleOf(spec: JobSpec): string {
  switch (spec.operation) {
    case 'convert':
      return spec.params.disks.map((d) => `${basename(d.source)}${d.member ? `:${d.member}` : ''} → ${basename(d.output)}`).join(', ');
    default:
      return spec.params.disks.map((d) => basename(d)).join(', ');
  }
}

/** Seconds a capability report is reused to accept a submitted job (see check in createService). */
const SUBMIT_CAPS_MAX_AGE_S = 60;

export function createService(opts: ServiceOptions): CoreHandlers {
  const { store, capabilities } = opts;

  /**
   * Whether this machine can run the spec. A report up to SUBMIT_CAPS_MAX_AGE_S old is trusted
   * for a yes (a tool gone since then fails the job with tool_missing when it runs); a no is
   * always confirmed by a fresh detection, so a tool installed a moment ago is seen.
   */
  async function check(spec: JobSpec): Promise<OperationSupport & { code: string | null }> {
    let s = supports(spec, await capabilities.get({ appliance: false, maxAgeS: SUBMIT_CAPS_MAX_AGE_S }));
    if (!s.runnable) s = supports(spec, await capabilities.get({ appliance: false }));
    return { operation: spec.operation, implemented: s.implemented, runnable: s.runnable, reasons: s.reasons, code: s.code };
  }

  async function submit(raw: unknown): Promise<JobSummary> {
    const obj = (raw ?? {}) as Record<string, unknown>;
    if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
      throw new WorkerError('validation_failed', { fields: [{ path: '', message: 'a JSON object is expected' }] });
    }
    const parsed = JobSpec.safeParse(raw);
    const requestedId = JobId.safeParse(obj.id).data;
    const id = parsed.success ? (parsed.data.id ?? newJobId()) : (requestedId ?? newJobId());
    const known = OperationType.safeParse(obj.operation);
    if (!parsed.success && !known.success) {
      // Not a job of any kind: nothing to record in history, only the answer.
      throw new WorkerError('validation_failed', { fields: fieldErrors(parsed.error) });
    }
    const operation: OperationType = parsed.success ? parsed.data.operation : (known.data as OperationType);
    const spec = parsed.success ? { ...parsed.data, id } : null;
    store.createJob({
      id,
      operation,
      priority: spec?.priority ?? 50,
      title: spec ? titleOf(spec) : `invalid ${typeof obj.operation === 'string' ? obj.operation : 'job'} spec`,
      labels: spec?.labels ?? {},
      submitted: raw,
      spec,
    });
    if (!parsed.success) {
      const info = errorInfo('validation_failed', { fields: fieldErrors(parsed.error), detail: `recorded as job ${id}` });
      store.endUnrun(id, 'FAILED', 'spec failed validation', info);
      throw new WorkerError('validation_failed', { fields: info.fields, detail: info.detail });
    }
    store.transition(id, 'VALIDATED', 'spec is valid');
    const support = await check(spec as JobSpec);
    if (!support.runnable) {
      const code = support.code === 'not_implemented' ? 'not_implemented' : 'capability_missing';
      const info = errorInfo(code, { detail: support.reasons.join('; ') });
      store.endUnrun(id, 'FAILED', `cannot run here: ${support.reasons.join('; ')}`, info);
      return store.summary(id);
    }
    store.transition(id, 'QUEUED', `queued with priority ${spec?.priority ?? 50}`);
    return store.summary(id);
  }

  return {
    async 'worker.info'() {
      const r = store.lastRunner();
      return {
        name: 'hyper2kvm-workbench',
        version: VERSION,
        protocol: PROTOCOL_VERSION,
        data_dir: opts.dataDir,
        runner: r
          ? { pid: r.pid, hostname: r.hostname, started_at: new Date(r.started_at).toISOString(), alive: isSameProcessAlive(r.pid, r.start_time) }
          : null,
      };
    },
    async 'capabilities.get'(input: ParsedInput<'capabilities.get'>) {
      return capabilities.get({ refresh: input.refresh, appliance: input.appliance || input.refresh });
    },
    async 'jobs.supports'(input) {
      const parsed = JobSpec.safeParse(input.spec);
      if (!parsed.success) throw new WorkerError('validation_failed', { fields: fieldErrors(parsed.error) });
      const { code: _code, ...support } = await check(parsed.data);
      return support;
    },
    async 'jobs.submit'(input) {
      return submit(input.spec);
    },
    async 'jobs.get'(input) {
      return store.detail(input.id);
    },
    async 'jobs.list'(input) {
      return store.list({ ...input, ...(input.state ? { state: input.state } : {}) });
    },
    async 'jobs.cancel'(input) {
      const state = store.stateOf(input.id);
      if (isTerminal(state)) throw new WorkerError('already_terminal', { detail: `job ${input.id} is ${state}` });
      if (WAITING_STATES.includes(state)) {
        const info = errorInfo('cancelled');
        const done = store.endUnrun(input.id, 'CANCELLED', 'cancelled on request before it ran', info, WAITING_STATES);
        if (done) return store.summary(input.id);
      }
      // Running (or claimed meanwhile): its runner sees the flag within a poll.
      store.requestCancel(input.id);
      return store.summary(input.id);
    },
    async 'jobs.events'(input) {
      store.summary(input.id);
      return { events: store.eventsOf(input.id, input.after_seq, input.limit) };
    },
    async 'jobs.rerun'(input) {
      const detail = store.detail(input.id);
      if (!detail.terminal) throw new WorkerError('not_terminal', { detail: `job ${input.id} is ${detail.summary.state}` });
      const submitted = detail.submitted as Record<string, unknown>;
      const { id: _old, ...rest } = submitted ?? {};
      return submit({ ...rest, labels: { ...((rest.labels as Record<string, string> | undefined) ?? {}), rerun_of: input.id } });
    },
    async 'protocol.schema'(input) {
      if (input.name === undefined) return { names: SCHEMA_NAMES };
      if (!SCHEMA_NAMES.includes(input.name as SchemaName)) {
        throw new WorkerError('bad_request', { detail: `no schema named ${input.name}; known: ${SCHEMA_NAMES.join(', ')}` });
      }
      return { names: SCHEMA_NAMES, schema: jsonSchemaOf(input.name as SchemaName) };
    },
  };
}
