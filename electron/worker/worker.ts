/**
 * Assembling a worker for one data folder: the store, the capability provider, the service
 * (the contract's handlers), the event feed and, when this process is to execute jobs, the
 * runner. The CLI, the REST server, the desktop app and the tests all start here.
 */
import type { WorkerHandlers } from '../../shared/contract';
import { JobStore } from '../store/store';
import { EventFeed } from '../events/feed';
import { OPERATIONS, implementedOperations } from '../engine/ops';
import type { OperationRegistry } from '../engine/types';
import { capabilityProvider, type CapabilityProvider } from './capability-provider';
import { createService } from './service';
import { createExtraService } from './service-extra';
import { readSettings } from '../store/settings';
import { Runner, type RunnerOptions } from './runner';
import { ringDoorbell } from './doorbell';
import { ensureDir, resolveScratchDir } from '../paths';

export interface WorkerOptions {
  dataDir: string;
  scratchDir?: string;
  /** Host-wide capability cache folder (default: the user's cache folder). */
  cacheDir?: string;
  operations?: OperationRegistry;
  /** Folders the file picker (`fs.list`) may show; none by default. */
  roots?: readonly string[];
  /** Extra runner settings; the runner itself is started with `startRunner()`. */
  runner?: Partial<Pick<RunnerOptions, 'concurrency' | 'pollMs' | 'graceMs' | 'log' | 'announceJobs' | 'testOnlyHoldAfterClaimMs'>>;
}

export interface Worker {
  readonly dataDir: string;
  readonly scratchDir: string;
  readonly store: JobStore;
  readonly service: WorkerHandlers;
  readonly capabilities: CapabilityProvider;
  readonly feed: EventFeed;
  runner: Runner | null;
  /** Become this folder's runner. Throws WorkerError `runner_busy` when another process is. */
  startRunner(): Runner;
  /**
   * When no runner holds the folder (in this process or another), end the jobs a dead runner
   * left active (Runner.recoverOnly). Returns how many were recovered; null when a runner is alive.
   */
  recoverUnattended(): number | null;
  close(): Promise<void>;
}

export function openWorker(opts: WorkerOptions): Worker {
  const scratchDir = opts.scratchDir ?? resolveScratchDir(opts.dataDir);
  ensureDir(scratchDir);
  const store = JobStore.open(opts.dataDir);
  const operations = opts.operations ?? OPERATIONS;
  const capabilities = capabilityProvider({
    dataDir: opts.dataDir,
    scratchDir,
    store,
    implemented: implementedOperations(operations),
    ...(opts.cacheDir ? { cacheDir: opts.cacheDir } : {}),
  });
  const service: WorkerHandlers = {
    ...createService({ store, capabilities, dataDir: opts.dataDir }),
    ...createExtraService({ store, dataDir: opts.dataDir, scratchDir, roots: opts.roots ?? [], runnerConcurrency: () => worker.runner?.concurrency ?? null }),
  };
  const feed = new EventFeed(store);
  // A submit or cancel made here wakes the runner of another process at once.
  const offBell = store.onWake(() => {
    if (!worker.runner) ringDoorbell(opts.dataDir);
  });
  const worker: Worker = {
    dataDir: opts.dataDir,
    scratchDir,
    store,
    service,
    capabilities,
    feed,
    runner: null,
    startRunner() {
      if (worker.runner) return worker.runner;
      // The stored setting applies (read on every poll, so a change applies at once) unless the
      // caller chose a concurrency (`run --concurrency`).
      const concurrency = opts.runner?.concurrency ?? (() => readSettings(store).concurrency);
      const runner = new Runner({ store, dataDir: opts.dataDir, scratchDir, operations, capabilities, ...opts.runner, concurrency });
      runner.start();
      worker.runner = runner;
      return runner;
    },
    recoverUnattended() {
      if (worker.runner) return null;
      return new Runner({ store, dataDir: opts.dataDir, scratchDir, operations, capabilities, ...opts.runner, concurrency: 1 }).recoverOnly();
    },
    async close() {
      offBell();
      await worker.runner?.stop('worker closed');
      feed.close();
      store.close();
    },
  };
  return worker;
}
