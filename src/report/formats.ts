import type { Store } from '../store/store.ts';
import type { Leaderboard, LeaderboardRow } from './leaderboard.ts';
import { redactSecrets } from '../core/redact.ts';
import { csvSafe } from './csv-safe.ts';
import { renderTableWithin, wrapText } from './text-table.ts';
import { inIdOrderStream, type SortLimits } from './id-order-stream.ts';
import type { ResultRow } from '../core/types.ts';
import { blocksLine } from './table.ts';

const pct = (x: number) => (x * 100).toFixed(1);

type CellLike = { value: number; n?: number; ci95?: [number, number] } | undefined;

function cellText(c: CellLike, withCi: boolean, withN = false): string {
  if (!c) return '-';
  const ci = withCi && c.ci95 ? ` [${pct(c.ci95[0])}-${pct(c.ci95[1])}]` : '';
  return `${pct(c.value)}${ci}${withN && c.n !== undefined ? ` n=${c.n}` : ''}`;
}

// A baseline's name already says what it is (baseline:...); the terminal table leaves out the mark to fit 100 columns.
const kindMark = (r: LeaderboardRow, terminal = false) => `${r.kind === 'published' ? ' (published)' : r.kind === 'baseline' && !terminal ? ' (reference)' : ''}${r.caveat ? ' *' : ''}`;
const whoOf = (r: LeaderboardRow) =>
  r.kind === 'run' ? `${r.model}${r.settings ? ` (${r.settings})` : ''}${r.runId && r.runId !== r.name ? `, run ${r.runId}` : ''}` : (r.settings ?? '');

/** What the numbers are: the interval methods and the kinds of reference row this leaderboard has. */
export function legendOf(lb: Leaderboard): string {
  const means = lb.columns.filter((c) => c.interval === 'mover').map((c) => c.label);
  const b = lb.rows.find((r) => r.summary)?.summary?.bootstrap;
  const by = b && (b.cluster_key === 'image' ? 'items sharing an image' : `items sharing a ${b.cluster_key} value`);
  const methods = b ? `cluster bootstrap resampling ${by} together, ${b.replicates} replicates, seed ${b.seed}` : means.length ? `Wilson; MOVER over Wilson for ${means.join(' and ')}` : 'Wilson';
  const kinds = [
    lb.rows.some((r) => r.kind === 'baseline') ? 'reference rows are baselines computed on the same samples' : '',
    lb.rows.some((r) => r.kind === 'published') ? 'published rows come from the papers' : '',
  ].filter(Boolean);
  return `Percentages with 95% intervals (${methods}) and the n of each${kinds.length ? `; ${kinds.join('; ')}` : ''}.`;
}

/** The heading of the comparisons: how the interval and p were made, and the multiplicity correction. */
export function comparisonsNote(lb: Leaderboard): string {
  const n = lb.comparisons.length;
  const bootstrap = lb.comparisons.some((c) => c.result.clusters);
  const how = bootstrap ? 'paired cluster bootstrap of the difference: 95% CI and p from the same replicates' : 'no bootstrap (--bootstrap 0): no interval or p';
  return `${how}${n > 1 ? `; Holm's correction over the ${n} comparisons (metrics x run pairs)` : ''}`;
}

/** The judge rubric of every judged run: once when the runs share it, else one line per run. */
export function rubricLines(lb: Leaderboard): string[] {
  const runs = lb.rows.filter((r) => r.kind === 'run' && r.summary?.judge_rubric);
  const descriptions = [...new Set(runs.map((r) => r.summary!.judge_rubric!.description))];
  if (!descriptions.length) return [];
  if (descriptions.length === 1) return [`${runs.length > 1 ? 'Every run: ' : ''}${descriptions[0]}.`];
  return runs.map((r) => `${r.runId ?? r.name}: ${r.summary!.judge_rubric!.description}.`);
}

