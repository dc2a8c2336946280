import { createHash } from 'node:crypto';
import type { ContentPart, GenerateRequest, GenerateResponse, Provider } from '../core/types.ts';

/** Where cached answers live: a table of the run store, shared by every run in it. */
export interface AnswerCacheStore {
  getCachedAnswer(key: string): Promise<GenerateResponse | undefined>;
  putCachedAnswer(key: string, model: string, answer: GenerateResponse): Promise<void>;
}

/** Marks a stored row whose answer came from the cache: no tokens spent, no latency measured. */
export const CACHED_ANSWER = 'cached_answer';

/**
 * The identity of a request: the model, every message exactly (images by the hash of the bytes
 * sent), the system prompt, the generation settings, the provider options and how the request
 * was built (few-shot ids, caption), and which of an item's repeated answers it is. Any difference is a different key, so a cached answer is
 * only ever reused for the very request that produced it. The API address is not part of it:
 * the same model behind another URL (a replica) gives the same answer.
 */
export function answerCacheKey(model: string, request: GenerateRequest, scope: Record<string, unknown> = {}): string {
  const part = (p: ContentPart) => (p.type === 'text' ? { text: p.text } : { image: p.image.sha256, mime: p.image.mime });
  const identity = {
    v: 1,
    model,
    scope,
    system: request.system ?? null,
    messages: request.messages.map((m) => ({ role: m.role, content: m.content.map(part) })),
    temperature: request.temperature ?? null,
    maxTokens: request.maxTokens ?? null,
    seed: request.seed ?? null,
    topLogprobs: request.topLogprobs ?? null,
    extra: request.extra ?? null,
    jsonSchema: request.jsonSchema ?? null,
    meta: request.meta ?? null,
    // `--samples K`: repeat r of a request reuses only an earlier repeat r, so K cached answers stay K
    // answers. Absent for the first, so keys written before repeats existed still match.
    ...(request.repeat ? { repeat: request.repeat } : {}),
  };
  return createHash('sha256').update(canonicalJson(identity)).digest('hex');
}

/** JSON with object keys sorted, so the same settings in another order hash the same. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).filter(([, v]) => v !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

/**
 * `--cache`: the provider answers an identical request from the store when any earlier run (in
 * this database) asked it, and stores every new answer for later runs. A cached answer carries no
 * token usage (nothing was spent on it) and is marked, so the runner stores no latency for it.
 */
export function withAnswerCache(inner: Provider, cache: AnswerCacheStore, scope: Record<string, unknown> = {}): Provider & { cacheStats: { hits: number; misses: number } } {
  const cacheStats = { hits: 0, misses: 0 };
  return {
    id: inner.id,
    imageLimits: inner.imageLimits,
    needsImages: inner.needsImages,
    supportsLogprobs: inner.supportsLogprobs,
    cacheStats,
    describe: () => inner.describe(),
    ...(inner.warmup ? { warmup: () => inner.warmup!() } : {}),
    async generate(request, options) {
      const key = answerCacheKey(inner.id, request, scope);
      const hit = await cache.getCachedAnswer(key);
      if (hit) {
        cacheStats.hits++;
        return { text: hit.text, finishReason: hit.finishReason, logprobs: hit.logprobs, model: hit.model, details: { ...hit.details, [CACHED_ANSWER]: true } };
      }
      cacheStats.misses++;
      const answer = await inner.generate(request, options);
      await cache.putCachedAnswer(key, inner.id, answer);
      return answer;
    },
  };
}
