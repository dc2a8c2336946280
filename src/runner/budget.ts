import { randomUUID } from 'node:crypto';
import type { GenerateRequest } from '../core/types.ts';
import { costOf, judgementCost, type RunPricing } from '../providers/pricing.ts';
import type { Store } from '../store/store.ts';

/** Tokens an image can cost at most, over the APIs we price (Anthropic's largest is ~1,600). */
const IMAGE_TOKENS_MAX = 1600;
/** What a judgement can cost at most: the rubric, question, reference and answer in; a verdict out, asked twice. */
const JUDGE_TOKENS_MAX = { input: 2 * 3000, output: 2 * 400 };

/**
 * The most one request can cost, from what is about to be sent: its text at ~4 characters a token
 * (generously rounded up), the most an image can cost, the whole output allowance, and a judgement.
 * Reserved before sending, so processes sharing the run's budget cannot together overshoot it.
 */
export function worstCaseCost(request: GenerateRequest, pricing: RunPricing): number {
  let chars = request.system?.length ?? 0;
  let images = 0;
  for (const m of request.messages) for (const p of m.content) p.type === 'text' ? (chars += p.text.length) : images++;
  const input = Math.ceil(chars / 3) + 50 + images * IMAGE_TOKENS_MAX;
  const answer = costOf(pricing.model ?? undefined, { inputTokens: input, outputTokens: request.maxTokens ?? 4096 }) ?? 0;
  const judge = pricing.judge !== undefined ? (judgementCost(pricing.judge, JUDGE_TOKENS_MAX) ?? 0) : 0;
  return answer + judge;
}

/**
 * `--max-cost` as a budget of the run on its store, whatever the number of processes: each request
 * holds its worst case before it is sent and gives back the difference once its cost is known.
 */
export class RunBudget {
  /** Holds of this process not yet settled, and who waits for one of them to settle. */
  private active = 0;
  private waiters: (() => void)[] = [];

  constructor(
    private readonly store: Store,
    private readonly runId: string,
    readonly limitUsd: number,
    private readonly pricing: RunPricing,
    /** How long a hold outlives a process that died holding it. */
    private readonly holdMs: number,
  ) {}

  /**
   * A hold for this request, or undefined when the run cannot afford it. While this process has
   * requests in flight, a refusal waits for them to settle (they usually cost less than held)
   * and asks again; with none in flight, the budget is spent.
   */
  async reserve(request: GenerateRequest): Promise<string | undefined> {
    const amount = worstCaseCost(request, this.pricing);
    for (;;) {
      const id = randomUUID();
      if (await this.store.reserveBudget(this.runId, id, amount, this.limitUsd, this.holdMs)) {
        this.active++;
        return id;
      }
      if (this.active === 0) return undefined;
      await new Promise<void>((resolve) => this.waiters.push(resolve));
    }
  }

  async settle(holdId: string, spentUsd: number): Promise<void> {
    try {
      await this.store.settleBudget(this.runId, holdId, spentUsd);
    } finally {
      this.active--;
      for (const wake of this.waiters.splice(0)) wake();
    }
  }
}
