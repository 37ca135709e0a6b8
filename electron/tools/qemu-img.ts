/**
 * qemu-img, driven with explicit formats and argument arrays. The JSON it prints
 * (`--output=json`, QEMU's qapi ImageInfo, ImageCheck and BlockMeasureInfo) is parsed with zod
 * schemas so that a change in qemu-img's output is an error here, not a wrong number later.
 * Every function takes the runner to use (`runTool`, or an operation's `ctx.run`, which records
 * the process for crash clean-up).
 */
import { z } from 'zod';
import type { ImageFormat } from '../../shared/protocol';
import { WorkerError, type ErrorCode } from '../../shared/errors';
import type { ToolResult, ToolRun } from './spawn';

export type Run = (run: ToolRun) => Promise<ToolResult>;

export const QEMU_IMG = 'qemu-img';

/** `qemu-img info --output=json` for one image (qapi ImageInfo). */
export const QemuImageInfo = z
  .object({
    filename: z.string(),
    format: z.string(),
    'virtual-size': z.number(),
    'actual-size': z.number().optional(),
    'cluster-size': z.number().optional(),
    encrypted: z.boolean().optional(),
    'dirty-flag': z.boolean().optional(),
    'backing-filename': z.string().optional(),
    'full-backing-filename': z.string().optional(),
    'backing-filename-format': z.string().optional(),
    snapshots: z
      .array(z.object({ id: z.string(), name: z.string(), 'vm-state-size': z.number(), 'date-sec': z.number(), 'date-nsec': z.number().optional() }).loose())
      .optional(),
    'format-specific': z
      .object({
        type: z.string(),
        data: z
          .object({
            'create-type': z.string().optional(),
            extents: z.array(z.object({ filename: z.string(), format: z.string().optional(), 'virtual-size': z.number().optional() }).loose()).optional(),
            corrupt: z.boolean().optional(),
            encrypt: z.unknown().optional(),
            /** qcow2 with an external data file (`-o data_file=`): its name as the header stores it. */
            'data-file': z.string().optional(),
          })
          .loose(),
      })
      .loose()
      .optional(),
  })
  .loose();
export type QemuImageInfo = z.infer<typeof QemuImageInfo>;

/** `qemu-img check --output=json` (qapi ImageCheck). */
export const QemuImageCheck = z
  .object({
    filename: z.string(),
    format: z.string(),
    'check-errors': z.number(),
    corruptions: z.number().optional(),
    leaks: z.number().optional(),
    'corruptions-fixed': z.number().optional(),
    'leaks-fixed': z.number().optional(),
    'image-end-offset': z.number().optional(),
  })
  .loose();
export type QemuImageCheck = z.infer<typeof QemuImageCheck>;

/** `qemu-img measure --output=json` (qapi BlockMeasureInfo). */
export const QemuMeasure = z.object({ required: z.number(), 'fully-allocated': z.number(), bitmaps: z.number().optional() }).loose();
export type QemuMeasure = z.infer<typeof QemuMeasure>;

/** The first `n` lines of a tool's output, for error details (check can print thousands). */
export function firstLines(text: string, n = 12): string {
  const lines = text.trim().split('\n');
  return lines.length <= n ? lines.join('\n') : [...lines.slice(0, n), `… ${lines.length - n} more lines`].join('\n');
}

/**
 * Map qemu-img's error text to a catalogue code. Pure; the texts are qemu-img 7.x's
 * (block/vmdk.c, block/qcow2.c, block.c), matched loosely to survive small rewordings.
 */
export function classifyQemuImgError(stderr: string): ErrorCode {
  const s = stderr.toLowerCase();
  if (/could not open backing file|backing file.*(no such file|not found)/.test(s)) return 'backing_missing';
  if (/could not open '[^']*(-s\d{3}|-f\d{3}|-flat|-delta)\.vmdk'/.test(s)) return 'extent_missing';
  if (/points after eof|exceeding the end of the file|beyond the end of|truncated|unexpected end of file|image is too small/.test(s)) return 'image_truncated';
  if (/encrypt/.test(s) && /key|secret|password|decrypt/.test(s)) return 'image_encrypted';
  if (/permission denied/.test(s)) return 'source_unreadable';
  if (/no such file or directory/.test(s)) return 'source_missing';
  if (/no space left on device/.test(s)) return 'no_space';
  if (/corrupt|invalid|bad magic|unsupported|header|l1 table|refcount|image not in|not in .* format/.test(s)) return 'image_corrupt';
  return 'tool_failed';
}

