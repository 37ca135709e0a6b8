/**
 * The preload's bridges, built from the contract: `window.h2k` has one named function per
 * contract method, grouped by namespace (`h2k.jobs.submit(input)`), each resolving with the
 * envelope, plus `subscribe(filter, onEvent)` returning its unsubscribe function;
 * `window.h2kDesktop` has the native dialogs. The page never sees `ipcRenderer` nor an IPC
 * event object: one listener on the event channel, added once, hands each subscriber only the
 * WorkerEvent.
 */
import {
  DESKTOP_METHOD_NAMES,
  Envelope,
  IPC_EVENT_CHANNEL,
  IPC_SUBSCRIBE_CHANNEL,
  IPC_UNSUBSCRIBE_CHANNEL,
  METHOD_NAMES,
  desktopChannel,
  ipcChannel,
  splitMethod,
  type DesktopBridge,
  type EventFilter,
  type H2kBridge,
} from '../../shared/contract';
import { errorInfo } from '../../shared/errors';
import { PROTOCOL_VERSION, type WorkerEvent } from '../../shared/protocol';
import type { ContextBridgeLike, IpcRendererLike } from './ports';

type Invoker = (input?: unknown) => Promise<Envelope>;

/** Invoke a channel; anything but a well-formed envelope becomes an `internal` error as data. */
function invoker(ipc: IpcRendererLike, channel: string): Invoker {
  return async (input) => {
    try {
      const answer = await ipc.invoke(channel, input ?? {});
      const parsed = Envelope.safeParse(answer);
      if (parsed.success) return parsed.data as Envelope;
      return { ok: false, error: errorInfo('internal', { detail: `malformed answer on ${channel}` }) };
    } catch (err) {
      return { ok: false, error: errorInfo('internal', { detail: `${channel}: ${err instanceof Error ? err.message : String(err)}` }) };
    }
  };
}

/** `window.h2k`: the worker contract as named functions, and the event subscription. */
export function buildWorkerBridge(ipc: IpcRendererLike): H2kBridge {
  const api: Record<string, Record<string, Invoker>> = {};
  for (const method of METHOD_NAMES) {
    const [ns, fn] = splitMethod(method);
    if (ns === 'subscribe' || ns === 'protocol_version') throw new Error(`contract namespace ${ns} clashes with the bridge's own ${ns}`);
    (api[ns] ??= {})[fn] = invoker(ipc, ipcChannel(method));
  }
  for (const ns of Object.keys(api)) Object.freeze(api[ns]);

  const subscribers = new Map<string, (e: WorkerEvent) => void>();
  let listening = false;
  let counter = 0;
  const prefix = Math.random().toString(36).slice(2, 10);

  function subscribe(filter: EventFilter, onEvent: (event: WorkerEvent) => void): () => void {
    if (typeof onEvent !== 'function') throw new TypeError('subscribe(filter, onEvent): onEvent must be a function');
    if (!listening) {
      listening = true;
      ipc.on(IPC_EVENT_CHANNEL, (_event, payload) => {
        const p = payload as { sub?: unknown; event?: unknown } | null;
        if (!p || typeof p.sub !== 'string') return;
        subscribers.get(p.sub)?.(p.event as WorkerEvent);
      });
    }
    const sub = `${prefix}-${++counter}`;
    subscribers.set(sub, onEvent);
    void invoker(ipc, IPC_SUBSCRIBE_CHANNEL)({ sub, filter: { ...(filter.job_id ? { job_id: filter.job_id } : {}) } }).then((r) => {
      if (!r.ok) subscribers.delete(sub);
    });
    return () => {
      if (subscribers.delete(sub)) void invoker(ipc, IPC_UNSUBSCRIBE_CHANNEL)({ sub });
    };
  }

  return Object.freeze({ ...api, subscribe, protocol_version: PROTOCOL_VERSION }) as unknown as H2kBridge;
}

/** `window.h2kDesktop`: native dialogs and the file manager. */
export function buildDesktopBridge(ipc: IpcRendererLike): DesktopBridge {
  const api: Record<string, Invoker> = {};
  for (const name of DESKTOP_METHOD_NAMES) api[name] = invoker(ipc, desktopChannel(name));
  return Object.freeze(api) as unknown as DesktopBridge;
}

/** What the preload does: expose both bridges in the page's main world. */
export function exposeBridges(contextBridge: ContextBridgeLike, ipc: IpcRendererLike): void {
  contextBridge.exposeInMainWorld('h2k', buildWorkerBridge(ipc));
  contextBridge.exposeInMainWorld('h2kDesktop', buildDesktopBridge(ipc));
}
