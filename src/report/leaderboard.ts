import { templateNotes } from '../upstream/template.ts';
import { findBenchmark, protocolSpec } from '../benchmarks/registry.ts';
import type { ChartSpec, ComparisonSpec, ProtocolName, ProtocolSpec } from '../benchmarks/types.ts';
import type { ResultRow } from '../core/types.ts';
import { describeDifference, pairedDifference, type PairedDifference } from '../metrics/compare.ts';
import { evaluateMetrics, type MetricValue } from '../metrics/declared.ts';
import { BASELINES, baselineVerdict } from '../core/baseline.ts';
import type { RunRecord, Store } from '../store/store.ts';
import { scoredResults, summarizeStoredRun, UnknownRunError, type RunSummary } from './summary.ts';

export interface Cell {
  value: number;
  n?: number;
  ci95?: [number, number];
}

export interface LeaderboardRow {
  name: string;
  kind: 'run' | 'baseline' | 'published';
  model?: string;
  /** Method / ablation / other settings that tell runs of one model apart. */
  settings?: string;
  cells: Record<string, Cell | undefined>;
  summary?: RunSummary;
  /** Published rows: what is not yet verified about the numbers. */
  caveat?: string;
}

export interface Comparison {
  a: string;
  b: string;
  metric: string;
  result: PairedDifference;
  sentence: string;
}

export interface Leaderboard {
  benchmark: string;
  protocol: ProtocolName;
  /** What the protocol's spec declares to draw. */
  charts: ChartSpec;
  /** Keys of the headline metrics, primary first. */
  headline: string[];
  columns: Column[];
  rows: LeaderboardRow[];
  comparisons: Comparison[];
  runs: RunRecord[];
}

/** A leaderboard column; `group` splits the terminal table in two so it fits a terminal. */
export interface Column {
  key: string;
  label: string;
  group: 'accuracy' | 'rates';
  /** Set on the columns of a groups entry (one per group): the row field they group by. */
  field?: string;
  /** How its interval is computed: Wilson (the default), or MOVER over Wilson for a mean of proportions. */
  interval?: 'wilson' | 'mover';
}

/**
 * A metric's cell; empty without rows, and for a mean that lacks some of its parts: a Total over the
 * subsets a partial run happens to have, or a balanced accuracy over one label, would read as the
 * benchmark's own.
 */
const cellOf = (v: MetricValue): Cell | undefined => (v.n > 0 && v.complete !== false ? { value: v.value, n: v.n, ci95: v.ci95 } : undefined);

/**
 * Every declared metric with its n and 95% interval, computed from the stored rows (the same
 * numbers as the stored summary; the summary keeps means and rates as bare numbers, so their
 * intervals are computed here: Wilson for rates, MOVER over Wilson for means of proportions).
 */
function cellsOf(rows: ResultRow[], spec: ProtocolSpec): Record<string, Cell | undefined> {
  return Object.fromEntries(evaluateMetrics(rows, spec.metrics).map((v) => [v.key, cellOf(v)]));
}

/** The columns the spec declares; a groups entry gives one column per group the runs have. */
function columnsOf(spec: ProtocolSpec, runsRows: ResultRow[][]): Column[] {
  const all = runsRows.flat();
  const columns: Column[] = [];
  for (const v of evaluateMetrics(all, spec.metrics)) {
    const e = v.entry;
    if (!e.column || (e.kind !== 'groups' && !e.label)) continue;
    columns.push({ key: v.key, label: e.kind === 'groups' ? v.key : e.label!, group: e.column, ...(e.kind === 'groups' ? { field: e.field } : {}), interval: e.kind === 'mean' ? 'mover' : 'wilson' });
  }
  const order = spec.metrics.columns;
  return order ? order.flatMap((k) => columns.filter((c) => c.key === k)) : columns;
}

/** What tells runs apart besides the model: method, ablation, extraction, judge. */
function settingsOf(run: RunRecord): string {
  const c = run.config.run;
  const parts = [c.method, c.ablation, c.extraction === 'paper' ? 'paper extraction' : undefined, c.judge ? `judge ${c.judge}` : undefined, c.system ? 'system prompt' : undefined];
  return parts.filter(Boolean).join(', ');
}

/**
 * Baselines answer without looking: their rows are computed from the same samples' labels, with
 * the answers the baseline providers give (one definition: providers/baseline.ts).
 */
