/**
 * `h2k-worker`: the command-line door to the worker. Every command goes through the API
 * contract (the same handlers the app and the REST server use) and the data folder's store.
 *
 * Exit codes: 0 done (a waited job COMPLETED), 1 the job FAILED, 2 bad usage or invalid input,
 * 3 the job was CANCELLED, 4 this machine cannot (capability missing, runner busy),
 * 5 not found, 70 internal error, 130 interrupted (Ctrl-C).
 */
import { Command, InvalidArgumentError, Option } from 'commander';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import type { JobSummary, WorkerEvent } from '../../shared/protocol';
import { JobState, OperationType, WAITING_STATES, isTerminal } from '../../shared/protocol';
import { WorkerError, formatError, toErrorInfo } from '../../shared/errors';
import type { ErrorInfo } from '../../shared/protocol';
import type { WorkerClient } from '../../shared/contract';
import { formatProgress } from '../../shared/format';
import { openWorker, type Worker } from '../worker/worker';
import { localClient } from '../worker/local-client';
import { RunnerLock } from '../worker/lock';
import { resolveDataDir } from '../paths';
import { VERSION } from '../version';
import { renderDetail, renderEvent, renderList } from './render';
import { formatCapabilities } from '../capabilities/format';
import { registerExtraCommands } from './commands';

export const EXIT = { ok: 0, failed: 1, usage: 2, cancelled: 3, environment: 4, not_found: 5, internal: 70, interrupted: 130 } as const;

/** The exit code for an error, by its catalogue code and kind. */
export function exitCodeFor(info: ErrorInfo): number {
  if (info.code === 'not_found') return EXIT.not_found;
  if (info.code === 'cancelled') return EXIT.cancelled;
  if (info.kind === 'bug') return EXIT.internal;
  if (info.kind === 'environment') return EXIT.environment;
  return EXIT.usage;
}

export function exitCodeForState(state: JobState): number {
  return state === 'COMPLETED' ? EXIT.ok : state === 'CANCELLED' ? EXIT.cancelled : EXIT.failed;
}

export interface CliContext {
  /** The worker of the data folder, opened on first use (runner settings apply then). */
  worker(runner?: { concurrency?: number; announceJobs?: boolean }): Worker;
  client(): WorkerClient;
  json: boolean;
  out(text: string): void;
  err(text: string): void;
  /** Set the process exit code of this command. */
  setExit(code: number): void;
}

/**
 * After a listing: when jobs wait (QUEUED, or RETRY_WAIT for a retry) and no runner is alive for
 * the data folder, say how many and how to start one; a retry "in 10 s" never happens otherwise.
 */
export async function noteWaitingWithoutRunner(ctx: CliContext): Promise<void> {
  const w = ctx.worker();
  if (w.runner || RunnerLock.isHeld(w.dataDir)) return;
  const waiting = await ctx.client().call('jobs.list', { state: [...WAITING_STATES], limit: 1 });
  if (waiting.total > 0) ctx.err(`note: ${waiting.total} job(s) wait for a runner, and none is running for ${w.dataDir}: start \`h2k-worker run\`, the desktop app or \`h2k-worker serve\` on this data folder`);
}

/**
 * Tell the technician when a job was left waiting and nothing will run it: no runner holds the
 * data folder (no `h2k-worker run`, app or `serve` is open on it). Printed on stderr, also in
 * --json mode, since it is advice for a person.
 */
export function noteIfNoRunner(ctx: CliContext, job: Pick<JobSummary, 'id' | 'state'>, instead = 'submit with --wait to run it here'): void {
  if (isTerminal(job.state)) return;
  const w = ctx.worker();
  if (w.runner || RunnerLock.isHeld(w.dataDir)) return;
  ctx.err(`note: no runner is running for ${w.dataDir}, so job ${job.id} waits in ${job.state} until one starts: \`h2k-worker run\`, the desktop app or \`h2k-worker serve\` on this data folder (or ${instead})`);
}

/**
 * Wait for a job to end, printing its events on stderr, running it in this process
 * when no runner holds the data folder. Ctrl-C cancels the job and waits for its clean-up.
 * Resolves with the job's final summary.
 */
