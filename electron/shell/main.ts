/**
 * The desktop app's main process: composes the pieces, then opens the window. The main process
 * is the runner of the data folder (the same worker the CLI and the server open), unless another
 * process already is, in which case the app attaches to it through the store.
 */
import { BrowserWindow, Notification, app, dialog, ipcMain, session, shell } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WorkerError } from '../../shared/errors';
import { resolveDataDir } from '../paths';
import { openWorker, type Worker } from '../worker/worker';
import { attachDesktopStatus } from './desktop-status';
import { createDesktopHandlers } from './desktop';
import { registerDesktopRouter, registerWorkerRouter, trustedSender } from './ipc-router';
import { guardContents, isExternalHttp, secureWebPreferences } from './window';

const RENDERER_INDEX = join(__dirname, '..', 'renderer', 'index.html');
const APP_URL = pathToFileURL(RENDERER_INDEX).href;
const PRELOAD = join(__dirname, 'preload.cjs');

let win: BrowserWindow | null = null;
let worker: Worker | null = null;

const log = (line: string) => process.stderr.write(`[h2k] ${line}\n`);

function openExternal(url: string): void {
  if (isExternalHttp(url)) void shell.openExternal(url);
}

function createWindow(): BrowserWindow {
  const w = new BrowserWindow({
    width: 1280,
    height: 800,
    minWidth: 960,
    minHeight: 600,
    show: false,
    title: 'hyper2kvm Workbench',
    backgroundColor: '#1b1f24',
    webPreferences: secureWebPreferences(PRELOAD, !app.isPackaged),
  });
  w.once('ready-to-show', () => w.show());
  void w.loadFile(RENDERER_INDEX);
  return w;
}

async function start(): Promise<void> {
  session.defaultSession.setPermissionRequestHandler((_contents, _permission, callback) => callback(false));
  session.defaultSession.setPermissionCheckHandler(() => false);

  // The desktop app is the user's own tool: its file picker (native dialogs) may show anything
  // the user can read. The browser door (h2k-worker serve) is the one confined to --root folders.
  const w = openWorker({ dataDir: resolveDataDir(), roots: ['/'], runner: { log } });
  worker = w;
  try {
    w.startRunner();
  } catch (err) {
    if (!(err instanceof WorkerError) || err.code !== 'runner_busy') throw err;
    log(`attached: another process runs this folder's jobs (${err.info.detail ?? ''})`);
  }

  const isTrusted = trustedSender(() => (win && !win.isDestroyed() ? win : null), APP_URL);
  const router = registerWorkerRouter({ ipcMain, handlers: w.service, events: w.feed, isTrusted });
  registerDesktopRouter({
    ipcMain,
    isTrusted,
    handlers: createDesktopHandlers({
      showOpenDialog: (options) => (win ? dialog.showOpenDialog(win, options) : dialog.showOpenDialog(options)),
      showItemInFolder: (path) => shell.showItemInFolder(path),
    }),
  });

  win = createWindow();
  const contents = win.webContents;
  // A reload or navigation starts a new page: the old page's subscriptions go.
  contents.on('did-start-navigation', (details) => {
    if (details.isMainFrame && !details.isSameDocument) router.dropSender(contents);
  });
  contents.on('render-process-gone', () => router.dropSender(contents));
  win.on('closed', () => {
    router.dropSender(contents);
    win = null;
  });

  attachDesktopStatus({
    subscribe: (fn) => w.feed.subscribe({}, fn),
    getDetail: (id) => w.service['jobs.get']({ id }),
    setProgress: (fraction) => win?.setProgressBar(fraction),
    notify: (title, body) => {
      if (Notification.isSupported()) new Notification({ title, body }).show();
    },
    isFocused: () => Boolean(win?.isFocused()),
  });
}

app.enableSandbox();
if (!app.requestSingleInstanceLock()) {
  app.quit();
} else {
  app.on('second-instance', () => {
    if (win) {
      if (win.isMinimized()) win.restore();
      win.focus();
    }
  });
  app.on('web-contents-created', (_event, contents) => guardContents(contents, APP_URL, openExternal));
  app.whenReady().then(start, (err: unknown) => {
    log(`could not start: ${String(err)}`);
    app.exit(70);
  });
  app.on('window-all-closed', () => app.quit());

  let closing = false;
  app.on('before-quit', (event) => {
    if (closing || !worker) return;
    const running = worker.runner?.active.length ?? 0;
    if (running > 0 && win) {
      const choice = dialog.showMessageBoxSync(win, {
        type: 'warning',
        buttons: ['Quit and interrupt', 'Keep running'],
        defaultId: 1,
        cancelId: 1,
        message: `${running} job${running === 1 ? ' is' : 's are'} running.`,
        detail: 'Quitting interrupts them; their partial output is removed and they can be re-run.',
      });
      if (choice !== 0) {
        event.preventDefault();
        return;
      }
    }
    // Stop the runner cleanly (jobs interrupted, tools stopped, lock released), then quit.
    event.preventDefault();
    closing = true;
    void worker.close().finally(() => app.quit());
  });
}
