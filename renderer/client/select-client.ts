/**
 * The client is chosen once, at startup: the preload bridge when the page runs in the desktop
 * app, else the HTTP/SSE client of `h2k-worker serve`. The views cannot tell them apart.
 */
import type { DesktopBridge, H2kBridge } from '../../shared/contract';
import { httpClient } from './http-client';
import { ipcClient } from './ipc-client';
import type { AppClient } from './types';

interface BridgedWindow {
  h2k?: H2kBridge;
  h2kDesktop?: DesktopBridge;
}

export function selectClient(w: Window = window): { client: AppClient; desktop: DesktopBridge | null } {
  const bridged = w as unknown as BridgedWindow;
  if (bridged.h2k) return { client: ipcClient(bridged.h2k), desktop: bridged.h2kDesktop ?? null };
  return { client: httpClient(), desktop: null };
}
