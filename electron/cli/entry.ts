/** Process entry of `h2k-worker`: run the CLI, then exit with its code. */
import { main } from './main';

// A reader that went away (`2>&1 | head -1`, a pager quit early, a dead `tee`) must not kill a
// job running in this process: EPIPE on stdout or stderr is ignored and the stream, now
// closed, takes no more output; the job carries on and the exit code is still its own.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE' && err.code !== 'ERR_STREAM_DESTROYED') throw err;
  });
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    process.stderr.write(`fatal: ${String(err)}\n`);
    process.exitCode = 70;
  },
);
