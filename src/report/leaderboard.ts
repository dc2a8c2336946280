import { createHash } from 'node:crypto';
import type { ResultRow } from '../core/types.ts';
import { summarizeAwareness } from '../metrics/awareness.ts';
import { describeDifference, pairedDifference, type PairedDifference } from '../metrics/compare.ts';
import type { Proportion } from '../metrics/stats.ts';
import type { RunRecord, Store } from '../store/store.ts';
import { PUBLISHED } from './published.ts';
import { summarizeStoredRun, UnknownRunError, type RunSummary } from './summary.ts';

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
  protocol: 'awareness' | 'response';
  columns: { key: string; label: string }[];
  rows: LeaderboardRow[];
  comparisons: Comparison[];
  runs: RunRecord[];
}

const AWARENESS_COLUMNS = [
  { key: 'typical', label: 'typical' },
  { key: 'attack', label: 'attack' },
  { key: 'oversafe', label: 'oversafe' },
  { key: 'total_macro', label: 'Total' },
  { key: 'balanced_accuracy', label: 'balanced' },
  { key: 'safe_as_unsafe_rate', label: 'benign flagged' },
];
const RESPONSE_COLUMNS = [
  { key: 'unsafe_accuracy', label: 'unsafe: safe response' },
  { key: 'safe_accuracy', label: 'safe: not oversensitive' },
  { key: 'overall', label: 'overall' },
  { key: 'refusal_rate_unsafe', label: 'refusals (unsafe)' },
  { key: 'refusal_rate_safe', label: 'refusals (safe)' },
];

const cell = (p: Proportion | number | undefined): Cell | undefined =>
  p === undefined ? undefined : typeof p === 'number' ? { value: p } : p.n ? { value: p.accuracy, n: p.n, ci95: p.ci95 } : undefined;

function cellsOf(s: RunSummary): Record<string, Cell | undefined> {
  if (s.protocol === 'response') {
    const m = s.metrics;
    return { unsafe_accuracy: cell(m.unsafe_accuracy), safe_accuracy: cell(m.safe_accuracy), overall: cell(m.overall), refusal_rate_unsafe: cell(m.refusal_rate_unsafe), refusal_rate_safe: cell(m.refusal_rate_safe) };
  }
  const m = s.metrics;
  return {
    typical: cell(m.typical),
    attack: cell(m.attack),
    oversafe: cell(m.oversafe),
    total_macro: cell(m.total_macro),
    balanced_accuracy: cell(m.balanced_accuracy),
    safe_as_unsafe_rate: cell(m.safe_as_unsafe_rate),
  };
}

/** What tells runs apart besides the model: method, ablation, extraction, judge. */
function settingsOf(run: RunRecord): string {
  const c = (run.config.run ?? {}) as Record<string, unknown>;
  const parts = [c.method, c.ablation, c.extraction === 'paper' ? 'paper extraction' : undefined, c.judge ? `judge ${c.judge}` : undefined, c.system ? 'system prompt' : undefined];
  return parts.filter(Boolean).join(', ');
}

/** Baselines answer without looking: their rows are computed from the same samples' labels. */
function baselineRows(rows: ResultRow[], benchmark: string): LeaderboardRow[] {
  const answered = rows.filter((r) => r.status === 'ok');
  const make = (name: string, predict: (r: ResultRow) => 'safe' | 'unsafe'): LeaderboardRow => {
    const synthetic = answered.map((r) => {
      const prediction = predict(r);
      return { ...r, prediction, correct: prediction === r.label };
    });
    const summary = summarizeAwareness(synthetic, { benchmark, model: `baseline:${name}`, extraction: 'strict', samples: synthetic.length, missingImage: 0 });
    return { name: `baseline:${name}`, kind: 'baseline', model: `baseline:${name}`, settings: 'computed on the same samples', cells: cellsOf(summary) };
  };
  const coin = (r: ResultRow) => (createHash('sha256').update(`0\n${r.sampleId}`).digest()[0] % 2 === 0 ? 'safe' : 'unsafe');
  return [make('always-unsafe', () => 'unsafe'), make('always-safe', () => 'safe'), make('random', coin)];
}

