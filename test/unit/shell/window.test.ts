import { describe, expect, it } from 'vitest';
import { guardContents, isExternalHttp, secureWebPreferences, type GuardedContents } from '../../../electron/shell/window';
import { isAppUrl } from '../../../electron/shell/ipc-router';
import { APP_URL } from './fakes';

/** A stand-in webContents that records the guards installed on it. */
function fakeContentsForTests() {
  const listeners = new Map<string, (details: { url: string; preventDefault(): void }) => void>();
  let openHandler: ((d: { url: string }) => { action: 'deny' }) | null = null;
  const contents: GuardedContents = {
    setWindowOpenHandler: (h) => {
      openHandler = h;
    },
    on: (event: string, l: (details: { url: string; preventDefault(): void }) => void) => {
      listeners.set(event, l);
      return contents;
    },
  } as GuardedContents;
  const navigate = (event: string, url: string) => {
    let prevented = false;
    listeners.get(event)?.({ url, preventDefault: () => (prevented = true) });
    return prevented;
  };
  return { contents, navigate, open: (url: string) => openHandler?.({ url }) };
}

describe('window guards', () => {
  it('write the secure defaults out', () => {
    expect(secureWebPreferences('/app/preload.cjs', false)).toEqual({
      preload: '/app/preload.cjs',
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
      devTools: false,
    });
  });

  it('deny new windows, opening only http(s) links in the system browser', () => {
    const opened: string[] = [];
    const f = fakeContentsForTests();
    guardContents(f.contents, APP_URL, (u) => opened.push(u));
    expect(f.open('https://libguestfs.org/')).toEqual({ action: 'deny' });
    expect(f.open('file:///etc/passwd')).toEqual({ action: 'deny' });
    expect(f.open('javascript:alert(1)')).toEqual({ action: 'deny' });
    expect(opened).toEqual(['https://libguestfs.org/']);
  });

  it('block navigation and redirects away from the app page, webviews too', () => {
    const opened: string[] = [];
    const f = fakeContentsForTests();
    guardContents(f.contents, APP_URL, (u) => opened.push(u));
    expect(f.navigate('will-navigate', `${APP_URL}#/progress`)).toBe(false);
    expect(f.navigate('will-navigate', 'file:///tmp/other.html')).toBe(true);
    expect(f.navigate('will-redirect', 'http://example.com/')).toBe(true);
    expect(f.navigate('will-navigate', 'data:text/html,<script>1</script>')).toBe(true);
    expect(f.navigate('will-attach-webview', 'about:blank')).toBe(true);
    expect(opened).toEqual(['http://example.com/']);
  });

  it('recognise the app URL by path, whatever the fragment or query', () => {
    expect(isAppUrl(`${APP_URL}#/x`, APP_URL)).toBe(true);
    expect(isAppUrl(`${APP_URL}?a=1`, APP_URL)).toBe(true);
    expect(isAppUrl(APP_URL.replace('index.html', 'other.html'), APP_URL)).toBe(false);
    expect(isAppUrl('not a url', APP_URL)).toBe(false);
    expect(isExternalHttp('mailto:a@b')).toBe(false);
  });
});
