import { readFileSync } from 'node:fs';
import { z } from 'zod';

/** US dollars per million tokens. */
export interface Price {
  input: number;
  output: number;
  /** Cached input tokens, where the API bills them differently. */
  cached?: number;
}

/**
 * List prices per million tokens (USD) of common vision models, as published by their vendors;
 * prices change, so users override them with `--prices FILE`. A model not listed has an unknown
 * price: reports say "unknown", never $0. A listed name also prices its dated snapshots and
 * version aliases (gpt-4o-2024-08-06, claude-opus-4-20250514, gemini-2.0-flash-001), but not a
 * different model that merely starts the same way (claude-opus-4-5, gemini-2.5-flash-lite,
 * o3-pro): those are priced differently, and a wrong price is worse than an unknown one.
 */
export const DEFAULT_PRICES: Record<string, Price> = {
  'openai:gpt-4o-mini': { input: 0.15, output: 0.6, cached: 0.075 },
  'openai:gpt-4o': { input: 2.5, output: 10, cached: 1.25 },
  'openai:gpt-4.1-nano': { input: 0.1, output: 0.4, cached: 0.025 },
  'openai:gpt-4.1-mini': { input: 0.4, output: 1.6, cached: 0.1 },
  'openai:gpt-4.1': { input: 2, output: 8, cached: 0.5 },
  'openai:o4-mini': { input: 1.1, output: 4.4, cached: 0.275 },
  'openai:o3': { input: 2, output: 8, cached: 0.5 },
  'anthropic:claude-3-5-haiku': { input: 0.8, output: 4, cached: 0.08 },
  'anthropic:claude-3-7-sonnet': { input: 3, output: 15, cached: 0.3 },
  'anthropic:claude-sonnet-4': { input: 3, output: 15, cached: 0.3 },
  'anthropic:claude-opus-4': { input: 15, output: 75, cached: 1.5 },
  'anthropic:claude-opus-4-1': { input: 15, output: 75, cached: 1.5 },
  'anthropic:claude-opus-4-5': { input: 5, output: 25, cached: 0.5 },
  'anthropic:claude-sonnet-4-5': { input: 3, output: 15, cached: 0.3 },
  'anthropic:claude-haiku-4-5': { input: 1, output: 5, cached: 0.1 },
  'gemini:gemini-2.0-flash': { input: 0.1, output: 0.4, cached: 0.025 },
  'gemini:gemini-2.5-flash': { input: 0.3, output: 2.5, cached: 0.075 },
  'gemini:gemini-2.5-pro': { input: 1.25, output: 10, cached: 0.31 },
};

const PriceFile = z.record(z.string(), z.object({ input: z.number().nonnegative(), output: z.number().nonnegative(), cached: z.number().nonnegative().optional() }));

export function loadPrices(file?: string): Record<string, Price> {
  if (!file) return DEFAULT_PRICES;
  let parsed;
  try {
    parsed = PriceFile.safeParse(JSON.parse(readFileSync(file, 'utf8')));
  } catch (error) {
    throw new Error(`${file}: cannot read prices (${(error as Error).message})`);
  }
  if (!parsed.success) throw new Error(`${file}: expected {"provider:model": {"input": USD per 1M, "output": USD per 1M}}: ${parsed.error.issues[0]?.message}`);
  return { ...DEFAULT_PRICES, ...parsed.data };
}

/** What may follow a listed name and still be the same model: a date, a version number, `-latest`, Anthropic's `-0` alias. */
const SNAPSHOT = /^(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{3}|-0|-latest)$/;

/** The price of a model, or undefined when unknown. Baselines cost nothing, by construction. */
export function priceFor(model: string, prices: Record<string, Price> = DEFAULT_PRICES): Price | undefined {
  if (model.startsWith('baseline:')) return { input: 0, output: 0 };
  if (prices[model]) return prices[model];
  const key = Object.keys(prices)
    .filter((k) => model.startsWith(k) && SNAPSHOT.test(model.slice(k.length)))
    .sort((a, b) => b.length - a.length)[0];
  return key ? prices[key] : undefined;
}

export function costOf(price: Price | undefined, usage: { inputTokens?: number; outputTokens?: number; cachedTokens?: number }): number | undefined {
  if (!price) return undefined;
  const cached = usage.cachedTokens ?? 0;
  const fresh = Math.max(0, (usage.inputTokens ?? 0) - cached);
  return (fresh * price.input + cached * (price.cached ?? price.input) + (usage.outputTokens ?? 0) * price.output) / 1e6;
}

/** The prices a run's costs are computed with, kept in its stored configuration; null: unknown. */
export interface RunPricing {
  model: Price | null;
  /** Judged runs only. */
  judge?: Price | null;
}

export function resolvePricing(model: string, judge: string | undefined, prices: Record<string, Price>): RunPricing {
  return { model: priceFor(model, prices) ?? null, ...(judge ? { judge: priceFor(judge, prices) ?? null } : {}) };
}

/** Dollars of one judgement (input and output tokens); undefined when the judge's price is unknown. */
export function judgementCost(price: Price | null | undefined, usage: { input: number; output: number }): number | undefined {
  return costOf(price ?? undefined, { inputTokens: usage.input, outputTokens: usage.output });
}
