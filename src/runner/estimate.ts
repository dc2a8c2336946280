import type { PromptTemplate } from '../benchmarks/types.ts';
import { createHash } from 'node:crypto';
import { readRegularFileSync } from '../images/read.ts';
import type { LoadedDataset } from '../core/types.ts';
import { promptFor } from '../benchmarks/registry.ts';
import { costOf, loadPrices, priceFor } from '../providers/pricing.ts';
import { protocolName, repeatsOf, type RunConfig } from './config.ts';

export interface RunEstimate {
  samples: number;
  distinct_images: number;
  left_out: number;
  requests: number;
  input_tokens: number;
  output_tokens: number;
  judge_requests: number;
  /** null when a price is unknown. */
  cost_usd: number | null;
}

/** Distinct image contents (several samples often share one picture under different names). */
function distinctImages(dataset: LoadedDataset): number {
  const hashes = new Set<string>();
  for (const s of dataset.samples) {
    if (!s.image?.path) continue;
    try {
      hashes.add(createHash('sha256').update(readRegularFileSync(s.image.path)).digest('hex'));
    } catch {
      hashes.add(`unreadable:${s.image.path}`);
    }
  }
  return hashes.size;
}

/** Rough tokens per image as each API bills a typical photo (about 1 MP). */
const IMAGE_TOKENS: Record<string, number> = { openai: 765, ollama: 765, anthropic: 1300, gemini: 258, baseline: 0 };

/**
 * What a run would send and cost, before anything is spent: text tokens at ~4 characters each,
 * a per-provider figure per image, and typical answer lengths (short for yes/no, longer for free
 * answers). An estimate to decide with, not a quote.
 */
export function estimateRun(config: RunConfig, dataset: LoadedDataset, asked?: PromptTemplate): RunEstimate {
  const kind = config.model.split(':')[0];
  const response = protocolName(config) === 'response';
  const perImage = IMAGE_TOKENS[kind] ?? 765;
  const prompt = asked ?? promptFor(config.benchmark, protocolName(config));
  // `--samples K`: every item is asked, and each answer judged, K times.
  const k = repeatsOf(config);
  let input = 0;
  for (const s of dataset.samples) {
    const text = prompt(s);
    input += (Math.ceil(text.length / 4) + (s.image ? perImage : 0) + 10) * k;
  }
  const n = dataset.samples.length * k;
  const output = n * (response ? 350 : 40);
  const prices = loadPrices(config.prices);
  const modelCost = kind === 'baseline' ? 0 : costOf(priceFor(config.model, prices), { inputTokens: input, outputTokens: output });
  // The judge reads the query, the reference and the answer (text only) and writes a short verdict.
  const judgeCost = response && config.judge ? costOf(priceFor(config.judge, prices), { inputTokens: n * 700, outputTokens: n * 80 }) : 0;
  return {
    samples: dataset.samples.length,
    distinct_images: distinctImages(dataset),
    left_out: dataset.problems.length,
    requests: kind === 'baseline' ? 0 : n,
    input_tokens: input,
    output_tokens: output,
    judge_requests: response ? n : 0,
    cost_usd: modelCost === undefined || judgeCost === undefined ? null : modelCost + judgeCost,
  };
}
