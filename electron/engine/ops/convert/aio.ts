/**
 * Whether this host's qemu-img can read with io_uring (qemu built with liburing, kernel 5.1+,
 * and no seccomp profile forbidding io_uring_setup, as some container runtimes do). Probed once
 * per process with `qemu-img info` on a small file through an io_uring `json:` spec; any failure
 * means no. H2K_NO_IO_URING=1 turns it off.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ioUringSource } from '../../../tools/qemu-img-convert';
import { runTool } from '../../../tools/spawn';

let probed: Promise<boolean> | null = null;

/**
 * Resolves true when qemu-img opened a file with aio=io_uring here. Never throws. The probe is
 * a 4 KiB temporary file opened by `qemu-img info` (a few milliseconds), run outside any job.
 */
export function ioUringUsable(): Promise<boolean> {
  if (process.env.H2K_NO_IO_URING === '1') return Promise.resolve(false);
  probed ??= (async () => {
    const dir = await mkdtemp(join(tmpdir(), 'h2k-aio-'));
    try {
      const file = join(dir, 'probe.img');
      await writeFile(file, Buffer.alloc(4096));
      const r = await runTool({ command: 'qemu-img', args: ['info', '--output=json', '-f', 'raw', ioUringSource(file)], timeoutMs: 10_000 });
      return r.exitCode === 0;
    } catch {
      return false;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  })();
  return probed;
}