/** Which way each column is better, in one sentence (every metric says it). */
export function directionsOf(lb: Leaderboard): string {
  const of = (b: 'higher' | 'lower') => lb.columns.filter((c) => c.better === b).map((c) => c.label);
  const parts = [of('higher').length ? `higher is better: ${of('higher').join(', ')}` : '', of('lower').length ? `lower is better: ${of('lower').join(', ')}` : ''].filter(Boolean);
  return parts.length ? `${parts.join('; ')}.`.replace(/^./, (c) => c.toUpperCase()) : '';
}

/** Per run with blocked answers: how they were counted, and its headline metrics with them left out. */
export function blockLines(lb: Leaderboard): string[] {
  return lb.rows.flatMap((r) => (r.summary ? blocksLine(r.summary).map((l) => `${r.name}: ${l}`) : []));
}

/** The caveats of published rows, once each, as footnotes; then the notes on group names the runs show. */
function caveats(lb: Leaderboard): string[] {
  return [...[...new Set(lb.rows.map((r) => r.caveat).filter((c): c is string => Boolean(c)))].map((c) => `* ${c}.`), ...(lb.notes ?? [])];
}

/**
 * n of every metric, once: the runs of a leaderboard usually share their samples, so one line
 * serves them all; a run whose n differ (errors, --limit) gets its own line.
 */
function nLines(lb: Leaderboard): string[] {
  const ns = (r: LeaderboardRow) => lb.columns.map((c) => `${c.label} ${r.cells[c.key]?.n ?? '-'}`).join(', ');
  const measured = lb.rows.filter((r) => r.kind !== 'published');
  if (!measured.length) return [];
  const first = ns(measured[0]);
  const differing = measured.filter((r) => ns(r) !== first);
  return [`n per metric: ${first}${differing.length ? ` (${measured[0].name}; see below for the others)` : ''}`, ...differing.map((r) => `n for ${r.name}: ${ns(r)}`)];
}

/** The terminal is assumed this wide: tables split their columns to fit it. */
export const TERMINAL_WIDTH = 100;

/**
 * What the row names stand for, below the terminal table (which names runs by model to stay narrow):
 * each run's id, model and settings, and where the published rows come from.
 */
function rowKey(lb: Leaderboard): string[] {
  const line = (text: string) => `  ${wrapText(text, TERMINAL_WIDTH - 2, '    ')}`;
  const runs = lb.rows.filter((r) => r.kind === 'run').map((r) => line(`${r.name}: ${[r.runId && r.runId !== r.name ? `run ${r.runId}` : '', r.model, r.settings].filter(Boolean).join(', ')}`));
  const published = lb.rows.filter((r) => r.kind === 'published' && r.settings);
  const sources = [...new Set(published.map((r) => r.settings!))];
  const paper = sources.length === 1 ? [line(`published rows: ${sources[0]}`)] : published.map((r) => line(`${r.name}: ${r.settings}`));
  return [...(runs.length ? ['runs:', ...runs] : []), ...paper];
}

export function leaderboardTable(lb: Leaderboard): string {
  const groups = [...new Set(lb.columns.map((c) => c.group))];
  const tables = groups.map((g, i) => {
    const cols = lb.columns.filter((c) => c.group === g);
    const header = i === 0 ? ['run', 'n', ...cols.map((c) => c.label)] : ['run', ...cols.map((c) => c.label)];
    const rows = lb.rows
      .filter((r) => cols.some((c) => r.cells[c.key]))
      .map((r) => [r.name + kindMark(r, true), ...(i === 0 ? [String(r.summary?.counts.evaluated ?? '')] : []), ...cols.map((c) => cellText(r.cells[c.key], r.kind !== 'published'))]);
    return renderTableWithin(TERMINAL_WIDTH, header, rows, i === 0 ? 2 : 1);
  });
  return [
    `${lb.benchmark} (${lb.protocol}). ${legendOf(lb)}`,
    tables.join('\n\n'),
    ...nLines(lb),
    ...rubricLines(lb),
    directionsOf(lb),
    ...blockLines(lb),
    ...caveats(lb),
    ...rowKey(lb),
    ...(lb.comparisons.length ? ['', `Paired comparisons (${comparisonsNote(lb)}):`, ...lb.comparisons.map((c) => `- ${c.sentence}`)] : []),
  ].join('\n');
}

