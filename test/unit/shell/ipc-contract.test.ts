/**
 * The IPC contract, end to end in one process: the router built from the contract on a stand-in
 * ipcMain over a real worker (real SQLite store), the preload's bridges exposed on a stand-in
 * contextBridge, and the renderer's IPC client on top, as in the desktop app.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  DESKTOP_METHOD_NAMES,
  IPC_EVENT_CHANNEL,
  IPC_SUBSCRIBE_CHANNEL,
  IPC_UNSUBSCRIBE_CHANNEL,
  METHOD_NAMES,
  desktopChannel,
  ipcChannel,
  splitMethod,
  type DesktopBridge,
  type Envelope,
  type H2kBridge,
} from '../../../shared/contract';
import { WorkerError } from '../../../shared/errors';
import type { WorkerEvent } from '../../../shared/protocol';
import { openWorker, type Worker } from '../../../electron/worker/worker';
import { registerDesktopRouter, registerWorkerRouter, trustedSender, type WorkerRouter } from '../../../electron/shell/ipc-router';
import { createDesktopHandlers } from '../../../electron/shell/desktop';
import { exposeBridges } from '../../../electron/shell/preload-bridge';
import { ipcClient } from '../../../renderer/client/ipc-client';
import { tempDir } from '../../support/helpers';
import { APP_URL, FakeContextBridgeForTests, FakeIpcMainForTests, FakeIpcRendererForTests, FakeWebContentsForTests, fakeWindowForTests } from './fakes';

let dir: ReturnType<typeof tempDir>;
let worker: Worker;
let ipcMain: FakeIpcMainForTests;
let router: WorkerRouter;
let win: ReturnType<typeof fakeWindowForTests>;
const dialogCalls: unknown[] = [];

beforeAll(() => {
  dir = tempDir('h2k-ipc-');
  worker = openWorker({ dataDir: `${dir.path}/data`, cacheDir: `${dir.path}/cache` });
  ipcMain = new FakeIpcMainForTests();
  win = fakeWindowForTests();
  const isTrusted = trustedSender(() => win, APP_URL);
  router = registerWorkerRouter({ ipcMain, handlers: worker.service, events: worker.feed, isTrusted });
  registerDesktopRouter({
    ipcMain,
    isTrusted,
    handlers: createDesktopHandlers({
      showOpenDialog: async (options) => {
        dialogCalls.push(options);
        return { canceled: false, filePaths: ['/vm/web01.vmdk', '/vm/web01-data.vmdk'] };
      },
      showItemInFolder: () => undefined,
    }),
  });
});

afterAll(async () => {
  router.dispose();
  await worker.close();
  dir.cleanup();
});

/** The page of our window, with the preload run in it. */
function page(frame?: ConstructorParameters<typeof FakeIpcRendererForTests>[2], contents = win.webContents) {
  const bridge = new FakeContextBridgeForTests();
  exposeBridges(bridge, new FakeIpcRendererForTests(ipcMain, contents, frame === undefined ? contents.mainFrame : frame));
  return { h2k: bridge.exposed.get('h2k') as H2kBridge, desktop: bridge.exposed.get('h2kDesktop') as DesktopBridge, bridge };
}

function addJob(id: string): void {
  worker.store.createJob({ id, operation: 'inspect', priority: 50, title: `${id}.vmdk`, labels: {}, submitted: {}, spec: null });
}

