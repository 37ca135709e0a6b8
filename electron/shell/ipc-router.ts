/**
 * The IPC router: one `ipcMain.handle` per contract method (channel `h2k:<method>`), built by
 * looping over the contract, plus the event subscription channels and the desktop bridge's
 * channels. Before any handler runs, the sender must be our window's main frame showing the
 * app's own URL, and the payload must pass the method's zod schema; every answer is the
 * envelope `{ok, value} | {ok: false, error}`, errors as data from the catalogue.
 *
 * Nothing is pushed to a page until it subscribes: the renderer pulls its snapshot, then asks.
 */
import {
  DESKTOP_METHOD_NAMES,
  IPC_EVENT_CHANNEL,
  IPC_SUBSCRIBE_CHANNEL,
  IPC_UNSUBSCRIBE_CHANNEL,
  METHOD_NAMES,
  SubscribeRequest,
  UnsubscribeRequest,
  desktopChannel,
  desktopContract,
  ipcChannel,
  type DesktopContract,
  type DesktopMethod,
  type Envelope,
  type EventFilter,
  type EventPush,
  type WorkerHandlers,
} from '../../shared/contract';
import { WorkerError, errorInfo, toErrorInfo } from '../../shared/errors';
import type { WorkerEvent } from '../../shared/protocol';
import { fieldErrors } from '../../shared/validation';
import { dispatch } from '../worker/local-client';
import type { FrameLike, InvokeEventLike, IpcMainLike, SenderLike, WindowLike } from './ports';
import type { z } from 'zod';

/** Decides whether an IPC message comes from the app's own page. */
export type SenderCheck = (event: InvokeEventLike) => boolean;

/** The app's page URL without query or fragment (the renderer routes by fragment). */
export function pageUrl(url: string): string | null {
  try {
    const u = new URL(url);
    u.hash = '';
    u.search = '';
    return u.href;
  } catch {
    return null;
  }
}

/** True when `url` is the app's page (any fragment), e.g. file:///…/dist/renderer/index.html#/progress. */
export function isAppUrl(url: string, appUrl: string): boolean {
  const a = pageUrl(url);
  return a !== null && a === pageUrl(appUrl);
}

/**
 * The sender check of the app: the message comes from the window's webContents, from its main
 * frame (not a subframe), and that frame shows the app's URL.
 */
export function trustedSender(getWindow: () => WindowLike | null, appUrl: string): SenderCheck {
  return (event) => {
    const win = getWindow();
    const frame: FrameLike | null = event.senderFrame;
    if (!win || !frame || event.sender !== win.webContents) return false;
    const main = win.webContents.mainFrame;
    if (frame.parent !== null && frame.parent !== undefined) return false;
    if (frame.processId !== main.processId || frame.routingId !== main.routingId) return false;
    return isAppUrl(frame.url, appUrl);
  };
}

const refusedSender = (): Envelope<never> => ({
  ok: false,
  error: errorInfo('forbidden_sender', { detail: 'IPC message from a frame that is not the app window\'s main frame' }),
});

function onlyOneArgument(args: unknown[]): void {
  if (args.length > 1) throw new WorkerError('bad_request', { detail: `one argument expected, got ${args.length}` });
}

export interface EventSource {
  subscribe(filter: EventFilter, fn: (e: WorkerEvent) => void): () => void;
}

export interface WorkerRouter {
  /** The channels handled, for tests and diagnostics. */
  readonly channels: readonly string[];
  /** Subscriptions open now. */
  subscriptionCount(): number;
  /** Drop a page's subscriptions (it navigated, reloaded or went away). */
  dropSender(sender: SenderLike): void;
  /** Remove every handler and subscription. */
  dispose(): void;
}

/**
 * Register the worker contract on `ipcMain`: one handler per method, validated by `dispatch`
 * (the contract's input schema), and the subscribe/unsubscribe channels over the event feed.
 */
