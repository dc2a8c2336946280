import type { Interval } from './stats.ts';

/**
 * Seeded cluster bootstrap. Items that share a cluster (a benchmark's attack variants reuse their
 * typical pair's image) are answered alike, so they are resampled together: each replicate draws
 * as many clusters as there are, with replacement, and recomputes the statistic from the counts of
 * the drawn clusters. With one item per cluster this is exactly the ordinary bootstrap.
 */

export const DEFAULT_REPLICATES = 2000;
export const DEFAULT_SEED = 20250601;

/** mulberry32: a tiny, well-mixed 32-bit PRNG; the same seed gives the same intervals on every machine. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One item: its cluster, the cell it counts in (a subset, a label), and its 0/1 outcome per run. */
export interface Observation {
  cluster: string;
  cell: string;
  /** One value per run (one run: a single value; a paired comparison: A then B). */
  values: number[];
}

/** Sums per cell: `hits[r]` is run r's total of values, `n` the items. */
export type Tallies = Record<string, { n: number; hits: number[] }>;

/** A statistic of one run's tallies; undefined where a replicate lacks what it needs (an empty subset). */
export type Statistic = (t: Tallies, run: number) => number | undefined;

export interface BootstrapOptions {
  replicates?: number;
  seed?: number;
}

interface Clustered {
  cells: string[];
  runs: number;
  /** Per cluster, per cell: [n, hits of run 0, hits of run 1, ...]. */
  counts: Float64Array[];
}

/** Clusters in order of first appearance, so a seed always draws the same items. */
function clusterize(obs: Observation[]): Clustered {
  const cells = [...new Set(obs.map((o) => o.cell))];
  const runs = obs[0]?.values.length ?? 1;
  const cellIndex = new Map(cells.map((c, i) => [c, i]));
  const index = new Map<string, number>();
  const counts: Float64Array[] = [];
  const width = runs + 1;
  for (const o of obs) {
    let k = index.get(o.cluster);
    if (k === undefined) {
      k = counts.length;
      index.set(o.cluster, k);
      counts.push(new Float64Array(cells.length * width));
    }
    const base = cellIndex.get(o.cell)! * width;
    const row = counts[k];
    row[base] += 1;
    for (let r = 0; r < runs; r++) row[base + 1 + r] += o.values[r];
  }
  return { cells, runs, counts };
}

function toTallies(c: Clustered, sum: Float64Array): Tallies {
  const width = c.runs + 1;
  return Object.fromEntries(c.cells.map((cell, i) => [cell, { n: sum[i * width], hits: Array.from(sum.subarray(i * width + 1, (i + 1) * width)) }]));
}

/**
 * Tallies of `replicates` cluster resamples (the first entry is the observed data itself). Each
 * replicate draws the same number of clusters as observed, uniformly with replacement.
 */
export function resampleTallies(obs: Observation[], opts: BootstrapOptions = {}): { observed: Tallies; replicates: Tallies[]; clusters: number } {
  const c = clusterize(obs);
  const size = c.cells.length * (c.runs + 1);
  const total = new Float64Array(size);
  for (const row of c.counts) for (let i = 0; i < size; i++) total[i] += row[i];
  const rand = mulberry32(opts.seed ?? DEFAULT_SEED);
  const B = opts.replicates ?? DEFAULT_REPLICATES;
  const replicates: Tallies[] = [];
  const K = c.counts.length;
  for (let b = 0; b < B && K > 0; b++) {
    const sum = new Float64Array(size);
    for (let j = 0; j < K; j++) {
      const row = c.counts[Math.floor(rand() * K)];
      for (let i = 0; i < size; i++) sum[i] += row[i];
    }
    replicates.push(toTallies(c, sum));
  }
  return { observed: toTallies(c, total), replicates, clusters: K };
}

/**
 * The order-statistic 95% interval of bootstrap values: [x(k), x(B+1-k)] with k = ceil(0.025 B).
 * This choice makes the interval exclude 0 exactly when the bootstrap p-value below is under 0.05.
 */
