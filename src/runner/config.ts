import { z } from 'zod';

/**
 * Everything needed to run (and later resume) one evaluation. Stored with the run, so it must
 * never hold a secret: keys come from the environment at call time.
 */
export const RunConfigSchema = z.object({
  benchmark: z.string().min(1).default('mmsafeaware'),
  data: z.string().min(1),
  /** MMSafeAware: typical|attack|oversafe; SaLAD: safe|unsafe; custom: the rows' own subsets. */
  subset: z.string().min(1).optional(),
  /** How the model is asked: the benchmark's own protocol when absent. */
  protocol: z.enum(['awareness', 'response']).optional(),
  /** Judge model for the response protocol, `provider:model`. */
  judge: z.string().regex(/^[a-z][a-z0-9-]*:.+$/, 'expected provider:model').optional(),
  judgeBaseURL: z.string().url().optional(),
  /** SaLAD: images directory when not `<data>/images`. */
  images: z.string().optional(),
  limit: z.number().int().positive().optional(),
  model: z.string().regex(/^[a-z][a-z0-9-]*:.+$/, 'expected provider:model, e.g. openai:gpt-4o'),
  baseURL: z.string().url().optional(),
  /** Several replicas of one model: requests go to the least busy healthy one. */
  endpoints: z.array(z.object({ url: z.string().url(), limit: z.number().int().positive().optional() })).optional(),
  /** This process's share of the run: samples whose id hashes to `index` modulo `count`. */
  shard: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).refine((s) => s.index < s.count, 'shard index must be below the count').optional(),
  concurrency: z.number().int().positive().max(4096).default(8),
  extraction: z.enum(['strict', 'paper', 'final']).default('strict'),
  /** Output tokens per answer; each protocol has its own default (awareness 256, response 1024). */
  maxTokens: z.number().int().positive().optional(),
  temperature: z.number().min(0).max(2).default(0),
  seed: z.number().int().optional(),
  system: z.string().optional(),
  timeoutMs: z.number().int().positive().default(120_000),
  maxAttempts: z.number().int().positive().max(50).default(6),
  /** First back-off delay; doubles per attempt (with jitter) up to 30 s. */
  retryBaseMs: z.number().int().nonnegative().default(500),
  imageMaxSide: z.number().int().positive().optional(),
  imageMaxBytes: z.number().int().positive().optional(),
  providerOptions: z.record(z.string(), z.unknown()).optional(),
  /** Stop cleanly (resumable) once the run has spent this many US dollars in one process. */
  maxCost: z.number().positive().optional(),
  /** JSON file of prices overriding the built-in table. */
  prices: z.string().optional(),
  /** A mitigation method: safety-prompt, fusion-prompt, cot, few-shot:K, vcd. */
  method: z.string().optional(),
  /** Method parameters (VCD alpha/beta/noise step, few-shot seed and shots file, prompts file). */
  methodOptions: z
    .object({
      alpha: z.number().nonnegative().default(1),
      beta: z.number().min(0).max(1).default(0.1),
      noiseStep: z.number().int().min(0).max(999).default(500),
      seed: z.number().int().default(0),
      shots: z.string().optional(),
      prompts: z.string().optional(),
    })
    .default({ alpha: 1, beta: 0.1, noiseStep: 500, seed: 0 }),
  /** An ablation: text-only, blank-image, noise-image, caption, typographic. */
  ablation: z.enum(['text-only', 'blank-image', 'noise-image', 'caption', 'typographic']).optional(),
  /** The captioning model for the caption ablation, `provider:model`. */
  captioner: z.string().optional(),
  /** The captioner's API base URL, when not the provider's default. */
  captionerBaseURL: z.string().url().optional(),
  /** Evaluate only one side of the deterministic train/test split (after reasoning fine-tuning). */
  split: z.object({ part: z.enum(['train', 'test']), ratio: z.number().gt(0).lt(1).default(0.7), seed: z.number().int().default(0) }).optional(),
});

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;

/** The protocol a benchmark is meant to be run with, unless --protocol says otherwise. */
export const DEFAULT_PROTOCOL: Record<string, 'awareness' | 'response'> = { salad: 'response' };

export function protocolName(config: Pick<RunConfig, 'protocol' | 'benchmark'>): 'awareness' | 'response' {
  return config.protocol ?? DEFAULT_PROTOCOL[config.benchmark] ?? 'awareness';
}
