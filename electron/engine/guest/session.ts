/**
 * One guestfish process, one libguestfs appliance, every guest question of an inspection.
 *
 * guestfish runs as a long-lived child reading its script from a FIFO (`guestfish --ro -f
 * commands`, cwd = a private folder). For each command the session writes three lines: the
 * command, `echo <marker>` (the marker lands on stdout after the command's output) and
 * `lcd <private folder>/no-such-dir/<marker>` (a local command that fails at once, printing the
 * marker on stderr after the command's error messages). A reply is complete when both markers
 * have been read: what stdout carried before the first is the output, what stderr carried before
 * the second are its errors — exact even when many commands are in flight (commands may be
 * pipelined; replies come back in order) and for guestfish's own complaints (wrong arguments,
 * unknown command), which carry no line number. Every command is sent with a leading `-`, so
 * a failing command does not end the session (guestfish(1), "EXIT ON ERROR BEHAVIOUR").
 *
 * The process is started through the operation's `run` (ctx.run): its own process group,
 * recorded for crash clean-up, killed (qemu included) when the job is aborted.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, open, readFile, rm, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import type { ToolResult, ToolRun } from '../../tools/spawn';
import { killGroup } from '../../tools/spawn';
import { gfLine, gfQuote, opt, type GfArg } from './quote';

export type SessionRun = (run: Omit<ToolRun, 'signal'>) => Promise<ToolResult>;

export interface SessionOptions {
  /** How to start tools: the operation's ctx.run. */
  run: SessionRun;
  /** libguestfs environment from capability detection (ctx.guestfsEnv()). */
  env: Record<string, string>;
  /** A private, empty-or-absent folder for the FIFO, LIBGUESTFS_TMPDIR and downloads. */
  workDir: string;
  /** guestfish executable (default `guestfish` on PATH). */
  guestfish?: string;
  /** Told every stderr line that is not a command's error (libguestfs warnings and the like). */
  onStderr?: (line: string) => void;
  /** Told each reply with the milliseconds from sending the command to its reply (tracing). */
  onReply?: (reply: GfReply, ms: number) => void;
}

/** A command's reply. `out` is stdout as guestfish printed it (raw, trailing newline kept). */
export interface GfReply {
  line: string;
  ok: boolean;
  out: string;
  /** The error messages guestfish printed for this command, joined with newlines; null when ok. */
  error: string | null;
}

/** The guestfish process ended (crash, kill, abort) while commands were pending. */
export class GuestfishExitedError extends Error {
  constructor(
    message: string,
    readonly result: ToolResult | null,
  ) {
    super(message);
    this.name = 'GuestfishExitedError';
  }
}

/** A command the caller needed failed. */
export class GuestfishCommandError extends Error {
  constructor(readonly reply: GfReply) {
    super(`${reply.line.replace(/^-/, '')}: ${reply.error ?? 'failed'}`);
    this.name = 'GuestfishCommandError';
  }
}

interface Pending {
  sentAt: number;
  line: string;
  marker: string;
  out: string | null;
  errors: string[];
  stderrDone: boolean;
  resolve: (r: GfReply) => void;
  reject: (e: Error) => void;
}

const SCRIPT = 'commands';

/** Split text into lines without the trailing empty one. */
export function linesOf(out: string): string[] {
  const lines = out.split('\n');
  if (lines.at(-1) === '') lines.pop();
  return lines;
}

export class GuestfishSession {
  private readonly token = randomBytes(8).toString('hex');
  private counter = 0;
  private stdout = '';
  private stderrBuf = '';
  /** Commands sent and not answered, in order: waiting for their stdout marker... */
  private readonly pending: Pending[] = [];
  /** ...and for their stderr marker (the same commands, each stream at its own pace). */
  private readonly stderrQueue: Pending[] = [];
  private fifo: FileHandle | null = null;
  private writeChain: Promise<void> = Promise.resolve();
  private exited: ToolResult | null = null;
  private exitError: Error | null = null;
  private stderrTail: string[] = [];
  private downloads = 0;
  pgid: number | null = null;
  readonly done: Promise<ToolResult>;

  private constructor(
    private readonly opts: SessionOptions,
    private readonly dir: string,
    start: (self: GuestfishSession) => Promise<ToolResult>,
  ) {
    this.done = start(this).then(
      (r) => {
        this.exited = r;
        this.failPending(new GuestfishExitedError(`guestfish ended (${r.signal ? `killed by ${r.signal}` : `exit code ${r.exitCode}`})${this.tail()}`, r));
        return r;
      },
      (err: unknown) => {
        const e = err instanceof Error ? err : new Error(String(err));
        this.exitError = e;
        this.failPending(new GuestfishExitedError(`guestfish could not run: ${e.message}`, null));
        throw e;
      },
    );
    // The exit is observed through `done`; keep an unhandled rejection from surfacing here.
    this.done.catch(() => undefined);
  }

