import { describe, expect, it } from 'vitest';
import { makePlan, planBytes, planPercent } from '../../../electron/engine/ops/convert/plan';

describe('convert progress plan', () => {
  it('weights disks by virtual size', () => {
    const plan = makePlan([3_000, 1_000], { verify: false, hash: false });
    expect(planPercent(plan, 0, 'copy', 0)).toBe(0);
    expect(planPercent(plan, 0, 'copy', 0.5)).toBe(37.5);
    expect(planPercent(plan, 0, 'copy', 1)).toBe(75);
    expect(planPercent(plan, 1, 'copy', 0.5)).toBe(87.5);
    expect(planPercent(plan, 1, 'copy', 1)).toBe(100);
    expect(planBytes(plan, 1, 0.5)).toEqual({ done: 3_500, total: 4_000 });
  });

  it('counts verification and hashing, and never goes backwards along the steps', () => {
    const plan = makePlan([1_000, 1_000], { verify: true, hash: true });
    const seq = [
      planPercent(plan, 0, 'copy', 0),
      planPercent(plan, 0, 'copy', 1),
      planPercent(plan, 0, 'verify', 0.5),
      planPercent(plan, 0, 'hash', 1),
      planPercent(plan, 1, 'copy', 0.2),
      planPercent(plan, 1, 'verify', 1),
      planPercent(plan, 1, 'hash', 1),
    ];
    for (let i = 1; i < seq.length; i++) expect(seq[i]!).toBeGreaterThanOrEqual(seq[i - 1]!);
    expect(seq.at(-1)).toBe(100);
    expect(planPercent(plan, 0, 'copy', 1)).toBe(20);
  });

  it('answers the start of the next step for a step not in the plan, and clamps fractions', () => {
    const plan = makePlan([1_000, 1_000], { verify: false, hash: false });
    expect(planPercent(plan, 0, 'verify', 0.7)).toBe(50);
    expect(planPercent(plan, 0, 'copy', 7)).toBe(50);
    expect(planPercent(plan, 0, 'copy', Number.NaN)).toBe(0);
  });
});
