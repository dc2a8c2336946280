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
  /** The largest log-probability among the candidates (Yes, No and every other returned token), for the plausibility cut. */
  max: number;
  /** Words absent from the top-k, whose log-probability is an upper bound, not a reading. */
  estimated: ('yes' | 'no')[];
  top: { token: string; logprob: number }[];
}

const logsumexp = (xs: number[]) => {
  const m = Math.max(...xs);
  return m === -Infinity ? -Infinity : m + Math.log(xs.reduce((a, x) => a + Math.exp(x - m), 0));
};

// Tokenizers mark a leading space with "Ġ" (byte-level BPE) or "▁" (SentencePiece); some servers
// return those raw instead of decoded, and markdown or punctuation can stick to the word.
const EDGE = /^[\s\u0120\u2581*_"'`([]+|[\s*_"'`)\].,!:;]+$/gu;

/** "Yes", " yes", "YES", "ĠYes", "▁yes", "Yes." all read as the word yes. */
export function wordOf(token: string): 'yes' | 'no' | undefined {
  const w = token.replace(EDGE, '').toLowerCase();
  return w === 'yes' || w === 'no' ? w : undefined;
}

/**
 * Yes and No log-probabilities of the first answer token, summed over their spellings. A word
 * missing from the top-k has at most the smallest returned probability and at most the mass the
 * top-k leaves over; it is taken at that bound (and listed in `estimated`).
 */
export function firstTokenDistribution(logprobs: TokenLogprob[] | undefined): FirstTokenDistribution {
  const first = logprobs?.[0];
  if (!first) throw new ProviderError('invalid_response', 'VCD needs log-probabilities, and the API returned none');
  const top = first.top?.length ? first.top : [{ token: first.token, logprob: first.logprob }];
  const floor = Math.min(...top.map((t) => t.logprob));
  const rest = 1 - top.reduce((a, t) => a + Math.exp(t.logprob), 0);
  // A top-k that already holds all the mass leaves ~0 for a missing word; 1e-9 keeps the arithmetic finite.
  const bound = Math.min(floor, Math.log(Math.max(rest, 1e-9)));
  const estimated: ('yes' | 'no')[] = [];
  const of = (word: 'yes' | 'no') => {
    const hits = top.filter((t) => wordOf(t.token) === word).map((t) => t.logprob);
    if (hits.length) return logsumexp(hits);
    estimated.push(word);
    return bound;
  };
  const yes = of('yes');
  const no = of('no');
  const others = top.filter((t) => wordOf(t.token) === undefined).map((t) => t.logprob);
  return { yes, no, max: Math.max(yes, no, ...others), estimated, top };
}

/**
 * Visual contrastive decoding on one token: score(y) = (1 + alpha) * logp_orig(y) - alpha * logp_dist(y),
 * over the candidates that pass the adaptive plausibility cut p_orig(y) >= beta * max p_orig.
 */
export function vcdDecide(orig: FirstTokenDistribution, dist: FirstTokenDistribution, alpha: number, beta: number) {
  const cut = orig.max + Math.log(beta);
  const plausible = (['yes', 'no'] as const).filter((w) => orig[w] >= cut);
  const score = (w: 'yes' | 'no') => (1 + alpha) * orig[w] - alpha * dist[w];
  const scores = { yes: score('yes'), no: score('no') };
  let answer: 'yes' | 'no';
  if (plausible.length === 2) answer = scores.yes >= scores.no ? 'yes' : 'no';
  else if (plausible.length === 1) answer = plausible[0];
  // Neither word is plausible (the model wanted to say something else): contrasting two
  // implausible tokens is noise, so the original preference decides.
  else answer = orig.yes >= orig.no ? 'yes' : 'no';
  return { answer, scores, plausible };
}

/**
 * Asks the model one tiny question with top logprobs before a VCD run: an OpenAI-compatible server
 * may accept the parameters and return nothing, which should stop the run before it starts, not
 * fail every sample. Only a definite answer (no logprobs, or the parameters refused) is an error.
 */
export async function checkLogprobs(provider: Provider): Promise<string | undefined> {
  let res: GenerateResponse;
  try {
    res = await provider.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Is water wet? Answer Yes or No.' }] }], temperature: 0, maxTokens: 1, topLogprobs: TOP_LOGPROBS });
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'bad_request') return `${provider.id} refused a request for log-probabilities (${error.message})`;
    return undefined;
  }
  const first = res.logprobs?.[0];
  if (!first) return `${provider.id} answered without log-probabilities`;
  if ((first.top?.length ?? 0) < 2) return `${provider.id} returned no top log-probabilities (only the chosen token)`;
  return undefined;
}

/** OpenAI's and vLLM's default maximum. */
export const TOP_LOGPROBS = 20;

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
    const distorted = await diffuse(imagePart.image, this.options.noiseStep, String(this.options.seed), this.imageLimits.maxBytes);
    const swap = (req: GenerateRequest): GenerateRequest => ({
      ...req,
      messages: req.messages.map((m, i) => (i === req.messages.length - 1 ? { ...m, content: m.content.map((p) => (p === imagePart ? { type: 'image' as const, image: distorted } : p)) } : m)),
    });
    const ask = { ...request, topLogprobs: TOP_LOGPROBS, maxTokens: 1 };
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
      details: { vcd: { original: orig, distorted: dist, scores: decision.scores, plausible: decision.plausible, answer: decision.answer, distorted_sha256: distorted.sha256 } },
    };
  }
}