  /**
   * Start guestfish (no appliance yet: drives are added, then `launch()`). Throws when the FIFO
   * cannot be made (mkfifo missing) or guestfish cannot be spawned (code ENOENT on the error).
   */
  static async open(opts: SessionOptions): Promise<GuestfishSession> {
    const dir = opts.workDir;
    await mkdir(join(dir, 'tmp'), { recursive: true, mode: 0o700 });
    await mkdir(join(dir, 'dl'), { recursive: true, mode: 0o700 });
    const fifoPath = join(dir, SCRIPT);
    const mk = await opts.run({ command: 'mkfifo', args: ['-m', '600', '--', fifoPath] });
    if (mk.exitCode !== 0) throw new Error(`mkfifo ${fifoPath} failed: ${mk.stderr.trim() || `exit code ${mk.exitCode}`}`);
    // O_RDWR on a FIFO never blocks on Linux (fifo(7)), and keeps the pipe open for writing
    // even before guestfish opens it for reading; closing it is guestfish's end of script.
    const fifo = await open(fifoPath, 'r+');
    let spawnError: Error | null = null;
    const session = new GuestfishSession(opts, dir, (self) =>
      opts
        .run({
          command: opts.guestfish ?? 'guestfish',
          args: ['--ro', '-f', SCRIPT],
          cwd: dir,
          env: { ...opts.env, LC_ALL: 'C', LIBGUESTFS_TMPDIR: join(dir, 'tmp') },
          maxBuffer: 256 * 1024 * 1024,
          graceMs: 5000,
          onSpawn: (p) => {
            self.pgid = p.pgid;
          },
          onStdout: (c) => self.onStdout(c),
          onStderr: (c) => self.onStderr(c),
        })
        .catch((err: unknown) => {
          spawnError = err as Error;
          throw err;
        }),
    );
    session.fifo = fifo;
    // A spawn failure (ENOENT) surfaces at once; give it a tick to do so.
    await new Promise((r) => setImmediate(r));
    if (spawnError) {
      await fifo.close().catch(() => undefined);
      throw spawnError;
    }
    return session;
  }

  /** Whether the guestfish process is still running. */
  get alive(): boolean {
    return this.exited === null && this.exitError === null;
  }

  /**
   * Send one command; resolves with its reply (ok or not). Rejects only when guestfish is gone
   * (GuestfishExitedError). Commands sent without awaiting are pipelined, replies in order.
   */
  call(command: string, args: readonly GfArg[] = []): Promise<GfReply> {
    const line = gfLine(command, args);
    if (!this.alive || !this.fifo) return Promise.reject(new GuestfishExitedError(`guestfish is not running${this.tail()}`, this.exited));
    const n = ++this.counter;
    const marker = `@@h2k-${this.token}-${n}@@`;
    const fifo = this.fifo;
    return new Promise<GfReply>((resolve, reject) => {
      const p: Pending = { sentAt: performance.now(), line, marker, out: null, errors: [], stderrDone: false, resolve, reject };
      this.pending.push(p);
      this.stderrQueue.push(p);
      const text = `${line}\necho ${marker}\n-lcd ${gfQuote(join(this.dir, 'no-such-dir', marker))}\n`;
      this.writeChain = this.writeChain
        .then(() => fifo.write(text).then(() => undefined))
        .catch((err: unknown) => this.failPending(new GuestfishExitedError(`cannot write to guestfish: ${String(err)}`, null)));
    });
  }

  /** Send a command that must succeed; throws GuestfishCommandError with its message. */
  async ok(command: string, args: readonly GfArg[] = []): Promise<string> {
    const r = await this.call(command, args);
    if (!r.ok) throw new GuestfishCommandError(r);
    return r.out;
  }

  /** `add-drive PATH readonly:true format:FMT` (never autodetection); protocol drives too. */
  addDrive(path: string, format: string, extra: GfArg[] = []): Promise<GfReply> {
    return this.call('add-drive', [path, opt('readonly', true), opt('format', format), ...extra]);
  }

