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

/**
 * Tokens and dollars of a run's stored answers (and their judging), from the rows' own columns,
 * tallied one row at a time (the store streams them).
 */
export class UsageTally {
  private readonly sums = { input: 0, output: 0, cached: 0, reasoning: 0, cost: 0, judgeInput: 0, judgeOutput: 0, judgeCost: 0 };
  private fromCache = 0;
  /** Whether every row carries a price: how a run stored before prices were recorded tells known from unknown. */
  everyCosted = true;
  everyJudgeCosted = true;

  add(r: ResultRow): void {
    const s = this.sums;
    s.input += r.inputTokens ?? 0;
    s.output += r.outputTokens ?? 0;
    s.cached += r.cachedTokens ?? 0;
    s.reasoning += r.reasoningTokens ?? 0;
    s.cost += r.costUsd ?? 0;
    s.judgeInput += r.judgeInputTokens ?? 0;
    s.judgeOutput += r.judgeOutputTokens ?? 0;
    s.judgeCost += r.judgeCostUsd ?? 0;
    if (r.details?.cached_answer) this.fromCache++;
    if (r.costUsd === undefined) this.everyCosted = false;
    if (r.judgeCostUsd === undefined) this.everyJudgeCosted = false;
  }

  summary(known: PricesKnown): UsageSummary {
    const s = this.sums;
    const out: UsageSummary = { input_tokens: s.input, output_tokens: s.output, cached_tokens: s.cached, reasoning_tokens: s.reasoning, cost_usd: known.model ? s.cost : null };
    if (this.fromCache) out.cached_answers = this.fromCache;
    if (known.judge !== undefined) Object.assign(out, { judge_input_tokens: s.judgeInput, judge_output_tokens: s.judgeOutput, judge_cost_usd: known.judge ? s.judgeCost : null });
    return out;
  }
}

/** Tokens and dollars of rows given as an array. */
export function summarizeUsage(rows: Iterable<ResultRow>, known: PricesKnown): UsageSummary {
  const t = new UsageTally();
  for (const r of rows) t.add(r);
  return t.summary(known);
}
