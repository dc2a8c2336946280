import type { PromptTemplate, ProtocolName } from '../benchmarks/types.ts';
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import type { ImageLimits, Provider, Sample } from '../core/types.ts';
import type { ImageCache } from '../images/cache.ts';
import type { ExtractionRule } from '../scoring/awareness.ts';
import type { Store } from '../store/store.ts';
import type { RetryPolicy } from '../runner/backoff.ts';
import { blankImage, captionAblation, noiseImage, textOnly, typographic, type Ablation } from './ablations.ts';
import { fewShot } from './few-shot.ts';
import { loadMethodPrompts } from './prompts.ts';
import { withQuestion, questionOf, withSystem, type RequestTransform } from './transform.ts';
import { checkLogprobs, TOP_LOGPROBS, VcdProvider } from './vcd.ts';

export const METHOD_NAMES = ['safety-prompt', 'fusion-prompt', 'cot', 'few-shot:K', 'vcd'] as const;

export class MethodError extends Error {}

// The file can change between runs; its hash says which examples a stored run really saw.
const fileHash = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

export interface MethodOptions {
  alpha: number;
  beta: number;
  noiseStep: number;
  seed: number;
  shots?: string;
  prompts?: string;
}

export interface MethodSetup {
  transforms: RequestTransform[];
  provider: Provider;
  /** CoT answers end with their verdict: score the final Yes/No. */
  extraction?: ExtractionRule;
  /** Everything that defines the method, stored with the run. */
  describe: Record<string, unknown>;
}

export interface MethodContext {
  protocol: ProtocolName;
  provider: Provider;
  images: ImageCache;
  /** Where few-shot examples come from when no --shots file is given. */
  pool: () => Promise<Sample[]>;
  loadShots: (file: string) => Promise<Sample[]>;
  /** The benchmark's question for an item, as the run asks it (few-shot examples are asked the same way). */
  prompt: PromptTemplate;
}

/** Parses and checks a method before any request is sent; unknown or unusable methods are a usage error. */
export async function setupMethod(spec: string | undefined, options: MethodOptions, ctx: MethodContext): Promise<MethodSetup> {
  if (!spec) return { transforms: [], provider: ctx.provider, describe: {} };
  const prompts = loadMethodPrompts(options.prompts);
  if (spec === 'safety-prompt') return { transforms: [(r) => withSystem(r, prompts['safety-prompt'])], provider: ctx.provider, describe: { method: spec, system: prompts['safety-prompt'] } };
  if (spec === 'fusion-prompt') {
    // Put with the question, not only in a system prompt: some open models ignore system prompts.
    return { transforms: [(r) => withQuestion(r, `${prompts['fusion-prompt']}\n\n${questionOf(r)}`)], provider: ctx.provider, describe: { method: spec, instruction: prompts['fusion-prompt'] } };
  }
  if (spec === 'cot') {
    if (ctx.protocol === 'multiple-choice') throw new MethodError('cot asks for a Yes/No or a free answer: not for multiple-choice questions');
    const text = ctx.protocol === 'awareness' ? prompts.cot : prompts['cot-response'];
    return { transforms: [(r) => ({ ...withQuestion(r, `${questionOf(r)}\n\n${text}`), maxTokens: Math.max(r.maxTokens ?? 0, 1024) })], provider: ctx.provider, extraction: ctx.protocol === 'awareness' ? 'final' : undefined, describe: { method: spec, instruction: text } };
  }
  const fs = /^few-shot:(\d+)$/.exec(spec);
  if (fs) {
    const k = Number(fs[1]);
    if (k < 1 || k > 32) throw new MethodError('few-shot:K takes K from 1 to 32');
    if (ctx.protocol !== 'awareness') throw new MethodError('few-shot examples are Yes/No answers: use them with the awareness protocol');
    const pool = options.shots ? await ctx.loadShots(options.shots) : await ctx.pool();
    if (pool.length <= k) throw new MethodError(`few-shot:${k} needs more than ${k} examples to draw from; the pool has ${pool.length}`);
    return { transforms: [fewShot(pool, k, options.seed, ctx.images, ctx.provider.needsImages, ctx.prompt)], provider: ctx.provider, describe: { method: spec, k, seed: options.seed, shots_from: options.shots ?? 'benchmark', ...(options.shots ? { shots_sha256: fileHash(options.shots) } : {}), pool_size: pool.length } };
  }
  if (spec === 'vcd') {
    if (ctx.protocol !== 'awareness') throw new MethodError('vcd decides between Yes and No on the first token: use it with the awareness protocol');
    if (!ctx.provider.supportsLogprobs) throw new MethodError(`vcd needs token log-probabilities, which ${ctx.provider.id} does not return; use an OpenAI-compatible server (vLLM, OpenAI) or Gemini`);
    const unusable = await checkLogprobs(ctx.provider);
    if (unusable) throw new MethodError(`vcd needs token log-probabilities: ${unusable}`);
    const { alpha, beta, noiseStep, seed } = options;
    return {
      transforms: [],
      provider: new VcdProvider(ctx.provider, { alpha, beta, noiseStep, seed }),
      describe: { method: spec, alpha, beta, noise_step: noiseStep, schedule: 'DDPM linear 1e-4..0.02, 1000 steps', seed, top_logprobs: TOP_LOGPROBS, decided_on: 'first answer token' },
    };
  }
  throw new MethodError(`unknown method "${spec}"; known: ${METHOD_NAMES.join(', ')} (see \`mmsafe methods\`)`);
}

export function setupAblation(name: Ablation | undefined, ctx: { protocol: ProtocolName; store: Store; captioner?: Provider; limits?: Pick<ImageLimits, 'maxBytes' | 'accepts'>; retry?: RetryPolicy }): RequestTransform | undefined {
  switch (name) {
    case undefined:
      return undefined;
    case 'text-only':
      return textOnly;
    case 'blank-image':
      return blankImage;
    case 'noise-image':
      return noiseImage(ctx.limits);
    case 'caption':
      if (!ctx.captioner) throw new MethodError('--ablation caption needs --captioner provider:model (the model that writes the captions)');
      return captionAblation(ctx.captioner, ctx.store, ctx.retry);
    case 'typographic':
      if (ctx.protocol === 'multiple-choice') throw new MethodError('the typographic ablation rewrites a yes/no or free-answer question, not a multiple-choice one');
      return typographic(ctx.protocol);
  }
}
