/**
 * The few shapes of Electron the shell's logic uses, written out structurally so the IPC
 * router, the preload bridge and the window guards take them as parameters. Only the entry
 * files (main.ts, preload.ts) pass the real `electron` objects; the tests pass stand-ins
 * (fakeIpcMainForTests and friends) and drive the very same code.
 */

/** A frame that sent an IPC message (Electron's WebFrameMain). */
export interface FrameLike {
  readonly url: string;
  readonly parent: unknown;
  readonly processId: number;
  readonly routingId: number;
}

/** The page side of a webContents, as far as pushing events goes. */
export interface SenderLike {
  send(channel: string, ...args: unknown[]): void;
  isDestroyed(): boolean;
}

/** An `ipcMain.handle` event (Electron's IpcMainInvokeEvent). */
export interface InvokeEventLike {
  readonly sender: SenderLike;
  readonly senderFrame: FrameLike | null;
}

/** `ipcMain`: invoke handlers by channel. */
export interface IpcMainLike {
  handle(channel: string, listener: (event: InvokeEventLike, ...args: unknown[]) => unknown): void;
  removeHandler(channel: string): void;
}

/** `ipcRenderer` as the preload uses it. */
export interface IpcRendererLike {
  invoke(channel: string, ...args: unknown[]): Promise<unknown>;
  on(channel: string, listener: (event: unknown, ...args: unknown[]) => void): unknown;
}

/** `contextBridge`. */
export interface ContextBridgeLike {
  exposeInMainWorld(apiKey: string, api: unknown): void;
}

/** The window whose main frame is the only trusted sender. */
export interface WindowLike {
  readonly webContents: SenderLike & { readonly mainFrame: FrameLike };
}
