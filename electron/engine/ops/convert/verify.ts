/**
 * Verification of a converted disk against its source, before it is published:
 * - `compare`: `qemu-img compare -f SRC_FMT -F OUT_FMT` (formats explicit), which compares what
 *   the guest sees sector by sector and treats a larger output's extra tail as equal when it
 *   reads as zeroes (the Azure-rounded vpc).
 * - `checksum`: sha256 of the guest-visible bytes of both (guest-hash.ts), computed side by side;
 *   the output is hashed over the source's virtual size and any extra tail must read as zeroes.
 */
import type { ConvertVerification, ImageFormat } from '../../../../shared/protocol';
import { WorkerError } from '../../../../shared/errors';
import { firstLines } from '../../../tools/qemu-img';
import { buildCompareArgs, compareVerdict, progressStream } from '../../../tools/qemu-img-convert';
import type { OperationContext } from '../../types';
import { guestHash } from './guest-hash';

type Ctx = Pick<OperationContext, 'run' | 'signal' | 'partial' | 'settled'>;

export interface VerifyInput {
  method: 'compare' | 'checksum';
  source: string;
  sourceFormat: ImageFormat;
  sourceVirtualSize: number;
  output: string;
  outputFormat: ImageFormat;
  /** Fraction (0-1) of the verification done. */
  onFraction: (f: number) => void;
}

/**
 * Verify one output. Resolves with the outcome (ok false on a mismatch: the caller fails the
 * job with `verification_failed`); throws `tool_failed` when the check itself cannot run, and
 * the abort reason when the job is aborted.
 */
export async function verifyOutput(ctx: Ctx, v: VerifyInput): Promise<ConvertVerification> {
  const started = Date.now();
  const seconds = () => (Date.now() - started) / 1000;
  if (v.method === 'compare') {
    const progress = progressStream();
    const r = await ctx.run({
      command: 'qemu-img',
      args: buildCompareArgs(v.source, v.sourceFormat, v.output, v.outputFormat, true),
      onStdout: (chunk) => {
        const ps = progress.push(chunk);
        if (ps.length) v.onFraction(ps[ps.length - 1]! / 100);
      },
    });
    if (ctx.signal.aborted) throw ctx.signal.reason;
    const verdict = compareVerdict(r.exitCode, r.stdout, r.stderr);
    if ('error' in verdict) throw new WorkerError('tool_failed', { detail: `qemu-img compare: ${firstLines(verdict.detail)}` });
    return { method: 'compare', ok: verdict.identical, detail: verdict.detail, source_guest_sha256: null, output_guest_sha256: null, seconds: seconds() };
  }

  // checksum: both images at once, one nbdcopy (and its qemu-nbd) each.
  let srcDone = 0;
  let outDone = 0;
  let srcTotal = v.sourceVirtualSize;
  let outTotal = v.sourceVirtualSize;
  const report = () => v.onFraction((srcDone + outDone) / Math.max(1, srcTotal + outTotal));
  const [src, out] = await Promise.all([
    guestHash(ctx, v.source, v.sourceFormat, {
      sizeHint: v.sourceVirtualSize,
      onBytes: (d, t) => {
        srcDone = d;
        srcTotal = t;
        report();
      },
    }),
    guestHash(ctx, v.output, v.outputFormat, {
      length: v.sourceVirtualSize,
      sizeHint: v.sourceVirtualSize,
      onBytes: (d, t) => {
        outDone = d;
        outTotal = t;
        report();
      },
    }),
  ]);
  const problems: string[] = [];
  if (out.size < src.size) problems.push(`the output is ${out.size} bytes, smaller than the source's ${src.size}`);
  if (src.sha256 !== out.sha256) problems.push(`sha256 of the guest bytes differ: source ${src.sha256}, output ${out.sha256}`);
  if (out.tailZero === false) problems.push(`the output's ${out.size - src.size} bytes past the source's size are not all zero`);
  const ok = problems.length === 0;
  const detail = ok
    ? `sha256 of ${src.size} guest bytes identical${out.size > src.size ? `; the ${out.size - src.size} bytes added by rounding read as zeroes` : ''}`
    : problems.join('; ');
  return { method: 'checksum', ok, detail, source_guest_sha256: src.sha256, output_guest_sha256: out.sha256, seconds: seconds() };
}
