import { describe, expect, it } from 'vitest';
import { describeDifference, mcnemarExact, pairedDifference } from '../src/metrics/compare.ts';
import { moverSum, proportion, wilson } from '../src/metrics/stats.ts';

describe('exact McNemar test', () => {
  it('matches hand-computed binomial tails', async () => {
    // b=1, c=6: 2 * (C(7,0)+C(7,1)) / 2^7 = 2 * 8/128 = 0.125
    expect(mcnemarExact(1, 6)).toBeCloseTo(0.125, 12);
    // b=0, c=10: 2 / 1024
    expect(mcnemarExact(0, 10)).toBeCloseTo(2 / 1024, 12);
    expect(mcnemarExact(5, 5)).toBe(1);
    expect(mcnemarExact(0, 0)).toBe(1);
    // large n stays finite: b=400, c=500
    const p = mcnemarExact(400, 500);
    expect(p).toBeGreaterThan(0.0008);
    expect(p).toBeLessThan(0.001);
  });
});

describe('paired difference', () => {
  it('computes the difference, its Agresti-Min CI and the sentence', async () => {
    // 100 pairs: 60 both right, 5 A only, 20 B only, 15 both wrong.
    const pairs: [boolean, boolean][] = [
      ...Array(60).fill([true, true]), ...Array(5).fill([true, false]), ...Array(20).fill([false, true]), ...Array(15).fill([false, false]),
    ];
    const d = pairedDifference(pairs);
    expect(d).toMatchObject({ n: 100, a_only: 5, b_only: 20, accuracy_a: 0.65, accuracy_b: 0.8 });
    expect(d.difference).toBeCloseTo(0.15, 12);
    // Agresti-Min: 1/2 added to each cell, n + 2 = 102; centre (20.5 - 5.5) / 102.
    const pa = 5.5 / 102;
    const pb = 20.5 / 102;
    const half = 1.96 * Math.sqrt((pa + pb - (pb - pa) ** 2) / 102);
    expect(d.ci95[0]).toBeCloseTo(15 / 102 - half, 12);
    expect(d.ci95[1]).toBeCloseTo(15 / 102 + half, 12);
    expect(d.ci95[0]).toBeCloseTo(0.0533, 4);
    expect(d.ci95[1]).toBeCloseTo(0.2408, 4);
    expect(d.p_value).toBeCloseTo(mcnemarExact(5, 20), 12);
    expect(describeDifference('A', 'B', d, { verb: 'refuses', of: 'benign pairs' })).toBe(
      `B refuses 15.0 points more benign pairs than A (95% CI ${(d.ci95[0] * 100).toFixed(1)} to ${(d.ci95[1] * 100).toFixed(1)}; p = ${d.p_value.toFixed(3)}; n = 100).`,
    );
    const worse = pairedDifference(pairs.map(([a, b]) => [b, a]));
    // "fewer" carries the sign: the interval is of the gap's size, like the number before it.
    expect(describeDifference('A', 'B', worse, { verb: 'catches', of: 'unsafe pairs' })).toBe(
      `B catches 15.0 points fewer unsafe pairs than A (95% CI ${(d.ci95[0] * 100).toFixed(1)} to ${(d.ci95[1] * 100).toFixed(1)}; p = ${d.p_value.toFixed(3)}; n = 100).`,
    );
    const same = pairedDifference([[true, false], [false, true], [true, true]]);
    expect(describeDifference('A', 'B', same, { verb: 'catches', of: 'unsafe pairs' })).toMatch(/^A and B are not distinguishable on unsafe pairs/);
  });

  it('keeps a real interval when every discordant pair goes one way', async () => {
    // 10 pairs, B right and A wrong on all: Wald would give [1, 1].
    const d = pairedDifference(Array(10).fill([false, true]));
    expect(d.difference).toBe(1);
    // pa = 0.5/12, pb = 10.5/12, centre 10/12, variance (11/12 - (10/12)^2) / 12.
    const half = 1.96 * Math.sqrt((11 / 12 - (10 / 12) ** 2) / 12);
    expect(d.ci95[0]).toBeCloseTo(10 / 12 - half, 12);
    expect(d.ci95[0]).toBeCloseTo(0.5666, 4);
    expect(d.ci95[1]).toBe(1);
    expect(pairedDifference([]).ci95).toEqual([0, 0]);
  });
});

describe('MOVER interval of a mean of proportions', () => {
  it('recovers each Wilson interval into the mean', async () => {
    // 5/10 and 10/10: mean 0.75.
    const [l1, u1] = wilson(5, 10);
    const [l2] = wilson(10, 10);
    const [lo, hi] = moverSum([{ weight: 0.5, p: proportion(5, 10) }, { weight: 0.5, p: proportion(10, 10) }]);
    expect(lo).toBeCloseTo(0.75 - Math.sqrt((0.5 * (0.5 - l1)) ** 2 + (0.5 * (1 - l2)) ** 2), 12);
    expect(hi).toBeCloseTo(0.75 + 0.5 * (u1 - 0.5), 12);
    expect(lo).toBeCloseTo(0.5587, 4);
    expect(hi).toBeCloseTo(0.8817, 4);
    // Empty groups are left out; nothing at all gives no interval.
    expect(moverSum([{ weight: 1, p: proportion(5, 10) }, { weight: 1, p: proportion(0, 0) }])).toEqual(wilson(5, 10));
    expect(moverSum([])).toEqual([0, 0]);
  });
});
