/**
 * The preload (bundled into dist/electron/preload.cjs, since a sandboxed preload can require
 * only `electron`): exposes `window.h2k` and `window.h2kDesktop`, nothing else.
 */
import { contextBridge, ipcRenderer } from 'electron';
import { exposeBridges } from './preload-bridge';

exposeBridges(contextBridge, ipcRenderer);
