/**
 * `h2k-worker serve`: the app in a browser on this machine. Starts the REST + SSE server over
 * the data folder (electron/server), becoming the folder's runner when no other process is (or
 * attaching to the one that is: every door goes through the store), and prints the URL to open,
 * which carries the per-start token. SIGINT or SIGTERM stop it cleanly: the event streams end,
 * the runner stops and its running jobs are interrupted and cleaned up.
 */
import { InvalidArgumentError, type Command } from 'commander';
import { existsSync, statSync } from 'node:fs';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { WorkerError } from '../../shared/errors';
import { DEFAULT_PORT, startServer } from '../server/server';
import { listenAddress } from '../server/security';
import type { CliContext } from './main';

function portNumber(v: string): number {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0 || n > 65535) throw new InvalidArgumentError('a port from 0 to 65535 is expected (0: any free port)');
  return n;
}

/** The built renderer: H2K_RENDERER_DIR, else dist/renderer next to the built CLI (dist/cli). */
export function rendererDir(env: NodeJS.ProcessEnv = process.env): string | null {
  const candidates = [
    env.H2K_RENDERER_DIR,
    fileURLToPath(new URL('../renderer', import.meta.url)),
    fileURLToPath(new URL('../../dist/renderer', import.meta.url)),
  ];
  return candidates.find((c): c is string => Boolean(c) && existsSync(join(c as string, 'index.html'))) ?? null;
}

/** Resolve and check the --root folders (default: the home folder). */
export function resolveRoots(given: readonly string[] | undefined): string[] {
  const roots = (given?.length ? given : [homedir()]).map((r) => resolve(r));
  for (const r of roots) {
    if (!existsSync(r) || !statSync(r).isDirectory()) throw new WorkerError('bad_request', { detail: `--root ${r} is not a folder` });
  }
  return [...new Set(roots)];
}

export function registerServeCommand(program: Command, ctxOf: (cmd: Command) => CliContext): void {
  program
    .command('serve')
    .description('Serve the app and the API to a browser on this machine: loopback only, protected by a token in the printed URL.')
    .option('--host <address>', 'loopback address to listen on (127.0.0.0/8 or ::1)', '127.0.0.1')
    .option('--port <n>', 'port; 0 picks a free one', portNumber, DEFAULT_PORT)
    .option('--root <dir...>', 'folders the file picker may show (default: your home folder)')
    .action(async (o: { host: string; port: number; root?: string[] }, cmd: Command) => {
      const ctx = ctxOf(cmd);
      listenAddress(o.host); // refuse a non-loopback host before opening anything
      const roots = resolveRoots(o.root);
      const worker = ctx.worker();
      let role: string;
      try {
        const runner = worker.startRunner();
        role = `runner ${runner.id} (pid ${process.pid}) executes this folder's jobs`;
      } catch (err) {
        if (!(err instanceof WorkerError) || err.code !== 'runner_busy') throw err;
        role = `attached: another process runs the jobs (${err.info.detail ?? 'runner busy'})`;
      }
      const dir = rendererDir();
      const server = await startServer({ worker, roots, host: o.host, port: o.port, rendererDir: dir });
      ctx.err(`h2k-worker serve: data folder ${worker.dataDir}; ${role}`);
      ctx.err(`file picker roots: ${roots.join(', ')}`);
      if (!dir) ctx.err('the app is not built (npm run build); serving the API only');
      ctx.out(`Open this URL in a browser on this machine (it carries the access token):\n  ${server.url}`);
      await new Promise<void>((resolveStop) => {
        let stopping = false;
        const stop = (sig: NodeJS.Signals) => {
          if (stopping) process.exit(130);
          stopping = true;
          ctx.err(`${sig}: stopping; running jobs are interrupted and cleaned up (${sig} again to leave at once)`);
          void server
            .close()
            .then(() => worker.runner?.stop(`server received ${sig}`))
            .then(resolveStop, resolveStop);
        };
        process.on('SIGINT', stop);
        process.on('SIGTERM', stop);
      });
      ctx.err('h2k-worker serve: stopped');
    });
}
