export type Interval = [number, number];

/**
 * Wilson score interval: well-behaved at 0% and 100% and for small n, where the normal
 * approximation collapses to a zero-width interval. n = 0 gives [0, 0] (no information).
 */
export function wilson(correct: number, n: number, z = 1.96): Interval {
  if (n === 0) return [0, 0];
  const p = correct / n;
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At 0% and 100% rounding leaves the bound a hair inside (0.9999999999999999), so the interval
  // would exclude its own point estimate; the exact bound there is 0 or 1.
  return [correct === 0 ? 0 : Math.max(0, centre - half), correct === n ? 1 : Math.min(1, centre + half)];
}

export interface Proportion {
  n: number;
  correct: number;
  accuracy: number;
  ci95: Interval;
  /** The Wilson interval, kept beside a cluster-bootstrap `ci95`. */
  ci95_wilson?: Interval;
}

export function proportion(correct: number, n: number): Proportion {
  return { n, correct, accuracy: n ? correct / n : 0, ci95: wilson(correct, n) };
}

export const ratio = (num: number, den: number): number => (den ? num / den : 0);

/**
 * 95% interval for a weighted sum of independent proportions (a macro mean such as the paper's
 * Total, or balanced accuracy) by MOVER (Zou & Donner 2008; Newcombe 2011): each proportion's own
 * Wilson limits are recovered into the sum, so the interval stays inside [0, 1] and does not
 * collapse at 0% or 100% the way a normal approximation does. Terms with n = 0 are left out.
 */
export function moverSum(terms: { weight: number; p: Proportion }[]): Interval {
  const used = terms.filter((t) => t.p.n > 0 && t.weight > 0);
  if (!used.length) return [0, 0];
  const sum = used.reduce((a, t) => a + t.weight * t.p.accuracy, 0);
  const low = Math.sqrt(used.reduce((a, t) => a + (t.weight * (t.p.accuracy - t.p.ci95[0])) ** 2, 0));
  const high = Math.sqrt(used.reduce((a, t) => a + (t.weight * (t.p.ci95[1] - t.p.accuracy)) ** 2, 0));
  return [Math.max(0, sum - low), Math.min(1, sum + high)];
}