function fail(code: ErrorCode, what: string, r: ToolResult): never {
  throw new WorkerError(code, { detail: `${what}: ${firstLines(r.stderr || r.stdout) || `exit code ${r.exitCode}`}` });
}

/**
 * A Run whose spawn failure for a missing qemu-img (ENOENT) throws WorkerError `tool_missing`
 * naming the Debian package; every other outcome is `run`'s own.
 */
export function qemuImgRun(run: Run): Run {
  return async (r) => {
    try {
      return await run(r);
    } catch (err) {
      if ((err as { code?: string }).code === 'ENOENT') throw new WorkerError('tool_missing', { detail: `${r.command} not found on PATH (Debian package qemu-utils)` });
      throw err;
    }
  };
}

/** `qemu-img ARGS` through `run`; throws `tool_missing` when qemu-img is not installed. */
export function runQemuImg(run: Run, args: string[], timeoutMs = 120_000): Promise<ToolResult> {
  return qemuImgRun(run)({ command: QEMU_IMG, args, timeoutMs });
}

/**
 * `qemu-img info --output=json -f FORMAT PATH` of one image, not following its backing file.
 * Throws WorkerError with the classified code when qemu-img cannot open it.
 */
export async function qemuImgInfo(run: Run, path: string, format: ImageFormat): Promise<QemuImageInfo> {
  // -U (force share): read an image another process holds open, never write it.
  const r = await runQemuImg(run, ['info', '--output=json', '-U', '-f', format, '--', path]);
  if (r.exitCode !== 0) fail(classifyQemuImgError(r.stderr), `qemu-img info ${path}`, r);
  return QemuImageInfo.parse(JSON.parse(r.stdout));
}

export interface CheckOutcome {
  supported: boolean;
  result: QemuImageCheck | null;
  exitCode: number | null;
  /** First lines of what check printed on stderr (the errors it found). */
  detail: string | null;
}

/**
 * `qemu-img check --output=json -f FORMAT PATH` (read-only: no -r). Exit codes per qemu-img(1):
 * 0 clean, 1 check not completed (internal error), 2 corruptions, 3 leaks only, 63 check not
 * supported by the format. Never throws for what it finds; throws `tool_missing`.
 */
export async function qemuImgCheck(run: Run, path: string, format: ImageFormat): Promise<CheckOutcome> {
  const r = await runQemuImg(run, ['check', '--output=json', '-U', '-f', format, '--', path], 600_000);
  if (r.exitCode === 63) return { supported: false, result: null, exitCode: 63, detail: null };
  let parsed: QemuImageCheck | null;
  try {
    parsed = r.stdout.trim() ? QemuImageCheck.parse(JSON.parse(r.stdout)) : null;
  } catch {
    // A check that stopped early prints no JSON; its stderr says why.
    parsed = null;
  }
  return { supported: true, result: parsed, exitCode: r.exitCode, detail: r.stderr.trim() ? firstLines(r.stderr) : null };
}

/**
 * `qemu-img measure --output=json -f FORMAT -O OUT PATH`: bytes a copy in OUT format needs.
 * Follows the backing chain (the copy is flattened). Throws the classified error.
 */
export async function qemuImgMeasure(run: Run, path: string, format: ImageFormat, out: ImageFormat, outOptions: string[] = []): Promise<QemuMeasure> {
  const args = ['measure', '--output=json', '-U', '-f', format, '-O', out];
  if (outOptions.length) args.push('-o', outOptions.join(','));
  const r = await runQemuImg(run, [...args, '--', path]);
  if (r.exitCode !== 0) fail(classifyQemuImgError(r.stderr), `qemu-img measure ${path}`, r);
  return QemuMeasure.parse(JSON.parse(r.stdout));
}

/** `qemu-img --version` → "7.2.22". Throws `tool_missing`. */
export async function qemuImgVersion(run: Run): Promise<string> {
  const r = await runQemuImg(run, ['--version']);
  return /version\s+([\d.]+)/.exec(r.stdout)?.[1] ?? r.stdout.split('\n')[0]!.trim();
}
