import { templateNotes } from '../upstream/template.ts';
import { findBenchmark, protocolSpec } from '../benchmarks/registry.ts';
import type { Better, ChartSpec, ComparisonSpec, MetricSpec, ProtocolName, ProtocolSpec } from '../benchmarks/types.ts';
import type { ResultRow } from '../core/types.ts';
import { countedRow } from '../metrics/blocks.ts';
import { ClusterTallies, holm, pairedClusterBootstraps, pooled, type BootstrapOptions } from '../metrics/bootstrap.ts';
import { describeDifference, type PairedDifference } from '../metrics/compare.ts';
import { clusterOf, evaluateMetrics, type MetricValue } from '../metrics/declared.ts';
import { BASELINES, baselineVerdict } from '../core/baseline.ts';
import { extractorOf } from '../scoring/awareness.ts';
import type { RunRecord, Store } from '../store/store.ts';
import { scoredResults, summarizeRun, UnknownRunError, type RunSummary } from './summary.ts';
import { runLabels } from './run-labels.ts';

export interface Cell {
  value: number;
  n?: number;
  ci95?: [number, number];
}

export interface LeaderboardRow {
  /** What the row is called: a run's model name with method and ablation (see runLabels), a baseline's or paper row's name. */
  name: string;
  /** A run row's stored id (what commands take). */
  runId?: string;
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
  /** The run ids compared; the sentence names them by their labels. */
  a: string;
  b: string;
  /** What the sentence calls them (see runLabels). */
  labels?: { a: string; b: string };
  metric: string;
  result: PairedDifference;
  sentence: string;
  /** What the compared value means, for rewording the sentence after Holm's correction. */
  what?: { verb: string; of: string };
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
  /** Notes on group names the runs show that a reader would misread (the definition's `groupNotes`). */
  notes?: string[];
}

/** A leaderboard column; `group` splits the terminal table in two so it fits a terminal. */
export interface Column {
  key: string;
  label: string;
  group: 'accuracy' | 'rates';
  /** Set on the columns of a groups entry (one per group): the row field they group by. */
  field?: string;
  /** How its interval is computed without the bootstrap (`--bootstrap 0`): Wilson, or MOVER over Wilson for a mean of proportions. */
  interval?: 'wilson' | 'mover';
  better: Better;
}

/**
 * A metric's cell; empty without rows, and for a mean that lacks some of its parts: a Total over the
 * subsets a partial run happens to have, or a balanced accuracy over one label, would read as the
 * benchmark's own.
 */
const cellOf = (v: MetricValue): Cell | undefined => (v.n > 0 && v.complete !== false ? { value: v.value, n: v.n, ci95: v.ci95 } : undefined);

/** Every declared metric with its n and 95% interval: the stored summary's own values. */
export const cellsOf = (values: MetricValue[]): Record<string, Cell | undefined> => Object.fromEntries(values.map((v) => [v.key, cellOf(v)]));

/** The columns the spec declares; a groups entry gives one column per group the runs have. */
function columnsOf(spec: ProtocolSpec, runsValues: MetricValue[][]): Column[] {
  const columns: Column[] = [];
  const seen = new Set<string>();
  // In declared order; a groups entry gives the groups any run has, sorted as a run's own are.
  const all = spec.metrics.entries.flatMap((e) => {
    const keys = [...new Set(runsValues.flatMap((vs) => vs.filter((v) => v.entry === e).map((v) => v.key)))];
    return (e.kind === 'groups' && !e.values ? keys.sort() : keys).map((key) => ({ key, entry: e }));
  });
  for (const v of all) {
    const e = v.entry;
    if (seen.has(v.key)) continue;
    seen.add(v.key);
    if (!e.column || (e.kind !== 'groups' && !e.label)) continue;
    columns.push({ key: v.key, label: e.kind === 'groups' ? v.key : e.label!, group: e.column, ...(e.kind === 'groups' ? { field: e.field } : {}), interval: e.kind === 'mean' ? 'mover' : 'wilson', better: e.better });
  }
  const order = spec.metrics.columns;
  return order ? order.flatMap((k) => columns.filter((c) => c.key === k)) : columns;
}