describe('IPC router built from the contract', () => {
  it('registers every contract method, the subscription channels and the desktop channels, nothing else', () => {
    expect([...ipcMain.handlers.keys()].sort()).toEqual(
      [...METHOD_NAMES.map(ipcChannel), IPC_SUBSCRIBE_CHANNEL, IPC_UNSUBSCRIBE_CHANNEL, ...DESKTOP_METHOD_NAMES.map(desktopChannel)].sort(),
    );
    expect(router.channels).toHaveLength(METHOD_NAMES.length + 2);
  });

  it('answers our window\'s main frame with the value', async () => {
    const answer = await ipcMain.invoke({ sender: win.webContents, senderFrame: win.webContents.mainFrame }, ipcChannel('worker.info'), {});
    expect(answer).toMatchObject({ ok: true, value: { name: 'hyper2kvm-workbench', data_dir: `${dir.path}/data` } });
  });

  it('refuses a subframe, another webContents, another page and a vanished frame', async () => {
    const main = win.webContents.mainFrame;
    const senders = [
      { sender: win.webContents, senderFrame: { ...main, parent: main, routingId: 7 } },
      { sender: new FakeWebContentsForTests(), senderFrame: main },
      { sender: win.webContents, senderFrame: { ...main, url: 'https://example.com/' } },
      { sender: win.webContents, senderFrame: { ...main, url: 'file:///tmp/evil/index.html' } },
      { sender: win.webContents, senderFrame: null },
    ];
    for (const event of senders) {
      for (const channel of [ipcChannel('jobs.list'), IPC_SUBSCRIBE_CHANNEL, desktopChannel('pickDisks')]) {
        const answer = (await ipcMain.invoke(event, channel, {})) as Envelope;
        expect(answer.ok).toBe(false);
        expect(!answer.ok && answer.error).toMatchObject({ code: 'forbidden_sender', kind: 'bug', message: 'The request came from a frame that is not the app window.' });
      }
    }
    expect(dialogCalls).toHaveLength(0);
  });

  it('accepts the app page with any fragment (the renderer routes by it)', async () => {
    const frame = { ...win.webContents.mainFrame, url: `${APP_URL}#/history/abc` };
    const answer = (await ipcMain.invoke({ sender: win.webContents, senderFrame: frame }, ipcChannel('settings.get'), {})) as Envelope;
    expect(answer).toMatchObject({ ok: true, value: { concurrency: 1, default_format: 'qcow2' } });
  });

  it('refuses a payload the schema refuses, naming the field, before any handler runs', async () => {
    const ev = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    const bad = (await ipcMain.invoke(ev, ipcChannel('jobs.get'), { id: '../../etc/passwd' })) as Envelope;
    expect(bad).toMatchObject({ ok: false, error: { code: 'bad_request', kind: 'user', fields: [{ path: 'id' }] } });
    const extra = (await ipcMain.invoke(ev, ipcChannel('settings.set'), { concurrency: 2, shell: 'rm -rf /' })) as Envelope;
    expect(extra).toMatchObject({ ok: false, error: { code: 'bad_request' } });
    expect((await ipcMain.invoke(ev, ipcChannel('settings.get'), {})) as Envelope).toMatchObject({ ok: true, value: { concurrency: 1 } });
    const two = (await ipcMain.invoke(ev, ipcChannel('worker.info'), {}, {})) as Envelope;
    expect(two).toMatchObject({ ok: false, error: { code: 'bad_request', detail: 'one argument expected, got 2' } });
    const sub = (await ipcMain.invoke(ev, IPC_SUBSCRIBE_CHANNEL, { sub: 'x y', filter: {} })) as Envelope;
    expect(sub).toMatchObject({ ok: false, error: { code: 'bad_request', fields: [{ path: 'sub' }] } });
  });

  it('answers an error from the catalogue as data', async () => {
    const ev = { sender: win.webContents, senderFrame: win.webContents.mainFrame };
    const answer = (await ipcMain.invoke(ev, ipcChannel('jobs.get'), { id: 'no-such-job' })) as Envelope;
    expect(answer).toEqual({
      ok: false,
      error: { code: 'not_found', kind: 'user', message: 'No job with this id.', hint: 'List jobs with `h2k-worker list` to find the id.', detail: 'no-such-job' },
    });
  });
});

