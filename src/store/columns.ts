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

/** Stored for good (resume skips it): an answer, or a content-policy block, the API's final word on a sample. */
export const COMPLETED_WHERE = "(status = 'ok' OR error_kind = 'content_policy')";

/** Rows per page when a run's rows are streamed (`Store.scanResults`): small enough that a page dies young (garbage the fast collector takes), not promoted. */
export const SCAN_PAGE = 500;

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

type Decode = { bool: (v: unknown) => boolean; json: (v: unknown) => Record<string, unknown> };

/** How one stored column becomes its ResultRow field (the value is never SQL NULL here). */
function decoderOf(field: keyof ResultRow, decode: Decode): (v: unknown) => unknown {
  // Repeat 0 reads back absent, so the rows of a run with one answer per item look as they always did.
  if (field === 'repeat') return (v) => Number(v) || undefined;
  if (field === 'correct') return decode.bool;
  if (field === 'details') return (v) => readableDetails(decode.json(v));
  if (FREE_TEXT.has(field)) return (v) => decodeText(v as string);
  if (field === 'costUsd' || field === 'judgeCostUsd') return Number;
  return (v) => v;
}

const FIELD_OF = new Map<string, keyof ResultRow>(RESULT_FIELDS);

/**
 * Reads rows given as arrays of `columns` (better-sqlite3's raw mode): the decoders are chosen once,
 * not per row, and no keyed object per row is built on the way; a scan of half a million rows
 * spends half its time there otherwise, and keeps the garbage collector busy.
 */
export function rowReader(columns: readonly string[], decode: Decode): (values: unknown[]) => ResultRow {
  const parts = columns.map((c) => {
    const field = FIELD_OF.get(c);
    if (!field) throw new Error(`not a result column: ${c}`);
    return { field, read: decoderOf(field, decode) };
  });
  return (values) => {
    const out: Record<string, unknown> = {};
    for (let i = 0; i < parts.length; i++) {
      const v = values[i];
      out[parts[i].field] = v === null || v === undefined ? undefined : parts[i].read(v);
    }
    return out as unknown as ResultRow;
  };
}

/** Per store's decode: every column with its field and decoder, chosen once rather than per row. */
const decodersOf = new WeakMap<Decode, { column: string; field: keyof ResultRow; read: (v: unknown) => unknown }[]>();

/** A stored row back as a ResultRow (SQL NULL is an absent field). */
export function rowFrom(r: Record<string, unknown>, decode: Decode): ResultRow {
  let parts = decodersOf.get(decode);
  if (!parts) decodersOf.set(decode, (parts = RESULT_FIELDS.map(([column, field]) => ({ column, field, read: decoderOf(field, decode) }))));
  const out: Record<string, unknown> = {};
  for (const { column, field, read } of parts) {
    const v = r[column];
    out[field] = v === null || v === undefined ? undefined : read(v);
  }
  return out as unknown as ResultRow;
}

export function stagedFrom(r: Record<string, unknown>, decode: Decode): StagedScore {
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
