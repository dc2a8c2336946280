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
  /**
   * Agresti-Min interval for a paired difference of proportions: the Wald interval after adding
   * 1/2 to each of the four cells. Plain Wald collapses to a zero-width interval when every
   * discordant pair goes one way (a model against a baseline), which this does not.
   */
  ci95: [number, number];
  p_value: number;
  /** Clusters resampled, when the interval and p come from the paired cluster bootstrap. */
  clusters?: number;
  /** The p-value after Holm's correction over every comparison reported with this one. */
  p_holm?: number;
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
  // Agresti & Min (2005), Statistics in Medicine 24:729-740.
  const m = n + 2;
  const pa = (aOnly + 0.5) / m;
  const pb = (bOnly + 0.5) / m;
  const centre = pb - pa;
  const half = n ? 1.96 * Math.sqrt(Math.max(0, pa + pb - centre ** 2) / m) : 0;
  return {
    n,
    a_only: aOnly,
    b_only: bOnly,
    accuracy_a: n ? a / n : 0,
    accuracy_b: n ? b / n : 0,
    difference: d,
    ci95: n ? [Math.max(-1, centre - half), Math.min(1, centre + half)] : [0, 0],
    p_value: mcnemarExact(aOnly, bOnly),
  };
}

const pts = (x: number) => (Math.abs(x) * 100).toFixed(1);
const pText = (p: number) => (p < 0.001 ? 'p < 0.001' : `p = ${p.toFixed(3)}`);

/**
 * The comparison as a plain sentence: "B refuses 12.4 points more benign pairs than A (95% CI 8.1
 * to 16.7; p < 0.001; n = 310)". `verb` says what a true value in the pairs means for the sample
 * ("catches", "refuses"); differences whose p >= 0.05 are "not distinguishable". With the paired
 * bootstrap the interval and p come from one distribution, so the interval excludes 0 exactly when
 * p < 0.05. In a family of comparisons (`family` > 1, `p_holm` set) the Holm-adjusted p is given,
 * and a difference that does not survive it is said so.
 */
export function describeDifference(nameA: string, nameB: string, d: PairedDifference, what: { verb: string; of: string }, family = 1): string {
  const ciOf = ([lo, hi]: [number, number]) => `95% CI ${(lo * 100).toFixed(1)} to ${(hi * 100).toFixed(1)}`;
  if (d.n === 0) return `${nameA} and ${nameB} share no ${what.of} to compare.`;
  const holmText = family > 1 && d.p_holm !== undefined ? `; Holm-adjusted over ${family} comparisons: ${pText(d.p_holm)}` : '';
  if (d.p_value >= 0.05) {
    return `${nameA} and ${nameB} are not distinguishable on ${what.of} (${nameB} minus ${nameA}: ${(d.difference * 100).toFixed(1)} points, ${ciOf(d.ci95)}; ${pText(d.p_value)}${holmText}; n = ${d.n}).`;
  }
  // "fewer" already carries the sign, so the interval is given for the size of the gap, as the number before it.
  const more = d.difference > 0;
  const ci = ciOf(more ? d.ci95 : [-d.ci95[1], -d.ci95[0]]);
  const lost = family > 1 && d.p_holm !== undefined && d.p_holm >= 0.05 ? `; not distinguishable after Holm's correction for the ${family} comparisons (adjusted ${pText(d.p_holm)})` : holmText;
  return `${nameB} ${what.verb} ${pts(d.difference)} points ${more ? 'more' : 'fewer'} ${what.of} than ${nameA} (${ci}; ${pText(d.p_value)}${lost}; n = ${d.n}).`;
}