export async function waitForJob(ctx: CliContext, id: string): Promise<JobSummary> {
  const worker = ctx.worker();
  const client = ctx.client();
  if (!worker.runner && !RunnerLock.isHeld(worker.dataDir)) {
    worker.startRunner();
    const others = worker.store.jobsIn(['QUEUED']).filter((j) => j !== id).length;
    if (others && !ctx.json) ctx.err(`note: this process is now the data folder's runner; ${others} other queued job(s) run here too, by priority`);
  } else if (!worker.runner && !ctx.json) {
    const r = await client.call('worker.info', {});
    ctx.err(`following job ${id}, run by the data folder's runner${r.runner ? ` (pid ${r.runner.pid})` : ''}`);
  }
  // Progress and log lines go to stderr also with --json (stdout then carries only the JSON
  // document), so a person running a long job still sees it move.
  const tty = Boolean(process.stderr.isTTY);
  let lastLine = '';
  let lastPrinted = { at: 0, stage: '' };
  const show = (e: WorkerEvent) => {
    if (e.type === 'progress' && tty) {
      lastLine = formatProgress(e);
      process.stderr.write(`\r\x1b[2K${lastLine}`);
      return;
    }
    if (e.type === 'progress') {
      // Without a terminal to redraw, one line every 5 s (and at each new stage) is plenty.
      const now = Date.parse(e.at);
      if (e.stage === lastPrinted.stage && e.percent < 100 && now - lastPrinted.at < 5000) return;
      lastPrinted = { at: now, stage: e.stage };
    }
    if (tty && lastLine) process.stderr.write('\r\x1b[2K');
    lastLine = '';
    ctx.err(renderEvent(e));
  };
  let interrupts = 0;
  const onSigint = () => {
    interrupts++;
    if (interrupts > 1) process.exit(EXIT.interrupted);
    ctx.err(`\ncancelling job ${id} (Ctrl-C again to leave without waiting)`);
    void client.call('jobs.cancel', { id }).catch(() => undefined);
  };
  process.on('SIGINT', onSigint);
  // A terminal closing (SIGHUP) or a kill (SIGTERM): when this process runs the job, stop the
  // runner as `h2k-worker run` does (tools killed, partial output removed, the job ended
  // `interrupted`), then leave with the signal's exit code. A follower just leaves: the job
  // belongs to the runner of another process.
  const onTerm = (sig: NodeJS.Signals) => {
    const code = 128 + (sig === 'SIGHUP' ? 1 : 15);
    const ownRunner = worker.runner;
    if (!ownRunner) process.exit(code);
    ctx.err(`\n${sig}: stopping job ${ownRunner.active.join(', ') || id} and cleaning up`);
    void ownRunner.stop(`the command received ${sig}`).finally(() => process.exit(code));
  };
  process.once('SIGTERM', onTerm);
  process.once('SIGHUP', onTerm);
  // The feed's poll timer does not hold the process open (it is unref'd); while we follow a job
  // that another process runs, this does. And when that process leaves (another command whose
  // own job has ended) while ours still waits, this one becomes the runner.
  const keepAlive = setInterval(() => {
    if (worker.runner || RunnerLock.isHeld(worker.dataDir) || isTerminal(worker.store.stateOf(id))) return;
    try {
      worker.startRunner();
      if (!ctx.json) ctx.err(`note: the data folder's runner has stopped; this process now runs job ${id}`);
    } catch (err) {
      if (!(err instanceof WorkerError && err.code === 'runner_busy')) ctx.err(`note: could not take over as the runner: ${String(err)}`);
    }
  }, 500);
  try {
    return await new Promise<JobSummary>((resolvePromise, reject) => {
      let seen = 0;
      let done = false;
      const onEvent = (e: WorkerEvent): boolean => {
        if (e.seq <= seen) return false;
        seen = e.seq;
        show(e);
        return e.type === 'state' && isTerminal(e.to);
      };
      let unsubscribe = () => {};
      const finish = () => {
        if (done) return;
        done = true;
        unsubscribe();
        client.call('jobs.get', { id }).then((d) => resolvePromise(d.summary), reject);
      };
      // Replay what is stored, then follow the feed (which started before the job existed, so
      // nothing falls between the two).
      client
        .call('jobs.events', { id, after_seq: 0, limit: 5000 })
        .then(({ events }) => {
          for (const e of events) if (onEvent(e)) return finish();
          unsubscribe = client.subscribe({ job_id: id }, (e) => {
            if (onEvent(e)) finish();
          });
        })
        .catch(reject);
    });
  } finally {
    clearInterval(keepAlive);
    if (tty && lastLine) process.stderr.write('\n');
    // Jobs of other commands this process has started finish here before it leaves (stopping
    // would interrupt them); the queued ones are for their own commands, which take over.
    // SIGTERM and SIGHUP still stop the runner cleanly meanwhile (tools killed, partials removed).
    if (worker.runner) {
      const others = worker.runner.active.filter((j) => j !== id).length;
      if (others && !ctx.json) ctx.err(`note: finishing ${others} job(s) of other commands that this process started (SIGTERM stops them as \`run\` would)`);
      const onSigintNow = () => onTerm('SIGTERM');
      process.off('SIGINT', onSigint);
      process.once('SIGINT', onSigintNow);
      await worker.runner.retire();
      process.off('SIGINT', onSigintNow);
    }
    process.off('SIGINT', onSigint);
    process.off('SIGTERM', onTerm);
    process.off('SIGHUP', onTerm);
  }
}

