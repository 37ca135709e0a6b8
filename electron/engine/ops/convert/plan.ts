/**
 * Progress accounting of a convert job: the job's percent over all its disks and steps,
 * weighted by virtual size, so a 100 GiB disk counts fifty times a 2 GiB one. Pure.
 *
 * Each disk has up to three weighted steps, in this order: `copy` (its virtual size),
 * `verify` (its virtual size again: compare and checksum read both images), `hash` (sha256 of
 * the output files, weighted at half the virtual size: it reads files at disk speed but never
 * decodes an image format). Pre-flight, flush and publishing count as nothing: they take
 * milliseconds to a few seconds whatever the size. Before the disks, a package's manifest check
 * (`manifest`, disk -1) counts the bytes it hashes: the converted members and the descriptor.
 */

export type PlanStage = 'manifest' | 'copy' | 'verify' | 'hash';

export interface PlanStep {
  disk: number;
  stage: PlanStage;
  units: number;
}

export interface ProgressPlan {
  steps: PlanStep[];
  total: number;
  /** Sum of the virtual sizes, the `bytes_total` of the copy and verify stages. */
  virtualTotal: number;
  /** Virtual size of each disk. */
  sizes: number[];
}

/** Build the plan for disks of these virtual sizes (bytes). */
export function makePlan(virtualSizes: readonly number[], opts: { verify: boolean; hash: boolean; manifestBytes?: number }): ProgressPlan {
  const steps: PlanStep[] = [];
  if (opts.manifestBytes) steps.push({ disk: -1, stage: 'manifest', units: opts.manifestBytes });
  virtualSizes.forEach((v, disk) => {
    const size = Math.max(1, v);
    steps.push({ disk, stage: 'copy', units: size });
    if (opts.verify) steps.push({ disk, stage: 'verify', units: size });
    if (opts.hash) steps.push({ disk, stage: 'hash', units: size / 2 });
  });
  return {
    steps,
    total: steps.reduce((a, s) => a + s.units, 0),
    virtualTotal: virtualSizes.reduce((a, v) => a + v, 0),
    sizes: [...virtualSizes],
  };
}

/**
 * The job's percent (0-100) when `stage` of `disk` is `fraction` (0-1) done. A step not in the
 * plan (verification off, say) answers the percent at the start of the next step.
 */
export function planPercent(plan: ProgressPlan, disk: number, stage: PlanStage, fraction: number): number {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  let before = 0;
  for (const s of plan.steps) {
    if (s.disk === disk && s.stage === stage) return (100 * (before + f * s.units)) / plan.total;
    if (s.disk > disk) break;
    before += s.units;
  }
  return (100 * before) / plan.total;
}

/**
 * The job's progress as one event carries it: the percent (planPercent) and the bytes of work
 * done and in all, so that percent = 100 × done / total. The work is counted in bytes: each
 * disk's virtual size for its copy, once more for its verification, half of it for hashing (the
 * plan's units); without verification or hashing that is the virtual bytes copied. The engine's
 * rate and ETA, computed from these, so cover the whole job. Pure.
 */
export function planWork(plan: ProgressPlan, disk: number, stage: PlanStage, fraction: number): { percent: number; done: number; total: number } {
  const percent = planPercent(plan, disk, stage, fraction);
  const total = Math.round(plan.total);
  return { percent, done: Math.round((total * percent) / 100), total };
}

/**
 * A rate over a sliding window of samples (time in ms, a growing count): (last - first) / time
 * over the last `windowMs`, or null before `minMs` of samples. Smooths qemu-img's bursty
 * progress (its rate limit lets the first requests through at once, then holds back) where an
 * instant rate between two updates can read many times the real one.
 */
export class RateWindow {
  private samples: { t: number; v: number }[] = [];

  constructor(
    private readonly windowMs = 3000,
    private readonly minMs = 500,
  ) {}

  reset(): void {
    this.samples = [];
  }

  add(t: number, v: number): void {
    this.samples.push({ t, v });
    // Keep one sample at or before the window's start, so the window spans windowMs.
    while (this.samples.length > 2 && this.samples[1]!.t <= t - this.windowMs) this.samples.shift();
  }

  /** Units per second over the window, or null while the samples span less than minMs. */
  rate(): number | null {
    const first = this.samples[0];
    const last = this.samples.at(-1);
    if (!first || !last || last.t - first.t < this.minMs) return null;
    return Math.max(0, ((last.v - first.v) * 1000) / (last.t - first.t));
  }
}
