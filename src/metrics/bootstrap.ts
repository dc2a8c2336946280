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

/** Sums over some clusters, per cell: the items and each run's hits. */
export interface TallyView {
  /** Whether any observation named the cell (a subset the rows hold). */
  has(cell: string): boolean;
  n(cell: string): number;
  hits(cell: string, run: number): number;
}

/** A statistic of one run's tallies; undefined where a replicate lacks what it needs (an empty subset). */
export type Statistic = (t: TallyView, run: number) => number | undefined;

export interface BootstrapOptions {
  /** Replicates; 0 turns the bootstrap off (Wilson intervals only). */
  replicates?: number;
  seed?: number;
}

/**
 * Compact per-cluster tallies, built one observation at a time (rows can be streamed from the
 * store): for each cluster, for each cell it has items in, the items and every run's hits. Memory
 * grows with the clusters and the cells each touches, never with an array of rows.
 */
export class ClusterTallies {
  readonly cells: string[] = [];
  private readonly cellIndex = new Map<string, number>();
  /** Per cluster, flat: [cell, n, hits of run 0, hits of run 1, ...] for each cell it touches. */
  private readonly byCluster = new Map<string, number[]>();
  /** Per cell, over every cluster: [n, hits of run 0, ...]. */
  private readonly totals: number[][] = [];

  constructor(readonly runs = 1) {}

  add(cluster: string, cell: string, values: number | readonly number[]): void {
    let c = this.cellIndex.get(cell);
    if (c === undefined) {
      c = this.cells.length;
      this.cellIndex.set(cell, c);
      this.cells.push(cell);
      this.totals.push(new Array<number>(this.runs + 1).fill(0));
    }
    let list = this.byCluster.get(cluster);
    if (!list) this.byCluster.set(cluster, (list = []));
    const w = this.runs + 2;
    let i = 0;
    while (i < list.length && list[i] !== c) i += w;
    if (i === list.length) for (let q = 0; q < w; q++) list.push(q === 0 ? c : 0);
    list[i + 1] += 1;
    const total = this.totals[c];
    total[0] += 1;
    for (let r = 0; r < this.runs; r++) {
      const v = typeof values === 'number' ? values : values[r];
      list[i + 2 + r] += v;
      total[1 + r] += v;
    }
  }

  /** A cell's items and hits (of `run`) over every cluster; zero for a cell never named. */
  observed(cell: string, run = 0): { n: number; hits: number } {
    const c = this.cellIndex.get(cell);
    return c === undefined ? { n: 0, hits: 0 } : { n: this.totals[c][0], hits: this.totals[c][1 + run] };
  }

  /** How many clusters have items in any of these cells. */
  clustersIn(cells: string[]): number {
    const wanted = new Set(cells.map((c) => this.cellIndex.get(c)).filter((c) => c !== undefined));
    const w = this.runs + 2;
    let k = 0;
    for (const list of this.byCluster.values()) {
      for (let i = 0; i < list.length; i += w) {
        if (wanted.has(list[i])) {
          k++;
          break;
        }
      }
    }
    return k;
  }

  get clusters(): number {
    return this.byCluster.size;
  }

  private sortedKeys?: string[];

  /**
   * The tallies as flat arrays, clusters in the order of their keys: a seed then draws the same
   * clusters however the rows were stored (resumed and concurrent runs store them in another order).
   * `cells`: only the clusters with items in these cells, and only those cells' counts.
   */
  packed(cells?: readonly string[]): Packed {
    if (!this.sortedKeys || this.sortedKeys.length !== this.byCluster.size) this.sortedKeys = [...this.byCluster.keys()].sort();
    const only = cells && new Set(cells.map((c) => this.cellIndex.get(c)).filter((c) => c !== undefined));
    const w = this.runs + 2;
    const width = this.runs + 1;
    const offsets: number[] = [0];
    const cell: number[] = [];
    const values: number[] = [];
    for (const k of this.sortedKeys) {
      const list = this.byCluster.get(k)!;
      for (let i = 0; i < list.length; i += w) {
        if (only && !only.has(list[i])) continue;
        cell.push(list[i]);
        for (let q = 0; q < width; q++) values.push(list[i + 1 + q]);
      }
      if (cell.length > offsets[offsets.length - 1]) offsets.push(cell.length);
    }
    return { cellIndex: this.cellIndex, width, offsets: Int32Array.from(offsets), cell: Int32Array.from(cell), values: Float64Array.from(values) };
  }
}