/** What tells runs apart besides the model: method, ablation, extraction, judge. */
function settingsOf(run: RunRecord): string {
  const c = run.config.run;
  const extractor = extractorOf(c.extraction);
  const parts = [c.method, c.ablation, c.extraction === 'paper' ? 'paper extraction' : undefined, extractor ? `extractor ${extractor}` : undefined, c.judge ? `judge ${c.judge}` : undefined, c.system ? 'system prompt' : undefined];
  return parts.filter(Boolean).join(', ');
}

/**
 * Baselines answer without looking: their rows are computed from the same samples' labels, with
 * the answers the baseline providers give (one definition: providers/baseline.ts).
 */
function baselineRows(rows: ResultRow[], spec: ProtocolSpec, opts: BootstrapOptions): LeaderboardRow[] {
  // The samples the run's metrics count: its answers and its blocks, where blocks count as answers.
  const answered = rows.map((r) => countedRow(r, spec.metrics.contentPolicy)).filter((r) => r.status === 'ok');
  return BASELINES.map((name) => {
    const synthetic = answered.map((r) => {
      const prediction = baselineVerdict(name, r.sampleId);
      return { ...r, prediction, correct: prediction === r.label };
    });
    return { name: `baseline:${name}`, kind: 'baseline' as const, model: `baseline:${name}`, settings: 'computed on the same samples', cells: cellsOf(evaluateMetrics(synthetic, spec.metrics, opts)) };
  });
}

/**
 * Paired comparisons on the samples both runs answered (blocks counted as the summaries count
 * them): a paired cluster bootstrap of B minus A, the items of a cluster resampled together, so
 * each interval and its p-value come from the same replicates and never disagree.
 */
export function compareRuns(
  nameA: string,
  rowsA: ResultRow[],
  nameB: string,
  rowsB: ResultRow[],
  comparisons: ComparisonSpec[],
  metrics: MetricSpec,
  opts: BootstrapOptions = {},
  labels: { a: string; b: string } = { a: nameA, b: nameB },
): Comparison[] {
  const counted = (r: ResultRow) => countedRow(r, metrics.contentPolicy);
  const byId = new Map(rowsB.map(counted).filter((r) => r.status === 'ok').map((r) => [r.sampleId, r]));
  const tallies = new ClusterTallies(2);
  const counts = comparisons.map(() => ({ n: 0, aOnly: 0, bOnly: 0, a: 0, b: 0 }));
  for (const raw of rowsA) {
    const a = counted(raw);
    const b = byId.get(a.sampleId);
    if (a.status !== 'ok' || !b) continue;
    comparisons.forEach((m, i) => {
      if (!m.include(a) || !m.include(b)) return;
      const [x, y] = [m.value(a), m.value(b)];
      const c = counts[i];
      c.n++;
      if (x) c.a++;
      if (y) c.b++;
      if (x && !y) c.aOnly++;
      if (!x && y) c.bOnly++;
      tallies.add(clusterOf(a, metrics.cluster), String(i), [x ? 1 : 0, y ? 1 : 0]);
    });
  }
  const boot = (opts.replicates ?? 1) > 0 ? pairedClusterBootstraps(tallies, Object.fromEntries(comparisons.map((_, i) => [String(i), { stat: pooled([String(i)]), cells: [String(i)] }])), opts) : {};
  return comparisons.flatMap((m, i) => {
    const c = counts[i];
    // Subsets a benchmark does not have (custom sets) are left out rather than reported as empty.
    if (!c.n && m.optional) return [];
    const d = boot[String(i)];
    const result: PairedDifference = {
      n: c.n,
      a_only: c.aOnly,
      b_only: c.bOnly,
      accuracy_a: c.n ? c.a / c.n : 0,
      accuracy_b: c.n ? c.b / c.n : 0,
      difference: c.n ? (c.bOnly - c.aOnly) / c.n : 0,
      ci95: d?.ci95 ?? [0, 0],
      p_value: d?.p_value ?? 1,
      clusters: d?.clusters ?? 0,
    };
    const what = { verb: m.verb, of: m.of };
    return [{ a: nameA, b: nameB, labels, metric: m.metric, result, sentence: describeDifference(labels.a, labels.b, result, what), what }];
  });
}