export function registerWorkerRouter(deps: {
  ipcMain: IpcMainLike;
  handlers: WorkerHandlers;
  events: EventSource;
  isTrusted: SenderCheck;
}): WorkerRouter {
  const { ipcMain, handlers, isTrusted } = deps;
  const channels: string[] = [];
  const subs = new Map<string, { sender: SenderLike; off: () => void }>();

  for (const method of METHOD_NAMES) {
    const channel = ipcChannel(method);
    ipcMain.handle(channel, async (event, ...args): Promise<Envelope> => {
      if (!isTrusted(event)) return refusedSender();
      try {
        onlyOneArgument(args);
        return { ok: true, value: await dispatch(handlers, method, args[0]) };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) };
      }
    });
    channels.push(channel);
  }

  ipcMain.handle(IPC_SUBSCRIBE_CHANNEL, async (event, ...args): Promise<Envelope<{ sub: string }>> => {
    if (!isTrusted(event)) return refusedSender();
    const r = SubscribeRequest.safeParse(args[0]);
    if (!r.success || args.length > 1) {
      return { ok: false, error: errorInfo('bad_request', { fields: r.success ? [] : fieldErrors(r.error), detail: 'input of subscribe' }) };
    }
    const { sub, filter } = r.data;
    subs.get(sub)?.off();
    const sender = event.sender;
    const off = deps.events.subscribe(filter, (e) => {
      if (sender.isDestroyed()) {
        off();
        subs.delete(sub);
        return;
      }
      const push: EventPush = { sub, event: e };
      sender.send(IPC_EVENT_CHANNEL, push);
    });
    subs.set(sub, { sender, off });
    return { ok: true, value: { sub } };
  });
  channels.push(IPC_SUBSCRIBE_CHANNEL);

  ipcMain.handle(IPC_UNSUBSCRIBE_CHANNEL, async (event, ...args): Promise<Envelope<{ removed: boolean }>> => {
    if (!isTrusted(event)) return refusedSender();
    const r = UnsubscribeRequest.safeParse(args[0]);
    if (!r.success) return { ok: false, error: errorInfo('bad_request', { fields: fieldErrors(r.error), detail: 'input of unsubscribe' }) };
    const entry = subs.get(r.data.sub);
    if (!entry || entry.sender !== event.sender) return { ok: true, value: { removed: false } };
    entry.off();
    subs.delete(r.data.sub);
    return { ok: true, value: { removed: true } };
  });
  channels.push(IPC_UNSUBSCRIBE_CHANNEL);

  return {
    channels,
    subscriptionCount: () => subs.size,
    dropSender(sender) {
      for (const [id, s] of subs) {
        if (s.sender !== sender) continue;
        s.off();
        subs.delete(id);
      }
    },
    dispose() {
      for (const s of subs.values()) s.off();
      subs.clear();
      for (const c of channels) ipcMain.removeHandler(c);
    },
  };
}

/** The desktop bridge's handlers, given parsed input. */
export type DesktopHandlers = {
  [M in DesktopMethod]: (input: z.output<DesktopContract[M]['input']>) => Promise<z.output<DesktopContract[M]['output']>>;
};

/** Register the desktop bridge's channels (`h2k-desktop:<name>`), same checks and envelope. */
export function registerDesktopRouter(deps: { ipcMain: IpcMainLike; handlers: DesktopHandlers; isTrusted: SenderCheck }): { channels: readonly string[]; dispose(): void } {
  const channels: string[] = [];
  for (const name of DESKTOP_METHOD_NAMES) {
    const channel = desktopChannel(name);
    const schema = desktopContract[name].input;
    const handler = deps.handlers[name] as (input: unknown) => Promise<unknown>;
    deps.ipcMain.handle(channel, async (event, ...args): Promise<Envelope> => {
      if (!deps.isTrusted(event)) return refusedSender();
      try {
        onlyOneArgument(args);
        const r = schema.safeParse(args[0] ?? {});
        if (!r.success) throw new WorkerError('bad_request', { fields: fieldErrors(r.error), detail: `input of ${name}` });
        return { ok: true, value: await handler(r.data) };
      } catch (err) {
        return { ok: false, error: toErrorInfo(err) };
      }
    });
    channels.push(channel);
  }
  return {
    channels,
    dispose() {
      for (const c of channels) deps.ipcMain.removeHandler(c);
    },
  };
}