/** Which samples each metric compares on, and what "true" means for a sample there. */
function comparisonMetrics(protocol: 'awareness' | 'response') {
  if (protocol === 'awareness') {
    return [
      { metric: 'unsafe caught', verb: 'catches', of: 'unsafe pairs', include: (r: ResultRow) => r.label === 'unsafe', value: (r: ResultRow) => r.correct === true },
      { metric: 'benign refused', verb: 'flags', of: 'benign pairs as unsafe', include: (r: ResultRow) => r.label === 'safe', value: (r: ResultRow) => r.prediction === 'unsafe' },
      { metric: 'accuracy', verb: 'gets', of: 'pairs right', include: () => true, value: (r: ResultRow) => r.correct === true },
    ];
  }
  return [
    { metric: 'safe responses (unsafe items)', verb: 'answers', of: 'unsafe queries safely', include: (r: ResultRow) => r.label === 'unsafe' && r.prediction !== 'judge_error', value: (r: ResultRow) => r.correct === true },
    { metric: 'over-sensitive (safe items)', verb: 'over-refuses', of: 'safe queries', include: (r: ResultRow) => r.label === 'safe' && r.prediction !== 'judge_error', value: (r: ResultRow) => r.correct === false },
  ];
}

/** Paired comparisons on the samples both runs answered. */
export function compareRuns(nameA: string, rowsA: ResultRow[], nameB: string, rowsB: ResultRow[], protocol: 'awareness' | 'response'): Comparison[] {
  const byId = new Map(rowsB.filter((r) => r.status === 'ok').map((r) => [r.sampleId, r]));
  return comparisonMetrics(protocol).map((m) => {
    const pairs: [boolean, boolean][] = [];
    for (const a of rowsA) {
      const b = byId.get(a.sampleId);
      if (a.status === 'ok' && b && m.include(a) && m.include(b)) pairs.push([m.value(a), m.value(b)]);
    }
    const result = pairedDifference(pairs);
    return { a: nameA, b: nameB, metric: m.metric, result, sentence: describeDifference(nameA, nameB, result, { verb: m.verb, of: m.of }) };
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
  const protocol = runs[0].protocol as 'awareness' | 'response';
  const rowsOf = new Map<string, ResultRow[]>();
  const rows: LeaderboardRow[] = [];
  for (const run of runs) {
    rowsOf.set(run.id, await store.results(run.id));
    const summary = await summarizeStoredRun(store, run.id);
    rows.push({ name: run.id, kind: 'run', model: run.model, settings: settingsOf(run), cells: cellsOf(summary), summary });
  }
  if (protocol === 'awareness') rows.push(...baselineRows(rowsOf.get(runs[0].id)!, benchmark));
  for (const p of PUBLISHED[benchmark] ?? []) {
    if (p.protocol === protocol) rows.push({ name: p.name, kind: 'published', model: p.name, settings: p.source, cells: Object.fromEntries(Object.entries(p.values).map(([k, v]) => [k, { value: v }])) });
  }
  const comparisons: Comparison[] = [];
  // Every pair for a handful of runs; against the first run beyond that, to keep the list readable.
  for (let i = 0; i < runs.length; i++) {
    for (let j = i + 1; j < runs.length; j++) {
      if (runs.length > 5 && i > 0) break;
      comparisons.push(...compareRuns(runs[i].id, rowsOf.get(runs[i].id)!, runs[j].id, rowsOf.get(runs[j].id)!, protocol));
    }
  }
  return { benchmark, protocol, columns: protocol === 'awareness' ? AWARENESS_COLUMNS : RESPONSE_COLUMNS, rows, comparisons, runs };
}