/**
 * Holm's correction over every comparison of a leaderboard (metrics x run pairs): each keeps its
 * own interval and p, gains the adjusted p, and its sentence says whether the difference survives.
 */
export function adjustComparisons(comparisons: Comparison[]): Comparison[] {
  const adjusted = holm(comparisons.map((c) => c.result.p_value));
  return comparisons.map((c, i) => {
    const result = { ...c.result, p_holm: adjusted[i] };
    return { ...c, result, sentence: c.what ? describeDifference(c.labels?.a ?? c.a, c.labels?.b ?? c.b, result, c.what, comparisons.length) : c.sentence };
  });
}

/**
 * One leaderboard over stored runs of one benchmark: every metric with n and a 95% CI, the
 * baselines computed on the same samples, the paper's published rows (marked as such), and paired
 * comparisons between the runs.
 */
export async function buildLeaderboard(store: Store, runIds: string[], opts: BootstrapOptions = {}): Promise<Leaderboard> {
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
  const valuesOf: MetricValue[][] = [];
  const rows: LeaderboardRow[] = [];
  const labels = runLabels(runs);
  for (const run of runs) {
    // One row per item, as the summary scores them (the majority of an item's --samples K answers).
    const results = await scoredResults(store, run.id);
    rowsOf.set(run.id, results);
    const { summary, values } = await summarizeRun(store, run.id, opts);
    valuesOf.push(values);
    // A run judged with mmsafe's fallback rubric or a user's templates is marked wherever it is shown.
    const notes = templateNotes(summary.templates).map((n) => `${labels.get(run.id)}: ${n.replace(/^note: /, '')}`);
    rows.push({ name: labels.get(run.id)!, runId: run.id, kind: 'run', model: run.model, settings: settingsOf(run), cells: cellsOf(values), summary, ...(notes.length ? { caveat: notes.join('; ') } : {}) });
  }
  if (spec.baselines) rows.push(...baselineRows(rowsOf.get(runs[0].id)!, spec, opts));
  for (const p of findBenchmark(benchmark)?.published ?? []) {
    if (p.protocol === protocol) rows.push({ name: p.name, kind: 'published', model: p.name, settings: p.source, cells: Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, { value: v }])), ...(p.caveat ? { caveat: p.caveat } : {}) });
  }
  const comparisons: Comparison[] = [];
  // Every pair for a handful of runs; against the first run beyond that, to keep the list readable.
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      if (runs.length > 5 && i > 0) break;
      const [a, b] = [runs[i].id, runs[j].id];
      // Each pair's bootstrap is CPU without a store read: the viewer's other requests go between pairs.
      await new Promise((resolve) => setImmediate(resolve));
      comparisons.push(...compareRuns(a, rowsOf.get(a)!, b, rowsOf.get(b)!, spec.comparisons, spec.metrics, opts, { a: labels.get(a)!, b: labels.get(b)! }));
    }
  }
  const notes = groupNotesOf(findBenchmark(benchmark)?.groupNotes, rows);
  return { benchmark, protocol, columns: columnsOf(spec, valuesOf), rows, comparisons: adjustComparisons(comparisons), runs, charts: spec.charts, headline: spec.metrics.headline, notes };
}

/** The definition's notes on the group names the runs show, as metrics or in a breakdown. */
function groupNotesOf(notes: Record<string, string> | undefined, rows: LeaderboardRow[]): string[] {
  if (!notes) return [];
  const shown = new Set<string>();
  for (const s of rows.map((r) => r.summary)) {
    if (!s) continue;
    for (const k of Object.keys(s.metrics)) shown.add(k);
    for (const [k, v] of Object.entries(s)) if (k.startsWith('by_') && v && typeof v === 'object') for (const g of Object.keys(v)) shown.add(g);
  }
  return Object.entries(notes)
    .filter(([g]) => shown.has(g))
    .map(([g, note]) => `Note: "${g}" is ${note}.`);
}
