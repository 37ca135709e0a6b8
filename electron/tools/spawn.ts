/**
 * Running external tools: always an argument array (never a shell string), always in a process
 * group of its own so that a stop reaches the tool's children too (guestfish's qemu, say), and a
 * stop that escalates from SIGTERM to SIGKILL after a grace period.
 */
import { execa, type ResultPromise } from 'execa';
import { readFileSync } from 'node:fs';

export interface ToolRun {
  /** Executable name (looked up on PATH) or absolute path. */
  command: string;
  args: readonly string[];
  env?: Record<string, string | undefined>;
  cwd?: string;
  /** Aborting kills the tool's whole process group: SIGTERM, then SIGKILL after `graceMs`. */
  signal?: AbortSignal;
  /** Milliseconds between SIGTERM and SIGKILL (default 3000). */
  graceMs?: number;
  /** Kill the group (same escalation) after this many milliseconds; the result says timedOut. */
  timeoutMs?: number;
  /** Raw chunks of stdout/stderr as they arrive (qemu-img's progress uses carriage returns). */
  onStdout?: (chunk: string) => void;
  onStderr?: (chunk: string) => void;
  /**
   * Raw stdout bytes as they arrive, for tools that stream data (nbdcopy to `-`). When set,
   * stdout is not kept: the result's stdout is empty, however much the tool writes.
   */
  onStdoutBytes?: (chunk: Buffer) => void;
  /** Called once the tool has a pid, with its process-group id (equal to the pid). */
  onSpawn?: (proc: SpawnedProcess) => void;
  /** Called when the tool has exited. */
  onExit?: (proc: SpawnedProcess) => void;
  /** Text written to stdin, then stdin is closed. Leave undefined to close stdin at once. */
  input?: string;
  /** Keep at most this many characters of stdout in the result (default 16 MiB). */
  maxBuffer?: number;
}

export interface SpawnedProcess {
  pid: number;
  pgid: number;
  /** Start time of the process in clock ticks since boot (/proc/PID/stat field 22), or null. */
  startTime: number | null;
  command: string;
  args: readonly string[];
}

export interface ToolResult {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
  aborted: boolean;
  durationMs: number;
}

/**
 * Run a tool to completion. Never throws for a non-zero exit (the result says so); throws only
 * when the tool cannot be started at all (ENOENT: not installed), with `code` set on the error.
 */
export async function runTool(run: ToolRun): Promise<ToolResult> {
  const started = Date.now();
  const grace = run.graceMs ?? 3000;
  let timedOut = false;
  let aborted = false;
  const child: ResultPromise = execa(run.command, [...run.args], {
    env: run.env,
    extendEnv: true,
    cwd: run.cwd,
    detached: true,
    reject: false,
    stripFinalNewline: false,
    input: run.input,
    stdin: run.input === undefined ? 'ignore' : 'pipe',
    buffer: run.onStdoutBytes ? { stdout: false, stderr: true } : true,
    maxBuffer: run.maxBuffer ?? 16 * 1024 * 1024,
    encoding: 'utf8',
  });
  const pid = child.pid;
  let proc: SpawnedProcess | null = null;
  if (pid !== undefined) {
    proc = { pid, pgid: pid, startTime: processStartTime(pid), command: run.command, args: run.args };
    run.onSpawn?.(proc);
  }
  if (run.onStdoutBytes) child.stdout?.on('data', (d: Buffer) => run.onStdoutBytes?.(d));
  else if (run.onStdout) child.stdout?.on('data', (d: Buffer | string) => run.onStdout?.(d.toString()));
  if (run.onStderr) child.stderr?.on('data', (d: Buffer | string) => run.onStderr?.(d.toString()));

  const stop = () => {
    if (pid === undefined) return;
    killGroup(pid, 'SIGTERM');
    const timer = setTimeout(() => killGroup(pid, 'SIGKILL'), grace);
    timer.unref();
    void child.finally(() => {
      clearTimeout(timer);
      // Leftover children of the tool (qemu under guestfish) die with their group.
      killGroup(pid, 'SIGKILL');
    });
  };
  const onAbort = () => {
    aborted = true;
    stop();
  };
  if (run.signal?.aborted) onAbort();
  else run.signal?.addEventListener('abort', onAbort, { once: true });
  const timer =
    run.timeoutMs !== undefined
      ? setTimeout(() => {
          timedOut = true;
          stop();
        }, run.timeoutMs)
      : undefined;

  try {
    const result = await child;
    if (result.failed && result.exitCode === undefined && result.signal === undefined && (result as { code?: string }).code) {
      const err = new Error(`${run.command}: ${result.shortMessage}`) as Error & { code?: string };
      err.code = (result as { code?: string }).code;
      throw err;
    }
    return {
      exitCode: result.exitCode ?? null,
      signal: result.signal ?? null,
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? ''),
      timedOut,
      aborted,
      durationMs: Date.now() - started,
    };
  } finally {
    if (timer) clearTimeout(timer);
    run.signal?.removeEventListener('abort', onAbort);
    if (proc) run.onExit?.(proc);
  }
}

/** Send a signal to a whole process group; a group that is already gone is not an error. */
export function killGroup(pgid: number, signal: NodeJS.Signals): boolean {
  try {
    process.kill(-pgid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * Start time of a process in clock ticks since boot, from /proc/PID/stat (field 22, see
 * proc(5)). With the pid it identifies a process even after pids wrap around. Null when the
 * process does not exist (or /proc is not there).
 */
export function processStartTime(pid: number): number | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) is in parentheses and may contain spaces: split after it.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const ticks = Number(rest[19]);
    return Number.isFinite(ticks) ? ticks : null;
  } catch {
    return null;
  }
}

/** True when the process with this pid exists and is the one that started at `startTime`. */
export function isSameProcessAlive(pid: number, startTime: number | null): boolean {
  const now = processStartTime(pid);
  if (now === null) return false;
  return startTime === null || now === startTime;
}
