import type { BreakdownSpec, MetricEntry, MetricSpec, RowTest } from '../benchmarks/types.ts';
import { fieldOf } from '../benchmarks/types.ts';
import type { ResultRow } from '../core/types.ts';
import { moverSum, proportion, type Interval, type Proportion } from './stats.ts';

/**
 * One declared metric computed from stored rows: its value, the rows behind it and a 95% interval
 * (Wilson for a proportion, MOVER over Wilson for a mean of proportions). `n` 0: no rows.
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

const tally = (rows: ResultRow[], over: RowTest, hit: RowTest): Proportion => {
  const admitted = rows.filter(over);
  return proportion(admitted.filter(hit).length, admitted.length);
};

/** The values of `field` among `rows`, sorted; rows without one are in no group. */
function valuesOf(rows: ResultRow[], field: string): string[] {
  return [...new Set(rows.map((r) => fieldOf(r, field)).filter((v): v is string => v !== undefined))].sort();
}

function groupValues(rows: ResultRow[], entry: Extract<MetricEntry, { kind: 'groups' }>): string[] {
  return entry.values ? [...entry.values] : valuesOf(rows, entry.field);
}

function mean(key: string, entry: MetricEntry, parts: Proportion[]): MetricValue {
  const used = parts.filter((p) => p.n > 0);
  const complete = used.length === parts.length;
  const value = used.length ? used.reduce((a, p) => a + p.accuracy, 0) / used.length : 0;
  const ci95 = moverSum(used.map((p) => ({ weight: 1 / used.length, p })));
  return { key, entry, value, n: used.reduce((a, p) => a + p.n, 0), ci95, stored: value, parts: used, complete };
}

function fromProportion(key: string, entry: MetricEntry, p: Proportion, form: 'proportion' | 'number'): MetricValue {
  return { key, entry, value: p.accuracy, n: p.n, ci95: p.ci95, stored: form === 'proportion' ? p : p.accuracy };
}

/** Every metric a spec declares, in declared order (a group entry expands to one value per group). */
export function evaluateMetrics(rows: ResultRow[], spec: MetricSpec): MetricValue[] {
  const out: MetricValue[] = [];
  const groups = new Map<string, Proportion[]>();
  for (const entry of spec.entries) {
    if (entry.kind === 'groups') {
      const parts = groupValues(rows, entry).map((v) => {
        const p = tally(rows, (r) => entry.over(r) && fieldOf(r, entry.field) === v, entry.hit);
        out.push(fromProportion(v, entry, p, 'proportion'));
        return p;
      });
      groups.set(entry.field, parts);
    } else if (entry.kind === 'rate') {
      out.push(fromProportion(entry.key, entry, tally(rows, entry.over, entry.hit), entry.form));
    } else if ('groups' in entry.of) {
      const parts = groups.get(entry.of.groups);
      // A mean over groups the rows do not have (a custom set without subsets) is no Total at all.
      if (parts?.length) out.push(mean(entry.key, entry, parts));
    } else {
      out.push(mean(entry.key, entry, entry.of.rates.map((r) => tally(rows, r.over, r.hit))));
    }
  }
  return out;
}

/** The `metrics` object of the summary JSON. */
export function metricsObject(values: MetricValue[]): Record<string, Proportion | number> {
  return Object.fromEntries(values.map((v) => [v.key, v.stored]));
}

type Breakdown = Record<string, Proportion | Record<string, Proportion>>;

function breakdown(rows: ResultRow[], spec: BreakdownSpec): Breakdown {
  const starters = spec.valuesFrom === 'all' ? rows : rows.filter(spec.over);
  const out: Breakdown = {};
  for (const v of valuesOf(starters, spec.field)) {
    const inGroup = rows.filter((r) => fieldOf(r, spec.field) === v);
    out[v] = spec.block ? Object.fromEntries(spec.block.map((e) => [e.key, tally(inGroup, e.over, e.hit)])) : tally(inGroup, spec.over, spec.hit);
  }
  return out;
}

/** The breakdowns stored beside `metrics` (`by_scenario`, `by_category`, ...). */
export function breakdownsObject(rows: ResultRow[], spec: MetricSpec): Record<string, Breakdown> {
  return Object.fromEntries(spec.breakdowns.map((b) => [b.key, breakdown(rows, b)]));
}
