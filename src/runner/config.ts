import { z } from 'zod';
import { DEFAULT_BENCHMARK, defaultProtocol } from '../benchmarks/registry.ts';
import type { ProtocolName } from '../benchmarks/types.ts';

/**
 * `provider:model`; a near miss (`openai/gpt-4o`, `OpenAI:gpt-4o`) is answered with the spelling meant.
 */
function modelSpec(expected: string) {
  return z.string().refine((spec) => /^[a-z][a-z0-9-]*:.+$/.test(spec), {
    error: (issue) => {
      const near = /^([A-Za-z][A-Za-z0-9-]*)[/:](.+)$/.exec(String(issue.input));
      return `${expected}${near ? `; did you mean ${near[1].toLowerCase()}:${near[2]}?` : ''}`;
    },
  });
}

/**
 * Everything needed to run (and later resume) one evaluation. Stored with the run, so it must
 * never hold a secret: keys come from the environment at call time.
 */
/** A protocol as typed to its stored name: `mcqa` (issue 13's name for multiple choice) is `multiple-choice`. */
export function protocolAlias<P extends string>(p: P): Exclude<P, 'mcqa'> | 'multiple-choice' {
  return (p === 'mcqa' ? 'multiple-choice' : p) as Exclude<P, 'mcqa'> | 'multiple-choice';
}

