const collator = new Intl.Collator('en', { numeric: true, sensitivity: 'variant' });

/** Sample ids as a person reads them: `2` before `10`, `img-9` before `img-10`. */
export const compareIds = (a: string, b: string): number => collator.compare(a, b) || (a < b ? -1 : a > b ? 1 : 0);

/** Rows sorted by sample id (numeric-aware), an item's repeats in order, not by the order their answers arrived in. */
export const inIdOrder = <T extends { sampleId: string; repeat?: number }>(rows: T[]): T[] =>
  [...rows].sort((x, y) => compareIds(x.sampleId, y.sampleId) || (x.repeat ?? 0) - (y.repeat ?? 0));
