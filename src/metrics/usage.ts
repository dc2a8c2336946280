import type { ResultRow } from '../core/types.ts';

export interface UsageSummary {
  /** Includes the cached tokens. */
  input_tokens: number;
  /** Includes the reasoning tokens. */
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  /** null: the price of the model is unknown (never reported as $0). */
  cost_usd: number | null;
  /** Answers reused from the cache (`--cache`): they spent no tokens and have no latency. */
  cached_answers?: number;
  judge_input_tokens?: number;
  judge_output_tokens?: number;
  judge_cost_usd?: number | null;
}

/** Whether each price was known when the rows were priced (the run stores which it was). */
export interface PricesKnown {
  model: boolean;
  /** Judged runs only. */
  judge?: boolean;
}

/** Tokens and dollars of a run's stored answers (and their judging), from the rows' own columns. */
export function summarizeUsage(rows: ResultRow[], known: PricesKnown): UsageSummary {
  const sum = (pick: (r: ResultRow) => number | undefined) => rows.reduce((a, r) => a + (pick(r) ?? 0), 0);
  const out: UsageSummary = {
    input_tokens: sum((r) => r.inputTokens),
    output_tokens: sum((r) => r.outputTokens),
    cached_tokens: sum((r) => r.cachedTokens),
    reasoning_tokens: sum((r) => r.reasoningTokens),
    cost_usd: known.model ? sum((r) => r.costUsd) : null,
  };
  const fromCache = rows.filter((r) => r.details?.cached_answer).length;
  if (fromCache) out.cached_answers = fromCache;
  if (known.judge !== undefined) {
    Object.assign(out, { judge_input_tokens: sum((r) => r.judgeInputTokens), judge_output_tokens: sum((r) => r.judgeOutputTokens), judge_cost_usd: known.judge ? sum((r) => r.judgeCostUsd) : null });
  }
  return out;
}
