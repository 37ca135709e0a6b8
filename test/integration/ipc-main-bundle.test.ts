/**
 * The built main process (dist/electron/main.cjs) started on stand-ins for Electron's objects,
 * since the Electron binary is not needed to check what the bundle does with them: it opens the
 * worker on the data folder and becomes its runner, creates the window with the secure
 * preferences and the bundled preload, loads the built renderer, registers the IPC router for
 * every contract method with the sender check, guards every webContents, denies permissions,
 * and on quit stops the runner cleanly. Needs `npm run build`.
 */
import { existsSync } from 'node:fs';
import Module, { createRequire } from 'node:module';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { METHOD_NAMES, ipcChannel, type Envelope } from '../../shared/contract';
import { JobStore } from '../../electron/store/store';
import { REPO, tempDir, waitFor } from '../support/helpers';

type Listener = (...args: unknown[]) => unknown;

/** Stand-ins for the parts of Electron main.ts uses, recording what the bundle does. */
function fakeElectronForTests() {
  const appListeners = new Map<string, Listener[]>();
  const handlers = new Map<string, Listener>();
  const windows: FakeBrowserWindow[] = [];
  const calls: string[] = [];
  const mainFrame = { url: '', parent: null, processId: 3, routingId: 1 };
  class FakeWebContents {
    mainFrame = mainFrame;
    listeners = new Map<string, Listener[]>();
    openHandler: Listener | null = null;
    sent: unknown[] = [];
    on(event: string, l: Listener) {
      this.listeners.set(event, [...(this.listeners.get(event) ?? []), l]);
      return this;
    }
    setWindowOpenHandler(h: Listener) {
      this.openHandler = h;
    }
    send(...args: unknown[]) {
      this.sent.push(args);
    }
    isDestroyed() {
      return false;
    }
  }
  class FakeBrowserWindow {
    webContents = new FakeWebContents();
    loaded = '';
    progress: number[] = [];
    constructor(readonly options: { webPreferences: Record<string, unknown> }) {
      windows.push(this);
      for (const l of appListeners.get('web-contents-created') ?? []) l({}, this.webContents);
    }
    once() {
      return this;
    }
    on() {
      return this;
    }
    async loadFile(path: string) {
      this.loaded = path;
      mainFrame.url = pathToFileURL(path).href;
    }
    isDestroyed() {
      return false;
    }
    isFocused() {
      return true;
    }
    setProgressBar(p: number) {
      this.progress.push(p);
    }
  }
  let permissionHandler: Listener | null = null;
  const electron = {
    app: {
      isPackaged: false,
      enableSandbox: () => calls.push('enableSandbox'),
      requestSingleInstanceLock: () => true,
      on: (event: string, l: Listener) => appListeners.set(event, [...(appListeners.get(event) ?? []), l]),
      whenReady: () => Promise.resolve(),
      quit: () => calls.push('quit'),
      exit: (code: number) => calls.push(`exit ${code}`),
    },
    BrowserWindow: FakeBrowserWindow,
    ipcMain: { handle: (c: string, l: Listener) => handlers.set(c, l), removeHandler: (c: string) => handlers.delete(c) },
    dialog: { showOpenDialog: async () => ({ canceled: true, filePaths: [] }), showMessageBoxSync: () => 0 },
    shell: { openExternal: async (u: string) => calls.push(`openExternal ${u}`), showItemInFolder: () => undefined },
    Notification: class {
      static isSupported() {
        return false;
      }
    },
    session: {
      defaultSession: {
        setPermissionRequestHandler: (h: Listener) => (permissionHandler = h),
        setPermissionCheckHandler: () => undefined,
      },
    },
  };
  return { electron, appListeners, handlers, windows, calls, mainFrame, permission: () => permissionHandler };
}

const MAIN = join(REPO, 'dist/electron/main.cjs');
let fake: ReturnType<typeof fakeElectronForTests>;
let dir: ReturnType<typeof tempDir>;
const originalLoad = (Module as unknown as { _load: (request: string, ...rest: unknown[]) => unknown })._load;
const savedDataDir = process.env.H2K_DATA_DIR;

beforeAll(async () => {
  if (!existsSync(MAIN)) throw new Error('dist/electron/main.cjs is missing: run `npm run build` first');
  dir = tempDir('h2k-main-');
  process.env.H2K_DATA_DIR = join(dir.path, 'data');
  fake = fakeElectronForTests();
  (Module as unknown as { _load: unknown })._load = function (request: string, ...rest: unknown[]) {
    if (request === 'electron') return fake.electron;
    return originalLoad.call(this, request, ...rest);
  };
  createRequire(import.meta.url)(MAIN);
  await waitFor(() => fake.windows.length === 1 && fake.windows[0]!.loaded, 'the window', 15_000);
});

afterAll(async () => {
  (Module as unknown as { _load: unknown })._load = originalLoad;
  if (savedDataDir === undefined) delete process.env.H2K_DATA_DIR;
  else process.env.H2K_DATA_DIR = savedDataDir;
  dir?.cleanup();
});

describe('the built Electron main process, on stand-ins', () => {
  it('opens one sandboxed, isolated window on the built renderer with the bundled preload', () => {
    const win = fake.windows[0]!;
    expect(fake.calls).toContain('enableSandbox');
    expect(win.options.webPreferences).toMatchObject({
      preload: join(REPO, 'dist/electron/preload.cjs'),
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      webviewTag: false,
      devTools: true,
    });
    expect(win.loaded).toBe(join(REPO, 'dist/renderer/index.html'));
    expect(existsSync(win.loaded)).toBe(true);
  });

  it('registers the contract on ipcMain and answers only the window\'s main frame', async () => {
    for (const m of METHOD_NAMES) expect(fake.handlers.has(ipcChannel(m)), m).toBe(true);
    const win = fake.windows[0]!;
    const info = fake.handlers.get(ipcChannel('worker.info'))!;
    const ok = (await info({ sender: win.webContents, senderFrame: fake.mainFrame }, {})) as Envelope<{ data_dir: string; runner: { pid: number } | null }>;
    expect(ok).toMatchObject({ ok: true, value: { data_dir: join(dir.path, 'data'), runner: { pid: process.pid } } });
    const foreign = (await info({ sender: win.webContents, senderFrame: { ...fake.mainFrame, url: 'https://example.com/' } }, {})) as Envelope;
    expect(foreign).toMatchObject({ ok: false, error: { code: 'forbidden_sender' } });
  });

  it('guards the window: no new windows, no navigation away, no permissions', () => {
    const contents = fake.windows[0]!.webContents;
    expect(contents.openHandler?.({ url: 'https://libguestfs.org/' })).toEqual({ action: 'deny' });
    expect(fake.calls).toContain('openExternal https://libguestfs.org/');
    let prevented = false;
    for (const l of contents.listeners.get('will-navigate') ?? []) l({ url: 'file:///etc/passwd', preventDefault: () => (prevented = true) });
    expect(prevented).toBe(true);
    let granted: boolean | null = null;
    fake.permission()?.({}, 'media', (g: boolean) => (granted = g));
    expect(granted).toBe(false);
  });

  it('on quit, stops the runner cleanly before quitting', async () => {
    const prevented: boolean[] = [];
    for (const l of fake.appListeners.get('before-quit') ?? []) l({ preventDefault: () => prevented.push(true) });
    expect(prevented).toEqual([true]);
    await waitFor(() => fake.calls.includes('quit'), 'the quit after the runner stopped', 15_000);
    const store = JobStore.open(join(dir.path, 'data'));
    try {
      expect(store.lastRunner()).toBeNull();
    } finally {
      store.close();
    }
  });
});