/** The spec in a file or on stdin. Throws `bad_request` naming the file when it cannot be read. */
function readSpec(arg: string): unknown {
  let text: string;
  try {
    text = arg === '-' ? readFileSync(0, 'utf8') : readFileSync(resolve(arg), 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    const why = code === 'ENOENT' ? 'no such file' : code === 'EISDIR' ? 'it is a folder' : code === 'EACCES' ? 'no permission to read it' : (err as Error).message;
    throw new WorkerError('bad_request', { message: 'The spec file cannot be read.', detail: `${arg === '-' ? 'standard input' : resolve(arg)}: ${why}`, hint: 'Give the path of a JobSpec JSON file, or - to read it from standard input.' });
  }
  try {
    return JSON.parse(text) as unknown;
  } catch (err) {
    throw new WorkerError('validation_failed', { fields: [{ path: '', message: `not JSON: ${(err as Error).message}` }] });
  }
}

function positiveInt(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new InvalidArgumentError('a whole number of 1 or more is expected');
  return n;
}

export function buildProgram(ctxFactory: (opts: { dataDir?: string; json: boolean }) => CliContext): Command {
  const program = new Command('h2k-worker')
    .description('hyper2kvm Workbench worker: inspect, convert and repair VM disks for KVM.')
    .version(VERSION)
    .option('--data-dir <dir>', 'data folder (default: H2K_DATA_DIR or the app\'s user-data folder)')
    .showHelpAfterError()
    .configureOutput({ writeErr: (s) => process.stderr.write(s) })
    .exitOverride();

  const ctxOf = (cmd: Command): CliContext => {
    const all = cmd.optsWithGlobals() as { dataDir?: string; json?: boolean };
    return ctxFactory({ ...(all.dataDir ? { dataDir: all.dataDir } : {}), json: Boolean(all.json) });
  };

  program
    .command('capabilities')
    .description('What this machine can do: tools, appliance, privileges, space. Slow probes are cached host-wide.')
    .option('--json', 'print WorkerCapabilities as JSON')
    .option('--refresh', 're-run the slow probes (appliance start, tool versions)')
    .action(async (o: { refresh?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const caps = await ctx.client().call('capabilities.get', { refresh: Boolean(o.refresh), appliance: true });
      ctx.out(ctx.json ? JSON.stringify(caps, null, 2) : formatCapabilities(caps));
    });

  program
    .command('submit')
    .description('Submit a job spec (a file, or - for standard input).')
    .argument('<spec>', 'JobSpec JSON file, or -')
    .option('--wait', 'follow the job to its end (run it here when no runner holds the data folder)')
    .option('--json', 'print JSON')
    .action(async (specArg: string, o: { wait?: boolean }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const job = await ctx.client().call('jobs.submit', { spec: readSpec(specArg) });
      if (!o.wait || isTerminal(job.state)) {
        ctx.out(ctx.json ? JSON.stringify(job, null, 2) : `${job.id}  ${job.state}${job.error ? `\n${formatError(job.error)}` : ''}`);
        noteIfNoRunner(ctx, job);
        ctx.setExit(job.state === 'FAILED' ? EXIT.failed : EXIT.ok);
        return;
      }
      if (!ctx.json) ctx.err(`job ${job.id} ${job.state}`);
      const final = await waitForJob(ctx, job.id);
      const detail = await ctx.client().call('jobs.get', { id: final.id });
      ctx.out(ctx.json ? JSON.stringify(detail, null, 2) : renderDetail(detail));
      ctx.setExit(exitCodeForState(final.state));
    });

  program
    .command('status')
    .description('A job: state, history with time per state, last progress, result.')
    .argument('<id>')
    .option('--json', 'print JobDetail as JSON')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const detail = await ctx.client().call('jobs.get', { id });
      ctx.out(ctx.json ? JSON.stringify(detail, null, 2) : renderDetail(detail));
      noteIfNoRunner(ctx, detail.summary, 'run it here with `h2k-worker run`');
    });

  program
    .command('list')
    .description('Jobs, newest first.')
    .addOption(new Option('--state <state...>', 'only jobs in these states').choices(JobState.options))
    .addOption(new Option('--operation <op>', 'only this operation').choices(OperationType.options))
    .option('--search <text>', 'match id, title or labels')
    .option('--limit <n>', 'how many', positiveInt, 50)
    .option('--json', 'print JSON')
    .action(async (o: { state?: JobState[]; operation?: OperationType; search?: string; limit: number }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const page = await ctx.client().call('jobs.list', {
        limit: o.limit,
        ...(o.state ? { state: o.state } : {}),
        ...(o.operation ? { operation: o.operation } : {}),
        ...(o.search ? { search: o.search } : {}),
      });
      ctx.out(ctx.json ? JSON.stringify(page, null, 2) : renderList(page.jobs, page.total));
      await noteWaitingWithoutRunner(ctx);
    });

  program
    .command('cancel')
    .description('Cancel a job: at once when it waits, through its runner when it runs.')
    .argument('<id>')
    .option('--json', 'print JSON')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const job = await ctx.client().call('jobs.cancel', { id });
      ctx.out(ctx.json ? JSON.stringify(job, null, 2) : `${job.id}  ${job.state}${job.state === 'CANCELLED' ? '' : '  (cancel requested; the runner stops it)'}`);
    });

  program
    .command('run')
    .description('Be the runner of the data folder: execute queued jobs until SIGINT or SIGTERM.')
    .option('--concurrency <n>', 'jobs at once (default: the stored setting, 1 unless changed)', positiveInt)
    .action(async (o: { concurrency?: number }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const worker = ctx.worker(o.concurrency === undefined ? { announceJobs: true } : { concurrency: o.concurrency, announceJobs: true });
      const runner = worker.startRunner();
      ctx.err(`runner ${runner.id} (pid ${process.pid}) executing jobs of ${worker.dataDir}, concurrency ${runner.concurrency}; Ctrl-C to stop`);
      await new Promise<void>((resolveStop) => {
        const stop = (sig: string) => {
          ctx.err(`${sig}: stopping; running jobs are interrupted and cleaned up`);
          void runner.stop(`runner received ${sig}`).then(resolveStop);
        };
        process.once('SIGINT', () => stop('SIGINT'));
        process.once('SIGTERM', () => stop('SIGTERM'));
      });
      ctx.err('runner stopped');
    });

  program
    .command('schema')
    .description('Print the JSON Schema of a protocol type, or list the names.')
    .argument('[name]')
    .action(async (name: string | undefined, _o: unknown, cmd: Command) => {
      const ctx = ctxOf(cmd);
      const r = await ctx.client().call('protocol.schema', name === undefined ? {} : { name });
      ctx.out(r.schema === undefined ? r.names.join('\n') : JSON.stringify(r.schema, null, 2));
    });

  registerExtraCommands(program, ctxOf);
  return program;
}

