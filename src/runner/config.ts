import { z } from 'zod';

/**
 * Everything needed to run (and later resume) one evaluation. Stored with the run, so it must
 * never hold a secret: keys come from the environment at call time.
 */
export const RunConfigSchema = z.object({
  benchmark: z.string().min(1),
  data: z.string().min(1),
  subset: z.enum(['typical', 'attack', 'oversafe']).optional(),
  limit: z.number().int().positive().optional(),
  model: z.string().regex(/^[a-z][a-z0-9-]*:.+$/, 'expected provider:model, e.g. openai:gpt-4o'),
  baseURL: z.string().url().optional(),
  concurrency: z.number().int().positive().max(4096).default(8),
  extraction: z.enum(['strict', 'paper']).default('strict'),
  maxTokens: z.number().int().positive().default(256),
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
});

export type RunConfig = z.infer<typeof RunConfigSchema>;
export type RunConfigInput = z.input<typeof RunConfigSchema>;
