import type { Better, BreakdownSpec, ClusterKey, MetricEntry, MetricSpec } from '../benchmarks/types.ts';
import { fieldOf } from '../benchmarks/types.ts';
import type { ResultRow } from '../core/types.ts';
import { bootstrapEach, ClusterTallies, DEFAULT_REPLICATES, DEFAULT_SEED, meanOfCells, pooled, type BootstrapOptions, type Supported } from './bootstrap.ts';
import { moverSum, proportion, wilson, type Interval, type Proportion } from './stats.ts';

/**
 * One declared metric computed from stored rows: its value, the rows behind it and a 95% interval
 * (the cluster bootstrap by default; with the bootstrap off, Wilson for a proportion and MOVER over
 * Wilson for a mean of proportions). `n` 0: no rows.
 */
export interface MetricValue {
  key: string;
  entry: MetricEntry;
  value: number;
  n: number;
  ci95: Interval;
  /** The stored form: a proportion object, or the bare number. */
  stored: Proportion | number;
  /** For a mean: the proportions it averages (those with rows). */
  parts?: Proportion[];
  /** For a mean: whether every part it is declared over has rows. */
  complete?: boolean;
}

/** The interval method a summary names in `ci_method`. */
export type CiMethod = 'cluster_bootstrap' | 'wilson';

/** How the intervals were made, stored in the summary beside `ci_method`. */
export interface BootstrapInfo {
  replicates: number;
  seed: number;
  /** What items are clustered by: `image`, or the declared field (rows without one are their own cluster). */
  cluster_key: string;
  clusters: number;
}

/**
 * The cluster of a stored row, as its benchmark declares: the image sent (items that reuse an image
 * are answered alike) or a field's value; a row without one is a cluster of its own.
 */
export function clusterOf(row: ResultRow, key: ClusterKey): string {
  const declared = key.by === 'field' ? fieldOf(row, key.field) : undefined;
  if (declared !== undefined) return `c:${declared}`;
  return row.imageSha256 ? `i:${row.imageSha256}` : `s:${row.sampleId}`;
}

export const clusterKeyName = (key: ClusterKey): string => (key.by === 'image' ? 'image' : key.field);

type Breakdown = Record<string, Proportion | Record<string, Proportion>>;

const SEP = '\u0000';

/**
 * A run's declared metrics, tallied one row at a time (rows can be streamed from the store): per
 * cluster and cell (a group, a rate, a breakdown value) the items and hits. `values()` and
 * `breakdowns()` then give the proportions with cluster-bootstrap intervals: each statistic
 * resamples the clusters that hold its items, a Total those of all its subsets at once (an image
 * shared by typical and attack items moves both).
 */
export class MetricTally {
  private readonly tallies = new ClusterTallies();
  /** Per groups entry / breakdown: the values that start a group. */
  private readonly seen = new Map<string, Set<string>>();
  private intervals?: Map<string, Interval | undefined>;
  private opts: BootstrapOptions = {};

  constructor(readonly spec: MetricSpec) {}

  private see(id: string, v: string): void {
    let s = this.seen.get(id);
    if (!s) this.seen.set(id, (s = new Set()));
    s.add(v);
  }

  add(row: ResultRow): void {
    this.intervals = undefined;
    const cluster = clusterOf(row, this.spec.cluster);
    const count = (cell: string, hit: boolean) => this.tallies.add(cluster, cell, hit ? 1 : 0);
    this.spec.entries.forEach((e, i) => {
      if (e.kind === 'groups') {
        const v = fieldOf(row, e.field);
        if (v === undefined) return;
        this.see(`g${i}`, v);
        if (e.over(row)) count(`g${i}${SEP}${v}`, e.hit(row));
      } else if (e.kind === 'rate') {
        if (e.over(row)) count(`r${i}`, e.hit(row));
      } else if ('rates' in e.of) {
        e.of.rates.forEach((p, j) => p.over(row) && count(`m${i}${SEP}${j}`, p.hit(row)));
      }
    });
    this.spec.breakdowns.forEach((b, k) => {
      const v = fieldOf(row, b.field);
      if (v === undefined) return;
      if (b.valuesFrom === 'all' || b.over(row)) this.see(`b${k}`, v);
      if (b.block) b.block.forEach((e, q) => e.over(row) && count(`b${k}${SEP}${v}${SEP}${q}`, e.hit(row)));
      else if (b.over(row)) count(`b${k}${SEP}${v}`, b.hit(row));
    });
  }