export const RunConfigSchema = z.object({
  /** Case-insensitive as typed (any capitalisation of a registered name); stored in lower case. */
  benchmark: z.string().min(1).transform((s) => s.toLowerCase()).default(DEFAULT_BENCHMARK),
  data: z.string().min(1),
  /** One of the benchmark's subsets; a custom set's are its rows' own. */
  subset: z.string().min(1).optional(),
  /** How the model is asked: the benchmark's own protocol when absent. */
  // `mcqa` is the name issue 13 gives multiple choice; stored as `multiple-choice`.
  protocol: z.enum(['awareness', 'response', 'multiple-choice', 'mcqa']).transform(protocolAlias).optional(),
  /** Judge model for the response protocol, `provider:model`. */
  judge: modelSpec('expected provider:model').optional(),
  judgeBaseURL: z.string().url().optional(),
  /** A JSON file of judge (or prompt) templates by name, used instead of the benchmark's upstream files. */
  judgePrompts: z.string().optional(),
  /** The images directory when not where the benchmark expects it. */
  images: z.string().optional(),
  limit: z.number().int().positive().optional(),
  /** A stratified random sample of this many (every subset represented), drawn with `seed` (default 0). */
  sample: z.number().int().positive().optional(),
  /** Exactly these sample ids. */
  ids: z.array(z.string().min(1)).min(1).optional(),
  /**
   * `--samples K`: ask each item K times (at the temperature given) and store every answer; the
   * summary scores the majority verdict per item and reports the spread between repeats. Absent: 1.
   */
  samples: z.number().int().positive().max(100).optional(),
  model: modelSpec('expected provider:model, e.g. openai:gpt-4o'),
  baseURL: z.string().url().optional(),
  /** Several replicas of one model: requests go to the least busy healthy one. */
  endpoints: z.array(z.object({ url: z.string().url(), limit: z.number().int().positive().optional() })).optional(),
  /** This process's share of the run: samples whose id hashes to `index` modulo `count`. */
  shard: z.object({ index: z.number().int().nonnegative(), count: z.number().int().positive() }).refine((s) => s.index < s.count, 'shard index must be below the count').optional(),
  concurrency: z.number().int().positive().max(4096).default(8),
  /** A rule (strict, paper, final), or `judge:provider:model`: the strict rule, then that model for answers the rule cannot read. */
  extraction: z
    .union([z.enum(['strict', 'paper', 'final']), z.templateLiteral(['judge:', z.string().regex(/^[a-z][a-z0-9-]*:.+$/)])], {
      error: 'expected strict, paper, final or judge:provider:model (e.g. judge:openai:gpt-4o-mini)',
    })
    .default('strict'),
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
  /** Reuse answers to identical requests from any earlier run in the store, and keep new ones for later runs. */
  cache: z.boolean().optional(),
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

/** `--samples K`: how many answers the run asks of each item. */
export function repeatsOf(config: Pick<RunConfig, 'samples'>): number {
  return config.samples ?? 1;
}

/** The protocol a run uses: --protocol, else the one its benchmark is meant to be run with. */
export function protocolName(config: Pick<RunConfig, 'protocol' | 'benchmark'>): ProtocolName {
  return config.protocol ?? defaultProtocol(config.benchmark);
}

const PriceSchema = z.object({ input: z.number().nonnegative(), output: z.number().nonnegative(), cached: z.number().nonnegative().optional() });

const ProblemSchema = z.object({
  id: z.string().optional(),
  where: z.string(),
  kind: z.enum(['missing_image', 'unreadable_image', 'missing_field', 'invalid_row']),
  message: z.string(),
});

const EndpointStatSchema = z.object({ url: z.string(), requests: z.number(), errors: z.number(), benched: z.number().optional(), healthy: z.boolean().optional() });

const ShardInfoSchema = z.object({ index: z.number().int(), count: z.number().int(), total: z.number().int(), problems: z.array(ProblemSchema) });

/** The version of the stored run configuration; the store migrates older ones when it opens. */
export const STORED_CONFIG_VERSION = 1;

/**
 * What a run stores about itself: the settings it was asked to run with (`run`, where the scoring
 * settings `extraction` and `judge` live and nowhere else), what they resolved to on this machine,
 * and what the dataset left out. Read back through this schema, never cast. Unknown keys are kept,
 * so a newer writer's additions survive an older reader's update.
 */
export const StoredRunConfigSchema = z.preprocess(upgradeStoredConfig, z.looseObject({
  version: z.literal(STORED_CONFIG_VERSION),
  run: RunConfigSchema,
  data_source: z.string().optional(),
  /** The model API's settings (base URL, options); never a key. */
  provider: z.record(z.string(), z.unknown()).default({}),
  /** The protocol's generation settings (max tokens, temperature, judge provider settings). */
  protocol: z.record(z.string(), z.unknown()).default({}),
  image_limits: z.record(z.string(), z.unknown()).optional(),
  method: z.record(z.string(), z.unknown()).default({}),
  ablation: z.record(z.string(), z.unknown()).optional(),
  /** Samples of the selection that can be asked (total less the problems). */
  evaluable: z.number().int().nonnegative().optional(),
  problems: z.array(ProblemSchema).default([]),
  /** Prices (USD per million tokens) the stored costs were computed with; null: unknown. */
  pricing: z.object({ model: PriceSchema.nullable(), judge: PriceSchema.nullable().optional() }).optional(),
  /** Per-endpoint request counts, summed over every process that worked on the run. */
  endpoint_stats: z.array(EndpointStatSchema).optional(),
  /** Shards merged into this run by `mmsafe merge`. */
  shards: z.array(ShardInfoSchema).optional(),
  /** `mmsafe score --into`: the run this one is a re-scored copy of. */
  copied_from: z.string().optional(),
  /** Why the run failed (status `failed`): every sample an error, or a fatal error. A resume clears it. */
  failure: z.string().optional(),
}));

/**
 * Before version 1 the scoring settings had two homes: `run` held what was asked and `protocol`
 * what was used (a CoT run scores the final answer whatever --extraction said; a re-judged run has
 * a new judge). Version 1 keeps only what was used, in `run`.
 */
function upgradeStoredConfig(value: unknown): unknown {
  if (!value || typeof value !== 'object' || 'version' in value) return value;
  const { protocol, run, ...rest } = value as { protocol?: Record<string, unknown>; run?: Record<string, unknown> };
  const { extraction, judge, ...protocolSettings } = protocol ?? {};
  const used = { ...(extraction !== undefined ? { extraction } : {}), ...(judge !== undefined ? { judge } : {}) };
  return { ...rest, version: STORED_CONFIG_VERSION, run: { ...run, ...used }, protocol: protocolSettings };
}

export type StoredRunConfig = z.infer<typeof StoredRunConfigSchema>;
export type StoredRunConfigInput = z.input<typeof StoredRunConfigSchema>;
export type StoredPrice = z.infer<typeof PriceSchema>;
