import { ProviderError, type ContentPart, type GenerateOptions, type GenerateRequest, type GenerateResponse, type Provider, type TokenLogprob } from '../core/types.ts';
import { diffuse } from './diffusion-noise.ts';

export interface VcdOptions {
  alpha: number;
  beta: number;
  noiseStep: number;
  seed: number;
}

export interface FirstTokenDistribution {
  yes: number;
  no: number;
  /** The largest log-probability among the returned top tokens (for the plausibility cut). */
  max: number;
  top: { token: string; logprob: number }[];
}

const logsumexp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m === -Infinity ? -Infinity : m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
};

/**
 * Yes and No log-probabilities of the first answer token, summed over spellings ("Yes", " yes",
 * "YES"). A word missing from the top-k is bounded above by the smallest returned log-probability,
 * which is what it is taken as.
 */
export function firstTokenDistribution(logprobs: TokenLogprob[] | undefined): FirstTokenDistribution {
  const first = logprobs?.[0];
  if (!first) throw new ProviderError('invalid_response', 'VCD needs log-probabilities, and the API returned none');
  const top = first.top?.length ? first.top : [{ token: first.token, logprob: first.logprob }];
  const floor = Math.min(...top.map((t) => t.logprob));
  const of = (word: string) => {
    const hits = top.filter((t) => t.token.trim().toLowerCase() === word).map((t) => t.logprob);
    return hits.length ? logsumexp(hits) : floor;
  };
  return { yes: of('yes'), no: of('no'), max: Math.max(...top.map((t) => t.logprob)), top };
}

/**
 * Visual contrastive decoding on one token: score(y) = (1 + alpha) * logp_orig(y) - alpha * logp_dist(y),
 * over the candidates that pass the adaptive plausibility cut p_orig(y) >= beta * max p_orig.
 */
export function vcdDecide(orig: FirstTokenDistribution, dist: FirstTokenDistribution, alpha: number, beta: number) {
  const cut = orig.max + Math.log(beta);
  const candidates = (['yes', 'no'] as const).filter((w) => orig[w] >= cut);
  const score = (w: 'yes' | 'no') => (1 + alpha) * orig[w] - alpha * dist[w];
  const scores = { yes: score('yes'), no: score('no') };
  // If neither word is plausible the model said something else: keep its own preference.
  const pool = candidates.length ? candidates : (['yes', 'no'] as const);
  const answer = pool.reduce((best, w) => (scores[w] > scores[best] ? w : best), pool[0]);
  return { answer, scores, plausible: candidates };
}

/**
 * VCD as a provider wrapper: every question is asked twice, with the image and with a diffused
 * copy, and the first-token distributions are combined. Needs an API that returns logprobs.
 */
export class VcdProvider implements Provider {
  readonly id: string;
  readonly imageLimits;
  readonly needsImages = true;
  readonly supportsLogprobs = true;

  constructor(
    private readonly base: Provider,
    private readonly options: VcdOptions,
  ) {
    this.id = base.id;
    this.imageLimits = base.imageLimits;
  }

  describe(): Record<string, unknown> {
    return { ...this.base.describe(), vcd: this.options };
  }

  warmup() {
    return this.base.warmup?.() ?? Promise.resolve();
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResponse> {
    const last = request.messages.at(-1);
    const imagePart = last?.content.find((p): p is Extract<ContentPart, { type: 'image' }> => p.type === 'image');
    if (!imagePart) throw new ProviderError('bad_request', 'VCD contrasts the answer with and without a clear image; this sample sends no image');
    const distorted = await diffuse(imagePart.image, this.options.noiseStep, String(this.options.seed));
    const swap = (req: GenerateRequest): GenerateRequest => ({
      ...req,
      messages: req.messages.map((m, i) => (i === req.messages.length - 1 ? { ...m, content: m.content.map((p) => (p === imagePart ? { type: 'image' as const, image: distorted } : p)) } : m)),
    });
    const ask = { ...request, topLogprobs: 20, maxTokens: 1 };
    const [a, b] = await Promise.all([this.base.generate(ask, options), this.base.generate(swap(ask), options)]);
    if (!a.logprobs?.length || !b.logprobs?.length) {
      throw new ProviderError('bad_request', `${this.id} returned no log-probabilities: VCD needs an API that does (OpenAI, vLLM)`);
    }
    const orig = firstTokenDistribution(a.logprobs);
    const dist = firstTokenDistribution(b.logprobs);
    const decision = vcdDecide(orig, dist, this.options.alpha, this.options.beta);
    return {
      text: decision.answer === 'yes' ? 'Yes' : 'No',
      finishReason: 'stop',
      model: a.model,
      usage: { inputTokens: (a.usage?.inputTokens ?? 0) + (b.usage?.inputTokens ?? 0), outputTokens: (a.usage?.outputTokens ?? 0) + (b.usage?.outputTokens ?? 0) },
      details: { vcd: { original: orig, distorted: dist, scores: decision.scores, plausible: decision.plausible, distorted_sha256: distorted.sha256 } },
    };
  }
}
