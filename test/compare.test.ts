import { describe, expect, it } from 'vitest';
import { describeDifference, mcnemarExact, pairedDifference } from '../src/metrics/compare.ts';

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
  it('computes the difference, its Wald CI and the sentence', async () => {
    // 100 pairs: 60 both right, 5 A only, 20 B only, 15 both wrong.
    const pairs: [boolean, boolean][] = [
      ...Array(60).fill([true, true]), ...Array(5).fill([true, false]), ...Array(20).fill([false, true]), ...Array(15).fill([false, false]),
    ];
    const d = pairedDifference(pairs);
    expect(d).toMatchObject({ n: 100, a_only: 5, b_only: 20, accuracy_a: 0.65, accuracy_b: 0.8 });
    expect(d.difference).toBeCloseTo(0.15, 12);
    const se = Math.sqrt(25 - 225 / 100) / 100;
    expect(d.ci95[0]).toBeCloseTo(0.15 - 1.96 * se, 12);
    expect(d.ci95[1]).toBeCloseTo(0.15 + 1.96 * se, 12);
    expect(d.p_value).toBeCloseTo(mcnemarExact(5, 20), 12);
    expect(describeDifference('A', 'B', d, { verb: 'refuses', of: 'benign pairs' })).toBe(
      `B refuses 15.0 points more benign pairs than A (95% CI ${(d.ci95[0] * 100).toFixed(1)} to ${(d.ci95[1] * 100).toFixed(1)}; p = ${d.p_value.toFixed(3)}; n = 100).`,
    );
    const worse = pairedDifference(pairs.map(([a, b]) => [b, a]));
    expect(describeDifference('A', 'B', worse, { verb: 'catches', of: 'unsafe pairs' })).toMatch(/^B catches 15\.0 points fewer unsafe pairs than A/);
    const same = pairedDifference([[true, false], [false, true], [true, true]]);
    expect(describeDifference('A', 'B', same, { verb: 'catches', of: 'unsafe pairs' })).toMatch(/^A and B are not distinguishable on unsafe pairs/);
  });
});
