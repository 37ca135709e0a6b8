/**
 * The window's secure defaults, written out: context isolation, the sandbox, no Node in the
 * page, no webviews; new windows denied; navigation away from the app blocked; external links
 * opened in the user's browser only when they are http(s). The CSP is in renderer/index.html
 * (a file:// page has no response headers to carry one).
 */
import { isAppUrl } from './ipc-router';

/** webPreferences of the app window. */
export function secureWebPreferences(preloadPath: string, devTools: boolean) {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    navigateOnDragDrop: false,
    spellcheck: false,
    safeDialogs: true,
    devTools,
  } as const;
}

/** True for URLs that may be handed to the system browser: http and https only. */
export function isExternalHttp(url: string): boolean {
  try {
    const u = new URL(url);
    return u.protocol === 'https:' || u.protocol === 'http:';
  } catch {
    return false;
  }
}

/** The parts of a webContents the guards use (Electron's WebContents fits). */
export interface GuardedContents {
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
  on(event: 'will-navigate' | 'will-redirect', listener: (details: { url: string; preventDefault(): void }) => void): unknown;
  on(event: 'will-attach-webview', listener: (event: { preventDefault(): void }) => void): unknown;
}

/**
 * Guard one webContents (every one Electron creates): deny new windows, block navigation and
 * redirects away from the app, refuse webviews; http(s) links go to the system browser.
 */
export function guardContents(contents: GuardedContents, appUrl: string, openExternal: (url: string) => void): void {
  contents.setWindowOpenHandler(({ url }) => {
    if (isExternalHttp(url)) openExternal(url);
    return { action: 'deny' };
  });
  const block = (details: { url: string; preventDefault(): void }) => {
    if (isAppUrl(details.url, appUrl)) return;
    details.preventDefault();
    if (isExternalHttp(details.url)) openExternal(details.url);
  };
  contents.on('will-navigate', block);
  contents.on('will-redirect', block);
  contents.on('will-attach-webview', (event) => event.preventDefault());
}