export function percentileInterval(values: number[], alpha = 0.05): Interval {
  if (!values.length) return [0, 0];
  const xs = [...values].sort((a, b) => a - b);
  const k = Math.max(1, Math.ceil((alpha / 2) * xs.length));
  return [xs[k - 1], xs[xs.length - k]];
}

/**
 * Two-sided bootstrap p-value for "the difference is 0": twice the smaller share of replicates on
 * either side of 0 (ties count on both sides), at most 1.
 */
export function bootstrapPValue(values: number[]): number {
  if (!values.length) return 1;
  const low = values.filter((v) => v <= 0).length;
  const high = values.filter((v) => v >= 0).length;
  return Math.min(1, (2 * Math.min(low, high)) / values.length);
}

export interface BootstrapInterval {
  estimate: number;
  ci95: Interval;
  /** Clusters resampled. */
  clusters: number;
  /** Replicates where the statistic was defined. */
  replicates: number;
}

/** Cluster-bootstrap intervals of several statistics of one run, all from the same resamples. */
export function clusterBootstrap<K extends string>(obs: Observation[], stats: Record<K, Statistic>, opts: BootstrapOptions = {}): Record<K, BootstrapInterval | undefined> {
  const { observed, replicates, clusters } = resampleTallies(obs, opts);
  const out = {} as Record<K, BootstrapInterval | undefined>;
  for (const key of Object.keys(stats) as K[]) {
    const f = stats[key];
    const estimate = f(observed, 0);
    if (estimate === undefined) {
      out[key] = undefined;
      continue;
    }
    const values = replicates.map((t) => f(t, 0)).filter((v): v is number => v !== undefined);
    out[key] = { estimate, ci95: percentileInterval(values), clusters, replicates: values.length };
  }
  return out;
}

export interface PairedBootstrap {
  /** Statistic of run B minus run A on the observed data. */
  difference: number;
  ci95: Interval;
  p_value: number;
  clusters: number;
  replicates: number;
}

/**
 * Paired cluster bootstrap of B minus A: both runs' outcomes on the same items are resampled
 * together, so the interval and the p-value come from one distribution and cannot disagree.
 */
export function pairedClusterBootstrap(obs: Observation[], stat: Statistic, opts: BootstrapOptions = {}): PairedBootstrap | undefined {
  const { observed, replicates, clusters } = resampleTallies(obs, opts);
  const diff = (t: Tallies) => {
    const a = stat(t, 0);
    const b = stat(t, 1);
    return a === undefined || b === undefined ? undefined : b - a;
  };
  const difference = diff(observed);
  if (difference === undefined) return undefined;
  const values = replicates.map(diff).filter((v): v is number => v !== undefined);
  return { difference, ci95: percentileInterval(values), p_value: bootstrapPValue(values), clusters, replicates: values.length };
}

/** Holm's step-down adjustment: controls the family-wise error rate over many comparisons. */
export function holm(pValues: number[]): number[] {
  const order = pValues.map((p, i) => [p, i] as const).sort((a, b) => a[0] - b[0]);
  const m = pValues.length;
  const adjusted = new Array<number>(m);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    adjusted[i] = running;
  });
  return adjusted;
}

// Statistics over tallies. A cell's proportion is hits / n; aggregates combine cells.

/** Proportion over the given cells pooled (item-weighted); undefined when they hold no item. */
export function pooled(cells: string[]): Statistic {
  return (t, run) => {
    let n = 0;
    let hits = 0;
    for (const c of cells) {
      n += t[c]?.n ?? 0;
      hits += t[c]?.hits[run] ?? 0;
    }
    return n ? hits / n : undefined;
  };
}

/**
 * Unweighted mean of the cells' proportions (a macro mean such as a Total over subsets, or balanced
 * accuracy over the two labels). A cell absent from the observed data is left out; a replicate that
 * drew no item of a present cell is undefined and skipped.
 */
export function meanOfCells(cells: string[]): Statistic {
  return (t, run) => {
    const present = cells.filter((c) => t[c] !== undefined);
    if (!present.length) return undefined;
    let sum = 0;
    for (const c of present) {
      if (!t[c].n) return undefined;
      sum += t[c].hits[run] / t[c].n;
    }
    return sum / present.length;
  };
}
