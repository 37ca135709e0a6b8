/**
 * Progress accounting of a convert job: the job's percent over all its disks and steps,
 * weighted by virtual size, so a 100 GiB disk counts fifty times a 2 GiB one. Pure.
 *
 * Each disk has up to three weighted steps, in this order: `copy` (its virtual size),
 * `verify` (its virtual size again: compare and checksum read both images), `hash` (sha256 of
 * the output files, weighted at half the virtual size: it reads files at disk speed but never
 * decodes an image format). Pre-flight, flush and publishing count as nothing: they take
 * milliseconds to a few seconds whatever the size.
 */

export type PlanStage = 'copy' | 'verify' | 'hash';

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
export function makePlan(virtualSizes: readonly number[], opts: { verify: boolean; hash: boolean }): ProgressPlan {
  const steps: PlanStep[] = [];
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
 * Job-wide bytes of a copy or verify stage: the virtual bytes of the disks before `disk` plus
 * `fraction` of this one's, out of the sum of all virtual sizes (so the engine's rate and ETA
 * cover the whole job, not one disk).
 */
export function planBytes(plan: ProgressPlan, disk: number, fraction: number): { done: number; total: number } {
  const f = Math.min(1, Math.max(0, Number.isFinite(fraction) ? fraction : 0));
  const before = plan.sizes.slice(0, disk).reduce((a, v) => a + v, 0);
  return { done: Math.round(before + f * (plan.sizes[disk] ?? 0)), total: plan.virtualTotal };
}
