import { describe, expect, it } from 'vitest';
import { agreement } from '../src/metrics/agreement.ts';

describe("Cohen's kappa", () => {
  it('matches a hand-computed case', async () => {
    // 20 TT, 5 TF, 10 FT, 15 FF: po = 0.7; pA = 0.5, pB = 0.6; pe = 0.3 + 0.2 = 0.5; kappa = 0.4
    const pairs: [boolean, boolean][] = [
      ...Array(20).fill([true, true]), ...Array(5).fill([true, false]), ...Array(10).fill([false, true]), ...Array(15).fill([false, false]),
    ];
    const a = agreement(pairs);
    expect(a.n).toBe(50);
    expect(a.accuracy).toBeCloseTo(0.7, 12);
    expect(a.cohen_kappa).toBeCloseTo(0.4, 12);
    expect(a.confusion).toEqual({ true_true: 20, true_false: 5, false_true: 10, false_false: 15 });
  });
  it('perfect agreement is 1, and constant raters do not divide by zero', async () => {
    expect(agreement([[true, true], [false, false]]).cohen_kappa).toBe(1);
    expect(agreement([[true, true], [true, true]]).cohen_kappa).toBe(1);
  });
});
