import { costOf, judgementCost, loadPrices, resolvePricing, type Price, type RunPricing } from '../providers/pricing.ts';
import { StoredRunConfigSchema, type StoredRunConfig } from '../runner/config.ts';

/**
 * Schema 5 keeps when each run started and ended (runs.started_at, runs.finished_at); a run stored
 * before gets its creation time and, once ended, the time its last answer was stored.
 *
 * Schema 4 adds the repeat index to the key of every answer (`--samples K` stores K answers per
 * item; rows written before are repeat 0), each store rebuilding its keys.
 *
 * Schema 3 (mmsafe 0.1 stores are schema 2) keeps per row what was sent (prompt, system, the
 * judge's reference) and what it cost (tokens and dollars of the answer and of its judgement) in
 * typed columns, and per run what has been spent. The columns and tables are added by each store;
 * this module computes the values of rows written before them, from what those rows kept in their
 * details and today's price table (or the run's --prices file, where still readable).
 */
export const SCHEMA_VERSION = 5;

/** New result columns, with their SQL types per store. */
export const RESULT_COLUMNS_V3 = [
  ['prompt', 'TEXT', 'TEXT'],
  ['system', 'TEXT', 'TEXT'],
  ['reference', 'TEXT', 'TEXT'],
  ['cached_tokens', 'INTEGER', 'INTEGER'],
  ['reasoning_tokens', 'INTEGER', 'INTEGER'],
  ['cost_usd', 'REAL', 'DOUBLE PRECISION'],
  ['judge_input_tokens', 'INTEGER', 'INTEGER'],
  ['judge_output_tokens', 'INTEGER', 'INTEGER'],
  ['judge_cost_usd', 'REAL', 'DOUBLE PRECISION'],
] as const;

export interface LegacyRun {
  id: string;
  model: string;
  protocol: string;
  config: unknown;
}

export interface LegacyRow {
  sample_id: string;
  input_tokens: number | null;
  output_tokens: number | null;
  details: Record<string, unknown> | null;
}

export interface MigratedRow {
  sample_id: string;
  cached_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd: number | null;
  judge_input_tokens: number | null;
  judge_output_tokens: number | null;
  judge_cost_usd: number | null;
  details: Record<string, unknown> | null;
}

/** Keys schema 2 kept in a row's details that schema 3 keeps in columns. */
const MOVED = ['cached_tokens', 'reasoning_tokens', 'judge_usage'];

function pricesOf(file: unknown): Record<string, Price> {
  try {
    return loadPrices(typeof file === 'string' ? file : undefined);
  } catch {
    // The --prices file of an old run may be gone: the built-in table is the best left.
    return loadPrices();
  }
}

/** The run's configuration at version 1 with the prices its costs were computed with. */
export function migrateRunConfig(run: LegacyRun): { config: StoredRunConfig; pricing: RunPricing } {
  const config = StoredRunConfigSchema.parse(run.config);
  const judge = run.protocol === 'response' ? config.run.judge : undefined;
  const pricing = config.pricing ?? resolvePricing(run.model, judge, pricesOf(config.run.prices));
  return { config: { ...config, pricing }, pricing };
}

/** A schema 2 row's tokens and dollars, as schema 3 columns. */
export function migrateRow(row: LegacyRow, pricing: RunPricing): MigratedRow {
  const details = { ...row.details };
  const num = (v: unknown) => (typeof v === 'number' && Number.isFinite(v) ? v : null);
  const cached = num(details.cached_tokens);
  const reasoning = num(details.reasoning_tokens);
  const judged = details.judge_usage as { input?: unknown; output?: unknown } | undefined;
  for (const k of MOVED) delete details[k];
  const cost = costOf(pricing.model ?? undefined, { inputTokens: row.input_tokens ?? 0, outputTokens: row.output_tokens ?? 0, cachedTokens: cached ?? 0 });
  const judgeIn = judged ? (num(judged.input) ?? 0) : null;
  const judgeOut = judged ? (num(judged.output) ?? 0) : null;
  const judgeCost = pricing.judge !== undefined ? (judgementCost(pricing.judge, { input: judgeIn ?? 0, output: judgeOut ?? 0 }) ?? null) : null;
  return {
    sample_id: row.sample_id,
    cached_tokens: cached,
    reasoning_tokens: reasoning,
    cost_usd: cost ?? null,
    judge_input_tokens: judgeIn,
    judge_output_tokens: judgeOut,
    judge_cost_usd: judgeCost,
    details: Object.keys(details).length ? details : null,
  };
}