  /**
   * Start the appliance (`run`). Resolves with its reply and the seconds it took. When
   * `timeoutMs` passes first, the whole process group (qemu included) is killed.
   */
  async launch(timeoutMs: number): Promise<{ reply: GfReply; seconds: number }> {
    const t0 = performance.now();
    const timer = setTimeout(() => this.kill(), timeoutMs);
    try {
      const reply = await this.call('run');
      return { reply, seconds: (performance.now() - t0) / 1000 };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * Download a guest file into the session folder and read it (exact bytes, at most
   * `maxBytes`). `data` is null when the command failed (no such file, a directory, ...), with
   * guestfish's message in `error`.
   */
  async readGuestFile(path: string, maxBytes = 16 * 1024 * 1024): Promise<{ data: Buffer | null; error: string | null }> {
    const { local, error } = await this.downloadTo(path);
    if (!local) return { data: null, error };
    try {
      const st = await stat(local);
      if (st.size > maxBytes) return { data: null, error: `${path} is ${st.size} bytes, more than the ${maxBytes} read for inspection` };
      return { data: await readFile(local), error: null };
    } finally {
      await rm(local, { force: true });
    }
  }

  /** Download a guest file to a local path in the session folder; the caller removes it. */
  async downloadTo(path: string): Promise<{ local: string | null; error: string | null }> {
    const local = join(this.dir, 'dl', `f${++this.downloads}`);
    const r = await this.call('download', [path, local]);
    if (!r.ok) {
      await rm(local, { force: true });
      return { local: null, error: r.error };
    }
    return { local, error: null };
  }

  /** A fresh path in the session's download folder (for host-side scratch files). */
  scratchPath(suffix = ''): string {
    return join(this.dir, 'dl', `s${++this.downloads}${suffix}`);
  }

  /**
   * End the session: close the script (guestfish shuts the appliance down and exits at its
   * end), wait up to `graceMs`, then kill the process group. Never throws.
   */
  async close(graceMs = 30_000): Promise<void> {
    const fifo = this.fifo;
    this.fifo = null;
    // Writes already queued go out first; a write can only block when nobody reads and the pipe
    // is full, so it is not waited for long.
    await Promise.race([this.writeChain.catch(() => undefined), new Promise((r) => setTimeout(r, 2000).unref())]);
    await fifo?.close().catch(() => undefined);
    if (this.alive) {
      const timer = setTimeout(() => this.kill(), graceMs);
      await this.done.catch(() => undefined);
      clearTimeout(timer);
    }
    await this.done.catch(() => undefined);
  }

  /** Kill guestfish and its appliance (the whole process group) at once. */
  kill(): void {
    if (this.pgid !== null && this.alive) killGroup(this.pgid, 'SIGKILL');
  }

  private tail(): string {
    return this.stderrTail.length ? `: ${this.stderrTail.slice(-6).join(' | ')}` : '';
  }

  private failPending(err: Error): void {
    this.stderrQueue.splice(0);
    for (const p of this.pending.splice(0)) p.reject(err);
  }

  /** Answer the commands at the head whose two markers have both been read. */
  private settle(): void {
    for (;;) {
      const head = this.pending[0];
      if (!head || head.out === null || !head.stderrDone) return;
      this.pending.shift();
      const reply: GfReply = { line: head.line, ok: head.errors.length === 0, out: head.out, error: head.errors.length ? head.errors.join('\n') : null };
      this.opts.onReply?.(reply, performance.now() - head.sentAt);
      head.resolve(reply);
    }
  }

  private onStdout(chunk: string): void {
    this.stdout += chunk;
    // Commands whose output is complete (marker read), in order; the first without one stops.
    for (const p of this.pending) {
      if (p.out !== null) continue;
      const at = this.stdout.indexOf(p.marker + '\n');
      if (at < 0) break;
      p.out = this.stdout.slice(0, at);
      this.stdout = this.stdout.slice(at + p.marker.length + 1);
    }
    if (this.pending.length === 0 && this.stdout.length > 1 << 20) this.stdout = '';
    this.settle();
  }

  private onStderr(chunk: string): void {
    this.stderrBuf += chunk;
    let nl: number;
    while ((nl = this.stderrBuf.indexOf('\n')) >= 0) {
      const line = this.stderrBuf.slice(0, nl);
      this.stderrBuf = this.stderrBuf.slice(nl + 1);
      this.stderrLine(line);
    }
    this.settle();
  }

  private stderrLine(line: string): void {
    if (line === '') return;
    const head = this.stderrQueue[0];
    if (head && line.includes(head.marker)) {
      // The `lcd` after the command: everything the command printed on stderr is in.
      head.stderrDone = true;
      this.stderrQueue.shift();
      return;
    }
    this.stderrTail.push(line);
    if (this.stderrTail.length > 20) this.stderrTail.shift();
    if (/^(commands:\d+: )?libguestfs: (warning|trace|debug): /.test(line) || !head) {
      // Warnings of the library are not a command's failure.
      this.opts.onStderr?.(line);
      return;
    }
    // "commands:<line>: libguestfs: error: ..." (or guestfish's own complaint) of this command.
    head.errors.push(line.replace(/^commands:\d+: /, '').replace(/^libguestfs: error: /, '').replace(/^guestfish: /, ''));
  }
}
