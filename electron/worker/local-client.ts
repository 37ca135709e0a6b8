/**
 * The in-process door: a WorkerClient over a worker's handlers, validating each input with
 * the contract's schema exactly as the IPC router and the REST server do.
 */
import { contract, type MethodInput, type MethodName, type MethodOutput, type WorkerClient, type WorkerHandlers } from '../../shared/contract';
import { WorkerError } from '../../shared/errors';
import { fieldErrors } from '../../shared/validation';
import type { EventFeed } from '../events/feed';

/**
 * Parse a method's input with its contract schema. Throws WorkerError `bad_request` listing
 * the offending fields.
 */
export function parseInput<M extends MethodName>(method: M, input: unknown): Parameters<WorkerHandlers[M]>[0] {
  const r = contract[method].input.safeParse(input ?? {});
  if (!r.success) throw new WorkerError('bad_request', { fields: fieldErrors(r.error), detail: `input of ${method}` });
  return r.data as Parameters<WorkerHandlers[M]>[0];
}

/** Call a handler by name with unvalidated input. */
export async function dispatch<M extends MethodName>(handlers: WorkerHandlers, method: M, input: unknown): Promise<MethodOutput<M>> {
  const parsed = parseInput(method, input);
  return (handlers[method] as (i: typeof parsed) => Promise<MethodOutput<M>>)(parsed);
}

export function localClient(handlers: WorkerHandlers, feed: EventFeed): WorkerClient {
  return {
    call<M extends MethodName>(method: M, input: MethodInput<M>) {
      return dispatch(handlers, method, input);
    },
    subscribe(filter, onEvent) {
      return feed.subscribe(filter, onEvent);
    },
  };
}
