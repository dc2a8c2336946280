import type { Prediction, ResultRow } from '../core/types.ts';
import type { StagedScore } from './store.ts';
import { decodeText, encodeText, mapStrings } from './text-codec.ts';

/** Free text a store must keep byte for byte (NUL, lone surrogates): see text-codec.ts. */
const FREE_TEXT = new Set<keyof ResultRow>(['response', 'errorMessage', 'prompt', 'system', 'reference']);

/** Details as a store writes them (they hold answers and rationales too). */
export const storableDetails = (d: Record<string, unknown>) => mapStrings(d, encodeText) as Record<string, unknown>;
const readableDetails = (d: Record<string, unknown>) => mapStrings(d, decodeText) as Record<string, unknown>;

/** The result columns in the order both stores write them, with the ResultRow field of each. */
export const RESULT_FIELDS = [
  ['run_id', 'runId'], ['sample_id', 'sampleId'], ['repeat', 'repeat'], ['status', 'status'], ['label', 'label'],
  ['subset', 'subset'], ['scenario', 'scenario'], ['domain', 'domain'], ['attack', 'attack'], ['category', 'category'],
  ['response', 'response'], ['prediction', 'prediction'], ['correct', 'correct'], ['error_kind', 'errorKind'], ['error_message', 'errorMessage'],
  ['latency_ms', 'latencyMs'], ['prompt', 'prompt'], ['system', 'system'], ['reference', 'reference'],
  ['input_tokens', 'inputTokens'], ['output_tokens', 'outputTokens'], ['cached_tokens', 'cachedTokens'], ['reasoning_tokens', 'reasoningTokens'],
  ['cost_usd', 'costUsd'], ['judge_input_tokens', 'judgeInputTokens'], ['judge_output_tokens', 'judgeOutputTokens'], ['judge_cost_usd', 'judgeCostUsd'],
  ['image_sha256', 'imageSha256'], ['attempts', 'attempts'], ['details', 'details'],
] as const satisfies readonly (readonly [string, keyof ResultRow])[];

export const RESULT_COLUMNS = RESULT_FIELDS.map(([c]) => c);

/** The columns that identify a result row (its key); every other column is its content. */
export const RESULT_KEY = ['run_id', 'sample_id', 'repeat'] as const;
export const RESULT_CONTENT = RESULT_COLUMNS.filter((c) => !(RESULT_KEY as readonly string[]).includes(c));

/** A row's repeat index as stored (0 for the first, and only, answer of a run with --samples 1). */
export const repeatOf = (row: { repeat?: number }): number => row.repeat ?? 0;

/** Without the free text (answer, question, system prompt, reference): what metrics and summaries read. */
export const SLIM_COLUMNS = RESULT_COLUMNS.filter((c) => !['response', 'prompt', 'system', 'reference'].includes(c));

/** Rows per page when a run's rows are streamed (`Store.scanResults`). */
export const SCAN_PAGE = 2000;

/** A row's values in RESULT_FIELDS order: null for absent, booleans and details as the store keeps them. */
export function rowValues(row: ResultRow, encode: { bool: (b: boolean) => unknown; json: (v: Record<string, unknown>) => unknown }): unknown[] {
  return RESULT_FIELDS.map(([, field]) => {
    const v = row[field];
    if (field === 'repeat') return repeatOf(row);
    if (v === undefined || v === null) return null;
    if (field === 'correct') return encode.bool(v as boolean);
    if (field === 'details') return encode.json(storableDetails(v as Record<string, unknown>));
    return FREE_TEXT.has(field) ? encodeText(v as string) : v;
  });
}

/** A stored row back as a ResultRow (SQL NULL is an absent field). */
export function rowFrom(r: Record<string, unknown>, decode: { bool: (v: unknown) => boolean; json: (v: unknown) => Record<string, unknown> }): ResultRow {
  const out: Record<string, unknown> = {};
  for (const [column, field] of RESULT_FIELDS) {
    const v = r[column];
    if (v === null || v === undefined) out[field] = undefined;
    // Repeat 0 reads back absent, so the rows of a run with one answer per item look as they always did.
    else if (field === 'repeat') out[field] = Number(v) || undefined;
    else if (field === 'correct') out[field] = decode.bool(v);
    else if (field === 'details') out[field] = readableDetails(decode.json(v));
    else if (FREE_TEXT.has(field)) out[field] = decodeText(v as string);
    else if (field === 'costUsd' || field === 'judgeCostUsd') out[field] = Number(v);
    else out[field] = v;
  }
  return out as unknown as ResultRow;
}

export function stagedFrom(r: Record<string, unknown>, decode: { bool: (v: unknown) => boolean; json: (v: unknown) => Record<string, unknown> }): StagedScore {
  const n = (v: unknown) => (v === null || v === undefined ? undefined : Number(v));
  return {
    sampleId: String(r.sample_id),
    ...(Number(r.repeat) ? { repeat: Number(r.repeat) } : {}),
    prediction: r.prediction as Prediction,
    correct: decode.bool(r.correct),
    details: r.details === null || r.details === undefined ? undefined : readableDetails(decode.json(r.details)),
    judgeInputTokens: n(r.judge_input_tokens),
    judgeOutputTokens: n(r.judge_output_tokens),
    judgeCostUsd: n(r.judge_cost_usd),
  };
}
