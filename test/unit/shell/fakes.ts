/**
 * Stand-ins for Electron's ipcMain, ipcRenderer, contextBridge and a window, wired together in
 * one process the way Electron wires them across two: invoke in the page reaches the handler in
 * main with an event naming the sender frame; `send` from main reaches the page's listeners.
 */
import type { ContextBridgeLike, FrameLike, InvokeEventLike, IpcMainLike, IpcRendererLike, SenderLike, WindowLike } from '../../../electron/shell/ports';

export const APP_URL = 'file:///opt/hyper2kvm/resources/app.asar/dist/renderer/index.html';

type Handler = (event: InvokeEventLike, ...args: unknown[]) => unknown;

export class FakeIpcMainForTests implements IpcMainLike {
  readonly handlers = new Map<string, Handler>();
  handle(channel: string, listener: Handler): void {
    if (this.handlers.has(channel)) throw new Error(`second handler for ${channel}`);
    this.handlers.set(channel, listener);
  }
  removeHandler(channel: string): void {
    this.handlers.delete(channel);
  }
  /** What Electron does for ipcRenderer.invoke: call the handler, answer what it returns. */
  async invoke(event: InvokeEventLike, channel: string, ...args: unknown[]): Promise<unknown> {
    const h = this.handlers.get(channel);
    if (!h) throw new Error(`No handler registered for '${channel}'`);
    // Electron clones arguments and answers with the structured clone algorithm.
    return structuredClone(await h(event, ...args.map((a) => structuredClone(a))));
  }
}

/** A webContents: what main pushes with `send` is delivered to the page's ipcRenderer listeners. */
export class FakeWebContentsForTests implements SenderLike {
  readonly mainFrame: FrameLike;
  readonly sent: { channel: string; args: unknown[] }[] = [];
  destroyed = false;
  private readonly listeners = new Map<string, ((event: unknown, ...args: unknown[]) => void)[]>();
  constructor(url = APP_URL, processId = 4, routingId = 1) {
    this.mainFrame = { url, parent: null, processId, routingId };
  }
  send(channel: string, ...args: unknown[]): void {
    this.sent.push({ channel, args });
    for (const l of this.listeners.get(channel) ?? []) l({ sender: 'ipc-renderer-event-object' }, ...args.map((a) => structuredClone(a)));
  }
  isDestroyed(): boolean {
    return this.destroyed;
  }
  listen(channel: string, l: (event: unknown, ...args: unknown[]) => void): void {
    this.listeners.set(channel, [...(this.listeners.get(channel) ?? []), l]);
  }
  listenerCount(channel: string): number {
    return this.listeners.get(channel)?.length ?? 0;
  }
}

export function fakeWindowForTests(contents = new FakeWebContentsForTests()): WindowLike & { webContents: FakeWebContentsForTests } {
  return { webContents: contents };
}

/** The page's ipcRenderer, invoking as the given frame of the given webContents. */
export class FakeIpcRendererForTests implements IpcRendererLike {
  constructor(
    private readonly main: FakeIpcMainForTests,
    private readonly contents: FakeWebContentsForTests,
    private readonly frame: FrameLike | null = contents.mainFrame,
  ) {}
  invoke(channel: string, ...args: unknown[]): Promise<unknown> {
    return this.main.invoke({ sender: this.contents, senderFrame: this.frame }, channel, ...args);
  }
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): this {
    this.contents.listen(channel, listener);
    return this;
  }
}

export class FakeContextBridgeForTests implements ContextBridgeLike {
  readonly exposed = new Map<string, unknown>();
  exposeInMainWorld(apiKey: string, api: unknown): void {
    if (this.exposed.has(apiKey)) throw new Error(`${apiKey} exposed twice`);
    this.exposed.set(apiKey, api);
  }
}
