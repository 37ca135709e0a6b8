/** Small helpers shared by tests: temporary folders, polling, child processes. */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, type ResultPromise } from 'execa';

/** A fresh temporary folder, removed by the returned cleanup. */
export function tempDir(prefix = 'h2k-test-'): { path: string; cleanup: () => void } {
  const path = mkdtempSync(join(tmpdir(), prefix));
  return { path, cleanup: () => rmSync(path, { recursive: true, force: true }) };
}

/** Poll `probe` every `everyMs` until it returns a truthy value; throws after `timeoutMs`. */
export async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 30_000, everyMs = 50): Promise<NonNullable<T>> {
  const end = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v as NonNullable<T>;
    } catch (err) {
      last = err;
    }
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, everyMs));
  }
}

/** True when a process with this pid exists and is not a zombie. */
export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

export const REPO = join(import.meta.dirname, '..', '..');

/** Start the test-only runner process on a data folder; resolves once it printed its first line. */
export async function startTestOnlyRunner(
  dataDir: string,
  cacheDir: string,
  env: Record<string, string> = {},
): Promise<{ child: ResultPromise; line: string; output: () => string }> {
  const child = execa(process.execPath, ['--import', 'tsx', join(REPO, 'test/support/test-only-runner.ts'), dataDir, cacheDir], {
    cwd: REPO,
    env,
    reject: false,
    buffer: false,
    // A runner's clean stop is what some tests assert: never escalate to SIGKILL behind their back.
    forceKillAfterDelay: false,
  });
  let out = '';
  child.stderr?.on('data', (d: Buffer) => (out += d.toString()));
  const line = await new Promise<string>((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (d: Buffer) => {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve(buf.slice(0, nl));
    });
    void child.then((r) => reject(new Error(`runner exited (${r.exitCode}) before it was ready: ${out}`)));
  });
  return { child, line, output: () => out };
}