interface Packed {
  cellIndex: Map<string, number>;
  /** Per cell: n, then one hits value per run. */
  width: number;
  offsets: Int32Array;
  cell: Int32Array;
  values: Float64Array;
}

class SumView implements TallyView {
  constructor(private readonly p: Packed, readonly sum: Float64Array) {}
  has(cell: string): boolean {
    return this.p.cellIndex.has(cell);
  }
  n(cell: string): number {
    const i = this.p.cellIndex.get(cell);
    return i === undefined ? 0 : this.sum[i * this.p.width];
  }
  hits(cell: string, run: number): number {
    const i = this.p.cellIndex.get(cell);
    return i === undefined ? 0 : this.sum[i * this.p.width + 1 + run];
  }
}

/** Tallies of observations given as an array (tests, small callers). */
export function talliesOf(obs: Observation[]): ClusterTallies {
  const t = new ClusterTallies(obs[0]?.values.length ?? 1);
  for (const o of obs) t.add(o.cluster, o.cell, o.values);
  return t;
}

const asTallies = (x: ClusterTallies | Observation[]) => (Array.isArray(x) ? talliesOf(x) : x);

/**
 * Calls `visit` with the observed totals, then with each of `replicates` cluster resamples (each
 * draws as many clusters as observed, uniformly with replacement). One buffer serves every
 * replicate, so memory does not grow with the replicates. `cells`: resample only the clusters
 * with items in these cells (a statistic's own items), as if the others were not there. Returns
 * the number of clusters resampled.
 */
export function resample(t: ClusterTallies, opts: BootstrapOptions, visit: (view: TallyView, replicate: number) => void, cells?: readonly string[]): number {
  const p = t.packed(cells);
  const K = p.offsets.length - 1;
  const sum = new Float64Array(t.cells.length * p.width);
  const view = new SumView(p, sum);
  for (let k = 0; k < K; k++) addEntries(p, k, sum, 1);
  visit(view, -1);
  const B = opts.replicates ?? DEFAULT_REPLICATES;
  const types = clusterTypes(p);
  // Each replicate counts how often each cluster is drawn, by kind: clusters with identical counts
  // are interchangeable, so each kind is then added once, weighted (the same draws, far fewer
  // additions). mulberry32 is inlined here, the hot loop: the same sequence as mulberry32(seed).
  const of = types?.of ?? Uint32Array.from({ length: K }, (_, k) => k);
  const first = types?.first ?? Array.from({ length: K }, (_, k) => k);
  const counts = new Float64Array(first.length);
  let state = (opts.seed ?? DEFAULT_SEED) >>> 0;
  for (let b = 0; b < B && K > 0; b++) {
    counts.fill(0);
    for (let j = 0; j < K; j++) {
      state = (state + 0x6d2b79f5) >>> 0;
      let x = state;
      x = Math.imul(x ^ (x >>> 15), x | 1);
      x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
      counts[of[Math.floor((((x ^ (x >>> 14)) >>> 0) / 4294967296) * K)]]++;
    }
    sum.fill(0);
    for (let ty = 0; ty < first.length; ty++) if (counts[ty]) addEntries(p, first[ty], sum, counts[ty]);
    visit(view, b);
  }
  return K;
}

function addEntries(p: Packed, k: number, sum: Float64Array, times: number): void {
  const { offsets, cell, values, width } = p;
  for (let e = offsets[k], end = offsets[k + 1]; e < end; e++) {
    const base = cell[e] * width;
    const at = e * width;
    for (let q = 0; q < width; q++) sum[base + q] += times * values[at + q];
  }
}

/**
 * The kinds of cluster by their counts, when there are few (one item per cluster gives two kinds:
 * right and wrong): `of[k]` the kind of cluster k, `first[kind]` a cluster of that kind.
 */