/** Run the CLI with argv; resolves with the exit code (never calls process.exit itself). */
export async function main(argv: string[]): Promise<number> {
  let worker: Worker | null = null;
  let json = false;
  let exitCode: number = EXIT.ok;
  const factory = (opts: { dataDir?: string; json: boolean }): CliContext => {
    json = opts.json;
    const ctx: CliContext = {
      json: opts.json,
      worker(runner) {
        if (!worker) {
          worker = openWorker({ dataDir: resolveDataDir(opts.dataDir), runner: { log: (l) => ctx.err(l), ...runner } });
          // A job whose runner was killed must not stay PROGRESSING until a runner starts
          // again: when none is alive, this command ends it (`interrupted`) on its way in.
          worker.recoverUnattended();
        }
        return worker;
      },
      setExit(code) {
        exitCode = code;
      },
      client() {
        const w = ctx.worker();
        return localClient(w.service, w.feed);
      },
      out: (t) => process.stdout.write(t.endsWith('\n') ? t : t + '\n'),
      err: (t) => process.stderr.write(t.endsWith('\n') ? t : t + '\n'),
    };
    return ctx;
  };
  const program = buildProgram(factory);
  try {
    await program.parseAsync(argv, { from: 'user' });
    return exitCode;
  } catch (err) {
    const e = err as { code?: string; exitCode?: number };
    if (typeof e.code === 'string' && e.code.startsWith('commander.')) {
      return e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help' ? EXIT.ok : EXIT.usage;
    }
    const info = toErrorInfo(err);
    if (json) process.stdout.write(JSON.stringify({ error: info }, null, 2) + '\n');
    else process.stderr.write(`error: ${formatError(info)}\n`);
    return exitCodeFor(info);
  } finally {
    if (worker) await (worker as Worker).close();
    process.stdout.write('');
  }
}
