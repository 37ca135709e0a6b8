/**
 * The WorkerClient in Electron: over the preload bridge (`window.h2k`), whose named functions
 * answer with envelopes; an error envelope becomes a WorkerError carrying its ErrorInfo.
 */
import { splitMethod, type Envelope, type EventFilter, type H2kBridge, type MethodInput, type MethodName, type MethodOutput } from '../../shared/contract';
import { WorkerError } from '../../shared/errors';
import type { WorkerEvent } from '../../shared/protocol';
import type { AppClient } from './types';

type Fn = (input: unknown) => Promise<Envelope>;

export function ipcClient(bridge: H2kBridge): AppClient {
  const fnOf = (method: MethodName): Fn => {
    const [ns, fn] = splitMethod(method);
    const group = (bridge as unknown as Record<string, Record<string, Fn> | undefined>)[ns];
    const f = group?.[fn];
    if (!f) throw new WorkerError('internal', { detail: `the preload bridge has no ${method}` });
    return f;
  };
  return {
    door: 'ipc',
    async call<M extends MethodName>(method: M, input: MethodInput<M>): Promise<MethodOutput<M>> {
      const env = await fnOf(method)(input);
      if (!env.ok) throw WorkerError.fromInfo(env.error);
      return env.value as MethodOutput<M>;
    },
    subscribe(filter: EventFilter, onEvent: (e: WorkerEvent) => void) {
      return bridge.subscribe(filter, onEvent);
    },
    onStatus(listener) {
      // IPC is there for the page's whole life.
      listener('open');
      return () => undefined;
    },
  };
}