function clusterTypes(p: Packed): { of: Uint32Array; first: number[]; count: number } | undefined {
  const K = p.offsets.length - 1;
  const ids = new Map<string, number>();
  const of = new Uint32Array(K);
  const first: number[] = [];
  for (let k = 0; k < K; k++) {
    const key = Array.prototype.join.call(p.cell.subarray(p.offsets[k], p.offsets[k + 1]), ',') + '|' + Array.prototype.join.call(p.values.subarray(p.offsets[k] * p.width, p.offsets[k + 1] * p.width), ',');
    let id = ids.get(key);
    if (id === undefined) {
      id = first.length;
      ids.set(key, id);
      first.push(k);
      if (first.length * 4 > K + 64) return undefined;
    }
    of[k] = id;
  }
  return { of, first, count: first.length };
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
export function clusterBootstrap<K extends string>(obs: ClusterTallies | Observation[], stats: Record<K, Statistic>, opts: BootstrapOptions = {}): Record<K, BootstrapInterval | undefined> {
  const t = asTallies(obs);
  const keys = Object.keys(stats) as K[];
  const estimates = new Map<K, number | undefined>();
  const draws = new Map<K, number[]>(keys.map((k) => [k, []]));
  resample(t, opts, (view, b) => {
    for (const k of keys) {
      const v = stats[k](view, 0);
      if (b < 0) estimates.set(k, v);
      else if (v !== undefined && estimates.get(k) !== undefined) draws.get(k)!.push(v);
    }
  });
  const out = {} as Record<K, BootstrapInterval | undefined>;
  for (const k of keys) {
    const estimate = estimates.get(k);
    const values = draws.get(k)!;
    out[k] = estimate === undefined ? undefined : { estimate, ci95: percentileInterval(values), clusters: t.clusters, replicates: values.length };
  }
  return out;
}

/** A statistic and the cells whose clusters it resamples. */
export interface Supported {
  stat: Statistic;
  cells: readonly string[];
}

/**
 * Each statistic from resamples of its own clusters only (those with items in its cells), so with
 * one item per cluster a proportion's interval is exactly the ordinary bootstrap of its items; an
 * aggregate over several cells (a Total) resamples the clusters of all of them together. Statistics
 * over the same cells share their resamples.
 */
export function bootstrapEach<K extends string>(t: ClusterTallies, stats: Record<K, Supported>, opts: BootstrapOptions = {}): Record<K, BootstrapInterval | undefined> {
  const groups = new Map<string, K[]>();
  for (const k of Object.keys(stats) as K[]) {
    const id = [...stats[k].cells].sort().join('\u0000');
    groups.set(id, [...(groups.get(id) ?? []), k]);
  }
  const out = {} as Record<K, BootstrapInterval | undefined>;
  for (const keys of groups.values()) {
    const estimates = new Map<K, number | undefined>();
    const draws = new Map<K, number[]>(keys.map((k) => [k, []]));
    const clusters = resample(
      t,
      opts,
      (view, b) => {
        for (const k of keys) {
          const v = stats[k].stat(view, 0);
          if (b < 0) estimates.set(k, v);
          else if (v !== undefined && estimates.get(k) !== undefined) draws.get(k)!.push(v);
        }
      },
      stats[keys[0]].cells,
    );
    for (const k of keys) {
      const estimate = estimates.get(k);
      const values = draws.get(k)!;
      out[k] = estimate === undefined ? undefined : { estimate, ci95: percentileInterval(values), clusters, replicates: values.length };
    }
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
export function pairedClusterBootstrap(obs: ClusterTallies | Observation[], stat: Statistic, opts: BootstrapOptions = {}): PairedBootstrap | undefined {
  const t = asTallies(obs);
  return pairedClusterBootstraps(t, { d: { stat, cells: t.cells } }, opts).d;
}

/** Several paired statistics (one per compared metric), each from resamples of its own clusters. */
export function pairedClusterBootstraps<K extends string>(t: ClusterTallies, stats: Record<K, Supported>, opts: BootstrapOptions = {}): Record<K, PairedBootstrap | undefined> {
  const out = {} as Record<K, PairedBootstrap | undefined>;
  for (const k of Object.keys(stats) as K[]) {
    const f = stats[k].stat;
    const diff = (view: TallyView) => {
      const a = f(view, 0);
      const b = f(view, 1);
      return a === undefined || b === undefined ? undefined : b - a;
    };
    let difference: number | undefined;
    const values: number[] = [];
    const clusters = resample(
      t,
      opts,
      (view, b) => {
        const v = diff(view);
        if (b < 0) difference = v;
        else if (v !== undefined) values.push(v);
      },
      stats[k].cells,
    );
    out[k] = difference === undefined ? undefined : { difference, ci95: percentileInterval(values), p_value: bootstrapPValue(values), clusters, replicates: values.length };
  }
  return out;
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
      n += t.n(c);
      hits += t.hits(c, run);
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
    const present = cells.filter((c) => t.has(c));
    if (!present.length) return undefined;
    let sum = 0;
    for (const c of present) {
      const n = t.n(c);
      if (!n) return undefined;
      sum += t.hits(c, run) / n;
    }
    return sum / present.length;
  };
}