describe('preload bridge generated from the contract', () => {
  it('exposes one named function per contract method and subscribe, never ipcRenderer', () => {
    const { h2k, bridge } = page();
    expect([...bridge.exposed.keys()].sort()).toEqual(['h2k', 'h2kDesktop']);
    for (const m of METHOD_NAMES) {
      const [ns, fn] = splitMethod(m);
      expect(typeof (h2k as unknown as Record<string, Record<string, unknown>>)[ns]?.[fn], m).toBe('function');
    }
    expect(typeof h2k.subscribe).toBe('function');
    expect(Object.keys(h2k).sort()).toEqual([...new Set(METHOD_NAMES.map((m) => splitMethod(m)[0])), 'protocol_version', 'subscribe'].sort());
    expect(JSON.stringify(Object.keys(h2k))).not.toMatch(/invoke|ipc|send/i);
  });

  it('calls through to the worker and returns errors as data; the renderer client rethrows them', async () => {
    const { h2k } = page();
    expect(await h2k.jobs.list({ limit: 5 })).toMatchObject({ ok: true, value: { jobs: [], total: 0 } });
    expect(await h2k.jobs.cancel({ id: 'nope' })).toMatchObject({ ok: false, error: { code: 'not_found' } });
    const client = ipcClient(h2k);
    const err = await client.call('jobs.get', { id: 'nope' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(WorkerError);
    expect((err as WorkerError).info.code).toBe('not_found');
    expect((await client.call('settings.set', { concurrency: 3 })).concurrency).toBe(3);
  });

  it('from a subframe, the same bridge is refused', async () => {
    const { h2k } = page({ ...win.webContents.mainFrame, parent: win.webContents.mainFrame, routingId: 9 });
    expect(await h2k.worker.info({})).toMatchObject({ ok: false, error: { code: 'forbidden_sender' } });
  });

  it('pushes nothing until the page subscribes, then only WorkerEvents, until it unsubscribes', async () => {
    const contents = new FakeWebContentsForTests();
    const w = fakeWindowForTests(contents);
    const localMain = new FakeIpcMainForTests();
    const r = registerWorkerRouter({ ipcMain: localMain, handlers: worker.service, events: worker.feed, isTrusted: trustedSender(() => w, APP_URL) });
    const bridge = new FakeContextBridgeForTests();
    exposeBridges(bridge, new FakeIpcRendererForTests(localMain, contents));
    const h2k = bridge.exposed.get('h2k') as H2kBridge;

    addJob('before-subscribe');
    worker.store.flush();
    await new Promise((res) => setTimeout(res, 50));
    expect(contents.sent).toHaveLength(0);

    const all: WorkerEvent[] = [];
    const one: WorkerEvent[] = [];
    const offAll = h2k.subscribe({}, (e) => all.push(e));
    const offOne = h2k.subscribe({ job_id: 'watched' }, (e) => one.push(e));
    h2k.subscribe({}, () => undefined);
    expect(contents.listenerCount(IPC_EVENT_CHANNEL)).toBe(1);
    await new Promise((res) => setTimeout(res, 20));
    expect(r.subscriptionCount()).toBe(3);

    addJob('watched');
    addJob('other');
    worker.store.transition('watched', 'VALIDATED', 'test');
    await new Promise((res) => setTimeout(res, 50));
    expect(all.map((e) => `${e.job_id}:${e.type}:${e.seq}`)).toEqual(['watched:state:1', 'other:state:1', 'watched:state:2']);
    expect(one.map((e) => e.job_id)).toEqual(['watched', 'watched']);
    expect(all[0]).toMatchObject({ type: 'state', from: null, to: 'CREATED' });
    expect(Object.keys(all[0]!)).not.toContain('sender');

    offOne();
    offAll();
    await new Promise((res) => setTimeout(res, 20));
    expect(r.subscriptionCount()).toBe(1);
    r.dropSender(contents);
    expect(r.subscriptionCount()).toBe(0);
    worker.store.transition('watched', 'QUEUED', 'test');
    await new Promise((res) => setTimeout(res, 50));
    expect(one).toHaveLength(2);
    expect(all).toHaveLength(3);
    r.dispose();
    expect(localMain.handlers.size).toBe(0);
  });

  it('the desktop bridge validates its input and answers the dialog\'s choice', async () => {
    const { desktop } = page();
    expect(await desktop.pickDisks({ multiple: true })).toEqual({ ok: true, value: { paths: ['/vm/web01.vmdk', '/vm/web01-data.vmdk'] } });
    expect(dialogCalls.at(-1)).toMatchObject({ properties: ['openFile', 'dontAddToRecent', 'multiSelections'] });
    expect(await desktop.showInFolder({ path: 'relative/path' })).toMatchObject({ ok: false, error: { code: 'bad_request', fields: [{ path: 'path' }] } });
    expect(await desktop.showInFolder({ path: '/no/such/file' })).toEqual({ ok: true, value: { shown: false } });
  });
});