function baselineRows(rows: ResultRow[], spec: ProtocolSpec): LeaderboardRow[] {
  const answered = rows.filter((r) => r.status === 'ok');
  return BASELINES.map((name) => {
    const synthetic = answered.map((r) => {
      const prediction = baselineVerdict(name, r.sampleId);
      return { ...r, prediction, correct: prediction === r.label };
    });
    return { name: `baseline:${name}`, kind: 'baseline' as const, model: `baseline:${name}`, settings: 'computed on the same samples', cells: cellsOf(synthetic, spec) };
  });
}

/** Paired comparisons on the samples both runs answered. */
export function compareRuns(nameA: string, rowsA: ResultRow[], nameB: string, rowsB: ResultRow[], comparisons: ComparisonSpec[]): Comparison[] {
  const byId = new Map(rowsB.filter((r) => r.status === 'ok').map((r) => [r.sampleId, r]));
  return comparisons.flatMap((m) => {
    const pairs: [boolean, boolean][] = [];
    for (const a of rowsA) {
      const b = byId.get(a.sampleId);
      if (a.status === 'ok' && b && m.include(a) && m.include(b)) pairs.push([m.value(a), m.value(b)]);
    }
    // Subsets a benchmark does not have (custom sets) are left out rather than reported as empty.
    if (!pairs.length && m.optional) return [];
    const result = pairedDifference(pairs);
    return [{ a: nameA, b: nameB, metric: m.metric, result, sentence: describeDifference(nameA, nameB, result, { verb: m.verb, of: m.of }) }];
  });
}

/**
 * One leaderboard over stored runs of one benchmark: every metric with n and a 95% CI, the
 * baselines computed on the same samples, the paper's published rows (marked as such), and paired
 * comparisons between the runs.
 */
export async function buildLeaderboard(store: Store, runIds: string[]): Promise<Leaderboard> {
  const runs = [];
  for (const id of runIds) {
    const run = await store.getRun(id);
    if (!run) throw new UnknownRunError(`no run named "${id}" in this database (see \`mmsafe runs\`)`);
    runs.push(run);
  }
  if (runs.length === 0) throw new UnknownRunError('no runs given: --runs A,B,...');
  const benchmarks = new Set(runs.map((r) => r.benchmark));
  const protocols = new Set(runs.map((r) => r.protocol));
  if (benchmarks.size > 1 || protocols.size > 1) {
    throw new UnknownRunError(`a leaderboard compares runs of one benchmark and protocol; got ${[...benchmarks].join(', ')} / ${[...protocols].join(', ')}`);
  }
  const benchmark = runs[0].benchmark;
  const protocol = runs[0].protocol as ProtocolName;
  const spec = protocolSpec(benchmark, protocol);
  if (!spec) throw new UnknownRunError(`no benchmark of this version defines the ${protocol} protocol`);
  const rowsOf = new Map<string, ResultRow[]>();
  const rows: LeaderboardRow[] = [];
  for (const run of runs) {
    // One row per item, as the summary scores them (the majority of an item's --samples K answers).
    const results = await scoredResults(store, run.id);
    rowsOf.set(run.id, results);
    const summary = await summarizeStoredRun(store, run.id);
    // A run judged with mmsafe's fallback rubric or a user's templates is marked wherever it is shown.
    const notes = templateNotes(summary.templates).map((n) => `${run.id}: ${n.replace(/^note: /, '')}`);
    rows.push({ name: run.id, kind: 'run', model: run.model, settings: settingsOf(run), cells: cellsOf(results, spec), summary, ...(notes.length ? { caveat: notes.join('; ') } : {}) });
  }
  if (spec.baselines) rows.push(...baselineRows(rowsOf.get(runs[0].id)!, spec));
  for (const p of findBenchmark(benchmark)?.published ?? []) {
    if (p.protocol === protocol) rows.push({ name: p.name, kind: 'published', model: p.name, settings: p.source, cells: Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, { value: v }])), ...(p.caveat ? { caveat: p.caveat } : {}) });
  }
  const comparisons: Comparison[] = [];
  // Every pair for a handful of runs; against the first run beyond that, to keep the list readable.
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      if (runs.length > 5 && i > 0) break;
      comparisons.push(...compareRuns(runs[i].id, rowsOf.get(runs[i].id)!, runs[j].id, rowsOf.get(runs[j].id)!, spec.comparisons));
    }
  }
  return { benchmark, protocol, columns: columnsOf(spec, [...rowsOf.values()]), rows, comparisons, runs, charts: spec.charts, headline: spec.metrics.headline };
}
