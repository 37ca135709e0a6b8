/**
 * Test-only runner process: the real worker and runner over a data folder, with the test-only
 * slow operation standing in for convert. Prints "ready <runnerId>" once it holds the lock.
 * Usage: node --import tsx test/support/test-only-runner.ts DATA_DIR [CACHE_DIR]
 * Env H2K_TEST_ONLY_HOLD_AFTER_CLAIM_MS holds claimed jobs in ASSIGNED that long;
 * H2K_TEST_ONLY_POLL_MS sets the runner's poll interval (default 50 ms).
 */
import { openWorker } from '../../electron/worker/worker';
import { toErrorInfo } from '../../shared/errors';
import { TEST_ONLY_OPERATIONS } from './test-only-operations';

const [dataDir, cacheDir] = process.argv.slice(2);
if (!dataDir) throw new Error('usage: test-only-runner.ts DATA_DIR [CACHE_DIR]');
const hold = Number(process.env.H2K_TEST_ONLY_HOLD_AFTER_CLAIM_MS ?? 0);
const pollMs = Number(process.env.H2K_TEST_ONLY_POLL_MS ?? 50);
const worker = openWorker({
  dataDir,
  ...(cacheDir ? { cacheDir } : {}),
  operations: TEST_ONLY_OPERATIONS,
  runner: { pollMs, graceMs: 500, log: (l) => process.stderr.write(l + '\n'), ...(hold ? { testOnlyHoldAfterClaimMs: hold } : {}) },
});
const stop = (sig: string) => {
  process.stderr.write(`test-only runner: ${sig}, stopping\n`);
  void worker.close().then(() => process.exit(0));
};
process.once('SIGTERM', () => stop('SIGTERM'));
process.once('SIGINT', () => stop('SIGINT'));

try {
  const runner = worker.startRunner();
  process.stdout.write(`ready ${runner.id}\n`);
} catch (err) {
  process.stdout.write(`refused ${JSON.stringify(toErrorInfo(err))}\n`);
  process.exitCode = 4;
  await worker.close();
}
