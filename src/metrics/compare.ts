/**
 * Paired comparison of two runs on the same samples: for each sample, was each run right? The
 * discordant pairs carry all the information (McNemar): b = A right and B wrong, c = A wrong and
 * B right.
 */

/** Two-sided exact McNemar test: a binomial test of b against n = b + c at p = 1/2. */
export function mcnemarExact(b: number, c: number): number {
  const n = b + c;
  if (n === 0) return 1;
  const k = Math.min(b, c);
  // P(X <= k) for X ~ Binomial(n, 1/2), summed in log space so large n does not overflow.
  let logTerm = -n * Math.LN2; // log C(n,0) / 2^n
  let tail = Math.exp(logTerm);
  for (let i = 1; i <= k; i++) {
    logTerm += Math.log(n - i + 1) - Math.log(i);
    tail += Math.exp(logTerm);
  }
  return Math.min(1, 2 * tail);
}

export interface PairedDifference {
  n: number;
  /** Samples A got right and B wrong. */
  a_only: number;
  /** Samples B got right and A wrong. */
  b_only: number;
  accuracy_a: number;
  accuracy_b: number;
  /** B minus A, as a fraction. */
  difference: number;
  /** Wald interval for a paired difference of proportions. */
  ci95: [number, number];
  p_value: number;
}

export function pairedDifference(pairs: [aCorrect: boolean, bCorrect: boolean][]): PairedDifference {
  const n = pairs.length;
  let a = 0;
  let b = 0;
  let aOnly = 0;
  let bOnly = 0;
  for (const [x, y] of pairs) {
    if (x) a++;
    if (y) b++;
    if (x && !y) aOnly++;
    if (!x && y) bOnly++;
  }
  const d = n ? (bOnly - aOnly) / n : 0;
  const se = n ? Math.sqrt(Math.max(0, aOnly + bOnly - ((bOnly - aOnly) ** 2) / n)) / n : 0;
  return {
    n,
    a_only: aOnly,
    b_only: bOnly,
    accuracy_a: n ? a / n : 0,
    accuracy_b: n ? b / n : 0,
    difference: d,
    ci95: [d - 1.96 * se, d + 1.96 * se],
    p_value: mcnemarExact(aOnly, bOnly),
  };
}

const pts = (x: number) => (Math.abs(x) * 100).toFixed(1);
const pText = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

/**
 * The comparison as a plain sentence: "B refuses 12.4 points more benign pairs than A (95% CI 8.1
 * to 16.7; p < 0.001)". `verb` says what a true value in the pairs means for the sample ("catches",
 * "refuses"); differences whose McNemar p >= 0.05 are "not distinguishable".
 */
export function describeDifference(nameA: string, nameB: string, d: PairedDifference, what: { verb: string; of: string }): string {
  const ci = `95% CI ${(d.ci95[0] * 100).toFixed(1)} to ${(d.ci95[1] * 100).toFixed(1)}`;
  if (d.n === 0) return `${nameA} and ${nameB} share no ${what.of} to compare.`;
  if (d.p_value >= 0.05) {
    return `${nameA} and ${nameB} are not distinguishable on ${what.of} (difference ${(d.difference * 100).toFixed(1)} points, ${ci}; ${pText(d.p_value)}; n = ${d.n}).`;
  }
  return `${nameB} ${what.verb} ${pts(d.difference)} points ${d.difference > 0 ? 'more' : 'fewer'} ${what.of} than ${nameA} (${ci}; ${pText(d.p_value)}; n = ${d.n}).`;
}
