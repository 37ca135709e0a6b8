/**
 * The desktop bridge's handlers: native dialogs to pick disks and destinations, and showing a
 * file in the file manager. Electron's dialog and shell come in as parameters.
 */
import { existsSync } from 'node:fs';
import { statfs } from 'node:fs/promises';
import type { DesktopHandlers } from './ipc-router';

export interface OpenDialogResult {
  canceled: boolean;
  filePaths: string[];
}

export interface DesktopDeps {
  showOpenDialog(options: {
    title?: string;
    defaultPath?: string;
    properties: ('openFile' | 'openDirectory' | 'multiSelections' | 'createDirectory' | 'dontAddToRecent')[];
    filters?: { name: string; extensions: string[] }[];
  }): Promise<OpenDialogResult>;
  showItemInFolder(path: string): void;
}

/** Extensions offered first in the disk dialog. */
export const DISK_DIALOG_EXTENSIONS = ['vmdk', 'vhd', 'vhdx', 'vdi', 'qcow2', 'img', 'raw', 'ova', 'ovf'];

export function createDesktopHandlers(deps: DesktopDeps): DesktopHandlers {
  return {
    async pickDisks(input) {
      const r = await deps.showOpenDialog({
        title: 'Choose disk images or VM packages',
        properties: ['openFile', 'dontAddToRecent', ...(input.multiple ? (['multiSelections'] as const) : [])],
        filters: [
          { name: 'Disk images and VM packages', extensions: DISK_DIALOG_EXTENSIONS },
          { name: 'All files', extensions: ['*'] },
        ],
      });
      return { paths: r.canceled ? [] : r.filePaths };
    },
    async pickFolder(input) {
      const r = await deps.showOpenDialog({
        title: input.title ?? 'Choose a destination folder',
        ...(input.default_path ? { defaultPath: input.default_path } : {}),
        properties: ['openDirectory', 'createDirectory', 'dontAddToRecent'],
      });
      const path = r.canceled ? null : (r.filePaths[0] ?? null);
      let free: number | null = null;
      if (path) {
        try {
          const s = await statfs(path);
          free = s.bavail * s.bsize;
        } catch {
          free = null;
        }
      }
      return { path, free_bytes: free };
    },
    async showInFolder(input) {
      if (!existsSync(input.path)) return { shown: false };
      deps.showItemInFolder(input.path);
      return { shown: true };
    },
  };
}
