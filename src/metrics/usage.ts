import type { ResultRow } from '../core/types.ts';
import { costOf, type Price } from '../providers/pricing.ts';

export interface UsageSummary {
  /** Includes the cached tokens. */
  input_tokens: number;
  /** Includes the reasoning tokens. */
  output_tokens: number;
  cached_tokens: number;
  reasoning_tokens: number;
  /** null: the price of the model is unknown (never reported as $0). */
  cost_usd: number | null;
  judge_input_tokens?: number;
  judge_output_tokens?: number;
  judge_cost_usd?: number | null;
}

/** Tokens and dollars of a run's stored answers (and their judging). */
export function summarizeUsage(rows: ResultRow[], price: Price | undefined, judgePrice?: Price | undefined, hasJudge = false): UsageSummary {
  let input = 0;
  let output = 0;
  let cached = 0;
  let reasoning = 0;
  let jIn = 0;
  let jOut = 0;
  for (const r of rows) {
    input += r.inputTokens ?? 0;
    output += r.outputTokens ?? 0;
    cached += (r.details?.cached_tokens as number | undefined) ?? 0;
    reasoning += (r.details?.reasoning_tokens as number | undefined) ?? 0;
    const j = r.details?.judge_usage as { input: number; output: number } | undefined;
    if (j) (jIn += j.input), (jOut += j.output);
  }
  const cost = costOf(price, { inputTokens: input, outputTokens: output, cachedTokens: cached });
  const out: UsageSummary = { input_tokens: input, output_tokens: output, cached_tokens: cached, reasoning_tokens: reasoning, cost_usd: cost ?? null };
  if (hasJudge) {
    const jc = costOf(judgePrice, { inputTokens: jIn, outputTokens: jOut });
    Object.assign(out, { judge_input_tokens: jIn, judge_output_tokens: jOut, judge_cost_usd: jc ?? null });
  }
  return out;
}
