/**
 * Test-only operations, registered only by the test runner entry and the runner tests — never
 * by the product. They stand in for a long-running tool so that the runner's life-cycle (kill,
 * recovery, retry, timeout, cancel) can be exercised with real processes and real files.
 */
import { renameSync, writeFileSync } from 'node:fs';
import type { OperationContext, OperationOutput, OperationRegistry } from '../../electron/engine/types';
import type { SpecOf } from '../../shared/protocol';
import { WorkerError } from '../../shared/errors';

/**
 * Runs a real `sleep` in its own process group (recorded by the runner) after declaring and
 * creating a partial output file. `labels.test_sleep_s` sets the sleep (default 3600 s);
 * `labels.test_fail_attempts` makes the first N attempts fail with `tool_failed`.
 */
export async function testOnlySlowToolOperation(ctx: OperationContext<SpecOf<'convert'>>): Promise<OperationOutput> {
  const out = ctx.spec.params.disks[0]!.output;
  const partial = `${out}.h2k-partial-${ctx.jobId}`;
  ctx.partial(partial, 'file');
  writeFileSync(partial, 'partial output of a test-only operation\n');
  ctx.progress({ stage: 'copy', percent: 1, bytes_done: 1, bytes_total: 100 });
  const failFor = Number(ctx.spec.labels.test_fail_attempts ?? 0);
  if (ctx.attempt <= failFor) throw new WorkerError('tool_failed', { detail: `test-only failure on attempt ${ctx.attempt}` });
  const r = await ctx.run({ command: 'sleep', args: [ctx.spec.labels.test_sleep_s ?? '3600'] });
  if (r.exitCode !== 0) throw new WorkerError('tool_failed', { detail: `sleep ended with ${r.signal ?? r.exitCode}` });
  ctx.progress({ stage: 'copy', percent: 100, bytes_done: 100, bytes_total: 100 });
  renameSync(partial, out);
  ctx.settled(partial);
  return { artifacts: [], payload: { test_only: true }, bytes_processed: 100 };
}

export const TEST_ONLY_OPERATIONS: OperationRegistry = { convert: testOnlySlowToolOperation };