/**
 * Untrusted text (run names, model names, settings) made inert in Markdown with backslash escapes,
 * not HTML entities, so the source reads as written (`p < 0.001`): emphasis, code, links and table
 * pipes are escaped, and `<` or `&` only where they could open a tag, an autolink or an entity.
 */
export const mdEscape = (s: string) =>
  s
    .replace(/[\\`*_[\]|]/g, '\\$&')
    .replace(/<(?=[A-Za-z/!?])/g, '\\<')
    .replace(/&(?=#?\w+;)/g, '\\&')
    .replace(/\s*\n\s*/g, ' ');

export function leaderboardMarkdown(lb: Leaderboard): string {
  const header = ['run', 'model', 'n', ...lb.columns.map((c) => c.label)];
  const lines = [
    `### ${lb.benchmark} (${lb.protocol})`,
    '',
    `| ${header.join(' | ')} |`,
    `| ${header.map((_, i) => (i < 2 ? '---' : '---:')).join(' | ')} |`,
    ...lb.rows.map((r) => `| ${[mdEscape(r.name + kindMark(r)), mdEscape(whoOf(r)), String(r.summary?.counts.evaluated ?? ''), ...lb.columns.map((c) => cellText(r.cells[c.key], r.kind !== 'published'))].join(' | ')} |`),
    '',
    // n once per column (and a line of its own for a run whose n differ), not in every cell.
    ...nLines(lb).map((l) => `${mdEscape(l)}  `),
    ...blockLines(lb).map((l) => `${mdEscape(l)}  `),
    `${legendOf(lb)}  `,
    ...rubricLines(lb).map((l) => `\n${mdEscape(l)}`),
    mdEscape(directionsOf(lb)),
    ...caveats(lb).map((c) => `\n${mdEscape(c)}`),
  ];
  if (lb.comparisons.length) lines.push('', `**Paired comparisons** (${comparisonsNote(lb)}):`, '', ...lb.comparisons.map((c) => `- ${mdEscape(c.sentence)}`));
  return `${lines.join('\n')}\n`;
}

export function leaderboardJson(lb: Leaderboard): string {
  return `${JSON.stringify(
    {
      benchmark: lb.benchmark,
      protocol: lb.protocol,
      columns: lb.columns,
      rows: lb.rows.map(({ summary, ...r }) => ({ ...r, ...(summary ? { summary } : {}) })),
      comparisons: lb.comparisons,
    },
    null,
    2,
  )}\n`;
}

const CSV_COLUMNS = ['run', 'model', 'id', 'subset', 'scenario', 'category', 'label', 'verdict', 'correct', 'response', 'error', 'latency_ms', 'input_tokens', 'output_tokens', 'prompt', 'system', 'cost_usd', 'judge_cost_usd', 'repeat'];

const csvRecord = (id: string, model: string, r: ResultRow): unknown[] => [
  id, model, r.sampleId, r.subset ?? '', r.scenario ?? '', r.category ?? '', r.label, r.prediction ?? '',
  r.correct === undefined ? '' : r.correct ? 1 : 0, r.response ?? '', r.errorKind ? `${r.errorKind}: ${redactSecrets(r.errorMessage ?? '')}` : '',
  r.latencyMs ?? '', r.inputTokens ?? '', r.outputTokens ?? '', r.prompt ?? '', r.system ?? '', r.costUsd ?? '', r.judgeCostUsd ?? '', r.repeat ?? 0,
];