  private groupCells(i: number, e: Extract<MetricEntry, { kind: 'groups' }>): [string, string][] {
    const values = e.values ? [...e.values] : [...(this.seen.get(`g${i}`) ?? [])].sort();
    return values.map((v) => [v, `g${i}${SEP}${v}`]);
  }

  private breakdownCells(k: number): [string, string][] {
    return [...(this.seen.get(`b${k}`) ?? [])].sort().map((v) => [v, `b${k}${SEP}${v}`]);
  }

  private proportionOf(cell: string): Proportion {
    const n = this.tallies.observed(cell).n;
    const correct = this.tallies.observed(cell).hits;
    return { ...proportion(correct, n), ...(this.bootstrapOn ? { ci95: n ? this.interval(cell, correct / n) : [0, 0], ci95_wilson: wilson(correct, n) } : {}) };
  }

  private get bootstrapOn(): boolean {
    return (this.opts.replicates ?? DEFAULT_REPLICATES) > 0;
  }

  /** Every statistic the summary reports, keyed by cell (a proportion) or `mean:<key>`, with the cells it resamples. */
  private statistics(): Record<string, Supported> {
    const stats: Record<string, Supported> = {};
    for (const cell of this.tallies.cells) stats[cell] = { stat: pooled([cell]), cells: [cell] };
    this.spec.entries.forEach((e, i) => {
      if (e.kind !== 'mean') return;
      const cells = 'rates' in e.of ? e.of.rates.map((_, j) => `m${i}${SEP}${j}`) : this.meanGroupCells(e.of.groups);
      stats[`mean:${e.key}`] = { stat: meanOfCells(cells), cells };
    });
    return stats;
  }

  private meanGroupCells(field: string): string[] {
    const i = this.spec.entries.findIndex((g) => g.kind === 'groups' && g.field === field);
    const g = this.spec.entries[i];
    return g?.kind === 'groups' ? this.groupCells(i, g).map(([, c]) => c) : [];
  }

  /**
   * The bootstrap interval of a statistic of value `p`. Where every replicate gives the same value
   * (every item right, or every item wrong, or a single cluster) the bootstrap has no spread to
   * show; Wilson at n = the clusters (the effective sample size when clusters answer alike) then
   * keeps the interval from being zero-wide.
   */
  private interval(id: string, p: number, cells: string[] = [id]): Interval {
    if (!this.intervals) {
      const got = bootstrapEach(this.tallies, this.statistics(), this.opts);
      this.intervals = new Map(Object.entries(got).map(([k, v]) => [k, v?.ci95]));
    }
    const ci = this.intervals.get(id);
    if (!ci) return [0, 0];
    if (ci[0] === ci[1]) {
      const k = this.tallies.clustersIn(cells);
      return wilson(p * k, k);
    }
    return ci;
  }

  private mean(i: number, e: Extract<MetricEntry, { kind: 'mean' }>, cells: string[]): MetricValue {
    const parts = cells.map((c) => this.proportionOf(c));
    const usedCells = cells.filter((_, j) => parts[j].n > 0);
    const used = parts.filter((p) => p.n > 0);
    const complete = used.length === parts.length;
    const value = used.length ? used.reduce((a, p) => a + p.accuracy, 0) / used.length : 0;
    const n = used.reduce((a, p) => a + p.n, 0);
    const ci95 = !used.length ? ([0, 0] as Interval) : this.bootstrapOn ? this.interval(`mean:${e.key}`, value, usedCells) : moverSum(used.map((p) => ({ weight: 1 / used.length, p })));
    return { key: e.key, entry: e, value, n, ci95, stored: value, parts: used, complete };
  }

  private fromCell(key: string, entry: MetricEntry, cell: string, form: 'proportion' | 'number'): MetricValue {
    const p = this.proportionOf(cell);
    return { key, entry, value: p.accuracy, n: p.n, ci95: p.ci95, stored: form === 'proportion' ? p : p.accuracy };
  }

