/**
 * The runner lock: at most one runner executes jobs per data folder.
 *
 * It is a small SQLite file held in EXCLUSIVE locking mode. SQLite takes a POSIX (fcntl) write
 * lock on it, which the kernel drops when the process dies, however it dies (SIGKILL included),
 * so a crashed runner never leaves a stale lock behind. (The holder's pid is in the store's
 * runners table; the lock file itself cannot be read while held.)
 */
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { WorkerError } from '../../shared/errors';
import { ensureDir } from '../paths';

export const LOCK_FILE = 'runner.lock';

export class RunnerLock {
  private constructor(private db: Database.Database | null) {}

  /**
   * Take the lock for `dataDir`, or throw WorkerError `runner_busy` naming the holder.
   * `waitMs` (default 0) is how long to wait for a holder to let go: a CLI command that only
   * looks (and recovers after a dead runner) holds the lock for milliseconds, so a runner that
   * starts at that moment waits instead of failing.
   */
  static acquire(dataDir: string, waitMs = 0): RunnerLock {
    ensureDir(dataDir);
    const db = new Database(join(dataDir, LOCK_FILE));
    try {
      db.pragma(`busy_timeout = ${Math.max(0, Math.floor(waitMs))}`);
      db.pragma('journal_mode = DELETE');
      db.pragma('locking_mode = EXCLUSIVE');
      // The first write in EXCLUSIVE mode takes the lock and keeps it until close.
      db.exec('BEGIN EXCLUSIVE; CREATE TABLE IF NOT EXISTS holder (since INTEGER); DELETE FROM holder; COMMIT');
      db.prepare('INSERT INTO holder VALUES (?)').run(Date.now());
      return new RunnerLock(db);
    } catch (err) {
      db.close();
      if ((err as { code?: string }).code === 'SQLITE_BUSY' || (err as { code?: string }).code === 'SQLITE_LOCKED') {
        throw new WorkerError('runner_busy', { detail: `data folder ${dataDir} is locked by another runner process` });
      }
      throw err;
    }
  }

  /** True while some process holds the lock of `dataDir`. */
  static isHeld(dataDir: string): boolean {
    try {
      RunnerLock.acquire(dataDir).release();
      return false;
    } catch (err) {
      if (err instanceof WorkerError && err.code === 'runner_busy') return true;
      throw err;
    }
  }

  release(): void {
    this.db?.close();
    this.db = null;
  }
}