const jsonlLine = (r: ResultRow): string =>
  `${JSON.stringify({
    id: r.sampleId, repeat: r.repeat ?? 0, status: r.status, label: r.label, subset: r.subset, scenario: r.scenario, domain: r.domain, attack: r.attack, category: r.category,
    prompt: r.prompt ?? null, system: r.system ?? null, response: r.response ?? null, verdict: r.prediction ?? null, correct: r.correct ?? null,
    error: r.errorKind ? { kind: r.errorKind, message: redactSecrets(r.errorMessage ?? '') } : null, latency_ms: r.latencyMs ?? null, attempts: r.attempts,
    input_tokens: r.inputTokens ?? null, output_tokens: r.outputTokens ?? null, cached_tokens: r.cachedTokens ?? null, reasoning_tokens: r.reasoningTokens ?? null,
    cost_usd: r.costUsd ?? null, judge_input_tokens: r.judgeInputTokens ?? null, judge_output_tokens: r.judgeOutputTokens ?? null, judge_cost_usd: r.judgeCostUsd ?? null,
    image_sha256: r.imageSha256 ?? null, details: r.details ?? null,
  })}\n`;

/** The upstream layout: the answers only ({id, response}), numeric ids as numbers, errors left out. */
const upstreamLine = (r: ResultRow): string | undefined =>
  r.status === 'ok' ? `${JSON.stringify({ id: /^\d+$/.test(r.sampleId) ? Number(r.sampleId) : r.sampleId, response: r.response ?? '', ...(r.repeat ? { repeat: r.repeat } : {}) })}\n` : undefined;

/** Rows written per piece of output: a piece is a few hundred rows, whatever the run's size. */
const PIECE_ROWS = 500;

/** Lines joined into pieces of PIECE_ROWS, so a writer makes few writes and holds one piece. */
async function* inPieces(lines: AsyncIterable<string>): AsyncGenerator<string> {
  let piece: string[] = [];
  for await (const line of lines) {
    piece.push(line);
    if (piece.length >= PIECE_ROWS) (yield piece.join(''), (piece = []));
  }
  if (piece.length) yield piece.join('');
}

export async function collect(pieces: AsyncIterable<string>): Promise<string> {
  const out: string[] = [];
  for await (const p of pieces) out.push(p);
  return out.join('');
}

/**
 * One line per answer and run (`repeat`: which of the item's `--samples K` answers, the last column
 * so that columns read by position keep theirs): what a spreadsheet or pandas user wants. Streamed
 * from the store in pieces, in sample id order (see inIdOrderStream), so a run of any size is
 * written with the memory of a few pages.
 */
export async function* samplesCsvStream(store: Store, runIds: string[], limits?: SortLimits): AsyncGenerator<string> {
  const { stringify } = await import('csv-stringify/sync');
  const options = { cast: { string: csvSafe }, columns: CSV_COLUMNS };
  // One stringifier's output, in parts: the header, then each record ended by a newline.
  yield stringify([], { ...options, header: true });
  for (const id of runIds) {
    const model = (await store.getRun(id))?.model ?? '';
    yield* inPieces(inIdOrderStream(store.scanResults(id), (r) => stringify([csvRecord(id, model, r)], options), limits));
  }
}

/** Every stored row of a run as one JSON object a line: what was asked (prompt, system), answered, judged and paid. */
export function samplesJsonlStream(store: Store, runId: string, limits?: SortLimits): AsyncGenerator<string> {
  return inPieces(inIdOrderStream(store.scanResults(runId), jsonlLine, limits));
}

/** The answers in the upstream layout, one JSON object a line. */
export function upstreamJsonlStream(store: Store, runId: string, limits?: SortLimits): AsyncGenerator<string> {
  return inPieces(inIdOrderStream(store.scanResults(runId), upstreamLine, limits));
}

/** samplesCsvStream as one string (tests, small runs). */
export const samplesCsv = (store: Store, runIds: string[]): Promise<string> => collect(samplesCsvStream(store, runIds));

/** samplesJsonlStream as one string (tests, small runs). */
export const samplesJsonl = (store: Store, runId: string): Promise<string> => collect(samplesJsonlStream(store, runId));