  /** Every metric the spec declares, in declared order (a group entry expands to one value per group). */
  values(opts: BootstrapOptions = {}): MetricValue[] {
    this.use(opts);
    const out: MetricValue[] = [];
    this.spec.entries.forEach((e, i) => {
      if (e.kind === 'groups') {
        for (const [v, cell] of this.groupCells(i, e)) out.push(this.fromCell(v, e, cell, 'proportion'));
      } else if (e.kind === 'rate') {
        out.push(this.fromCell(e.key, e, `r${i}`, e.form));
      } else if ('groups' in e.of) {
        const cells = this.meanGroupCells(e.of.groups);
        // A mean over groups the rows do not have (a custom set without subsets) is no Total at all.
        if (cells.length) out.push(this.mean(i, e, cells));
      } else {
        out.push(this.mean(i, e, e.of.rates.map((_, j) => `m${i}${SEP}${j}`)));
      }
    });
    return out;
  }

  /** The breakdowns stored beside `metrics` (`by_scenario`, `by_category`, ...). */
  breakdowns(opts: BootstrapOptions = {}): Record<string, Breakdown> {
    this.use(opts);
    return Object.fromEntries(
      this.spec.breakdowns.map((b, k) => {
        const out: Breakdown = {};
        for (const [v, cell] of this.breakdownCells(k)) {
          out[v] = b.block ? Object.fromEntries(b.block.map((e, q) => [e.key, this.proportionOf(`${cell}${SEP}${q}`)])) : this.proportionOf(cell);
        }
        return [b.key, out];
      }),
    );
  }

  /** How the intervals were made (absent with the bootstrap off). */
  bootstrapInfo(opts: BootstrapOptions = {}): BootstrapInfo | undefined {
    if ((opts.replicates ?? DEFAULT_REPLICATES) <= 0) return undefined;
    return { replicates: opts.replicates ?? DEFAULT_REPLICATES, seed: opts.seed ?? DEFAULT_SEED, cluster_key: clusterKeyName(this.spec.cluster), clusters: this.tallies.clusters };
  }

  private use(opts: BootstrapOptions): void {
    if (opts.replicates !== this.opts.replicates || opts.seed !== this.opts.seed) this.intervals = undefined;
    this.opts = opts;
  }
}

/** The metrics of rows given as an array (baselines, tests). */
export function evaluateMetrics(rows: Iterable<ResultRow>, spec: MetricSpec, opts: BootstrapOptions = {}): MetricValue[] {
  return tallyOf(rows, spec).values(opts);
}

export function tallyOf(rows: Iterable<ResultRow>, spec: MetricSpec): MetricTally {
  const t = new MetricTally(spec);
  for (const r of rows) t.add(r);
  return t;
}

/** The `metrics` object of the summary JSON. */
export function metricsObject(values: MetricValue[]): Record<string, Proportion | number> {
  return Object.fromEntries(values.map((v) => [v.key, v.stored]));
}

/**
 * Whether higher or lower is better: per key of `metrics`, per rate of a breakdown's block (keyed as
 * in `metrics`) and per breakdown of one proportion (by its key, e.g. `by_category`).
 */
export function directionsObject(values: MetricValue[], spec: MetricSpec): Record<string, Better> {
  const out: Record<string, Better> = Object.fromEntries(values.map((v) => [v.key, v.entry.better]));
  for (const b of spec.breakdowns) {
    if (b.block) for (const e of b.block) out[e.key] ??= e.better;
    else out[b.key] = b.better ?? 'higher';
  }
  return out;
}

/** The intervals of the metrics `metrics` keeps as bare numbers (means, rates stored as numbers). */
export function aggregateIntervals(values: MetricValue[]): Record<string, Interval> {
  return Object.fromEntries(values.filter((v) => typeof v.stored === 'number' && v.n > 0).map((v) => [v.key, v.ci95]));
}

/** The breakdowns stored beside `metrics` (`by_scenario`, `by_category`, ...). */
export function breakdownsObject(rows: Iterable<ResultRow>, spec: MetricSpec, opts: BootstrapOptions = {}): Record<string, Breakdown> {
  return tallyOf(rows, spec).breakdowns(opts);
}
