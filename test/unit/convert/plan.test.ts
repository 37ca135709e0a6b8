import { describe, expect, it } from 'vitest';
import { makePlan, planPercent, planWork, RateWindow } from '../../../electron/engine/ops/convert/plan';

describe('convert progress plan', () => {
  it('weights disks by virtual size', () => {
    const plan = makePlan([3_000, 1_000], { verify: false, hash: false });
    expect(planPercent(plan, 0, 'copy', 0)).toBe(0);
    expect(planPercent(plan, 0, 'copy', 0.5)).toBe(37.5);
    expect(planPercent(plan, 0, 'copy', 1)).toBe(75);
    expect(planPercent(plan, 1, 'copy', 0.5)).toBe(87.5);
    expect(planPercent(plan, 1, 'copy', 1)).toBe(100);
    expect(planWork(plan, 1, 'copy', 0.5)).toEqual({ percent: 87.5, done: 3_500, total: 4_000 });
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

  it('bytes of work agree with the percent, with verification and hashing too', () => {
    const plan = makePlan([3_000, 1_000], { verify: true, hash: true });
    expect(plan.total).toBe(10_000);
    for (const [disk, stage, f] of [[0, 'copy', 0.3], [0, 'verify', 0.9], [0, 'hash', 0.5], [1, 'copy', 1], [1, 'hash', 1]] as const) {
      const w = planWork(plan, disk, stage, f);
      expect(w.total).toBe(10_000);
      expect(Math.abs(w.percent - (100 * w.done) / w.total)).toBeLessThan(0.01);
    }
    expect(planWork(plan, 0, 'copy', 1)).toEqual({ percent: 30, done: 3_000, total: 10_000 });
    expect(planWork(plan, 0, 'verify', 1)).toEqual({ percent: 60, done: 6_000, total: 10_000 });
    expect(planWork(plan, 1, 'hash', 1)).toEqual({ percent: 100, done: 10_000, total: 10_000 });
  });
});

describe('rate window', () => {
  it('reads a burst then a steady pace as the pace once the burst leaves the window', () => {
    const w = new RateWindow(3000, 500);
    w.add(0, 0);
    expect(w.rate()).toBeNull();
    w.add(50, 16_000_000); // qemu-img lets the first requests through at once
    expect(w.rate()).toBeNull(); // less than 500 ms of samples: no estimate yet
    for (let t = 1050, v = 16_000_000; t <= 8050; t += 1000) w.add(t, (v += 8_000_000));
    // 8 MB a second over the last 3 s, not the 320 MB/s of the first 50 ms.
    expect(w.rate()).toBe(8_000_000);
    w.reset();
    expect(w.rate()).toBeNull();
  });
});
