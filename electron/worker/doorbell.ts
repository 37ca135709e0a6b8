/**
 * The doorbell: how a door in another process (the CLI, a second app window's server) wakes the
 * data folder's runner at once, instead of leaving a new job or a cancel to the runner's next
 * poll (every 200 ms). A door touches `runner.doorbell` in the data folder (its mtime); the runner
 * watches the folder with inotify (Node's fs.watch) and looks at the queue when that file
 * changes. The poll stays as the safety net: a lost ring costs at most one poll interval.
 */
import { closeSync, openSync, utimesSync, watch } from 'node:fs';
import { join } from 'node:path';

export const DOORBELL_FILE = 'runner.doorbell';

/** Ring: touch the doorbell file, creating it when missing. Never throws (a lost ring only delays). */
export function ringDoorbell(dataDir: string): void {
  const path = join(dataDir, DOORBELL_FILE);
  const now = new Date();
  try {
    utimesSync(path, now, now);
  } catch {
    try {
      closeSync(openSync(path, 'a'));
    } catch {
      // A read-only or vanished folder: the runner's poll finds the job.
    }
  }
}

/**
 * Call `onRing` whenever the doorbell of `dataDir` rings. Returns the function that stops
 * listening. Where the folder cannot be watched, it returns a no-op and the poll does the work.
 */
export function listenDoorbell(dataDir: string, onRing: () => void): () => void {
  try {
    const watcher = watch(dataDir, { persistent: false }, (_event, name) => {
      if (name === DOORBELL_FILE) onRing();
    });
    watcher.on('error', () => watcher.close());
    return () => watcher.close();
  } catch {
    return () => undefined;
  }
}
