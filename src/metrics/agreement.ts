/** Agreement between two binary raters (a judge and humans, or two judges). */
export interface Agreement {
  n: number;
  accuracy: number;
  cohen_kappa: number;
  /** Rows: reference (humans or the first judge); columns: the rater measured. */
  confusion: { true_true: number; true_false: number; false_true: number; false_false: number };
}

export function agreement(pairs: [reference: boolean, rater: boolean][]): Agreement {
  const c = { true_true: 0, true_false: 0, false_true: 0, false_false: 0 };
  for (const [a, b] of pairs) c[`${a}_${b}` as keyof typeof c]++;
  const n = pairs.length;
  const po = n ? (c.true_true + c.false_false) / n : 0;
  const aTrue = (c.true_true + c.true_false) / (n || 1);
  const bTrue = (c.true_true + c.false_true) / (n || 1);
  const pe = aTrue * bTrue + (1 - aTrue) * (1 - bTrue);
  // Kappa is undefined when chance agreement is total (both raters constant); report 1 if they agree, else 0.
  const kappa = pe === 1 ? (po === 1 ? 1 : 0) : (po - pe) / (1 - pe);
  return { n, accuracy: po, cohen_kappa: kappa, confusion: c };
}
