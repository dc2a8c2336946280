import type { GenerateContentResponse, GoogleGenAI, Part } from '@google/genai';
import { ProviderError, type GenerateOptions, type GenerateRequest, type GenerateResponse, type ImageLimits, type Provider } from '../core/types.ts';
import { withDeadline } from './deadline.ts';
import { classifyHttpError, connectionCause, parseRetryInfo, scrubbed, unparsableReply } from './errors.ts';
import { camelCase } from './options.ts';

export interface GeminiProviderOptions {
  model: string;
  baseURL?: string;
  apiKey?: string;
  timeoutMs?: number;
  seed?: number;
  extra?: Record<string, unknown>;
}

/** Fields of the generateContent body that sit beside `generationConfig` rather than inside it. */
const TOP_LEVEL = new Set(['safetySettings', 'tools', 'toolConfig', 'cachedContent', 'labels']);

/**
 * `--provider-option` for Gemini, placed where the REST body has it: `safetySettings` at the top,
 * sampling and thinking settings (`top_p`, `topK`, `thinkingConfig`) in `generationConfig`. Names
 * are camel-cased, so `top_p` and `topP` mean the same. The SDK drops config keys it does not know,
 * so these go in as extra body, merged over what the SDK builds. `null` removes a setting instead.
 */
export function geminiOptions(...extras: (Record<string, unknown> | undefined)[]): { body: Record<string, unknown>; remove: Set<string> } {
  const body: Record<string, unknown> = {};
  const generationConfig: Record<string, unknown> = {};
  const remove = new Set<string>();
  for (const extra of extras) {
    for (const [raw, value] of Object.entries(extra ?? {})) {
      const key = camelCase(raw);
      if (value === null) remove.add(key);
      else if (key === 'generationConfig' && value && typeof value === 'object') Object.assign(generationConfig, value);
      else if (TOP_LEVEL.has(key)) body[key] = value;
      else generationConfig[key] = value;
    }
  }
  if (Object.keys(generationConfig).length) body.generationConfig = generationConfig;
  return { body, remove };
}

const BLOCKED = new Set(['SAFETY', 'PROHIBITED_CONTENT', 'BLOCKLIST', 'SPII', 'IMAGE_SAFETY', 'RECITATION']);

/**
 * Google's Gemini API (generateContent) through the official SDK. Images go as `inlineData`
 * parts; GIF is not among the formats it takes, so the image pipeline converts it. A prompt or
 * answer blocked by Gemini's safety filters is a content-policy outcome, not an error.
 */
export class GeminiProvider implements Provider {
  readonly id: string;
  readonly supportsLogprobs = true;
  readonly needsImages = true;
  readonly imageLimits: ImageLimits = {
    maxSide: 3072,
    // A whole request may carry 20 MB inline, base64-encoded.
    maxBytes: 14 * 1024 * 1024,
    accepts: ['image/jpeg', 'image/png', 'image/webp'],
  };
  /** The SDK loads on first use: startup stays fast, and runs that use other providers never load it. */
  private client?: Promise<{ sdk: typeof import('@google/genai'); client: GoogleGenAI }>;
  private readonly baseURL?: string;

  constructor(private readonly options: GeminiProviderOptions) {
    this.id = `gemini:${options.model}`;
    this.baseURL = options.baseURL ?? process.env.GEMINI_BASE_URL;
  }

  warmup() {
    return this.sdk();
  }

  private sdk() {
    this.client ??= import('@google/genai').then((sdk) => ({
      sdk,
      client: new sdk.GoogleGenAI({
      apiKey: this.options.apiKey ?? process.env.GEMINI_API_KEY ?? process.env.GOOGLE_API_KEY ?? 'missing-key',
      httpOptions: {
        ...(this.baseURL ? { baseUrl: this.baseURL } : {}),
        timeout: this.options.timeoutMs ?? 120_000,
        // No retryOptions: the SDK then makes one attempt and throws ApiError with the status,
        // and mmsafe's runner retries with its own back-off.
      },
      }),
    }));
    return this.client;
  }

  describe(): Record<string, unknown> {
    return { baseURL: this.baseURL ?? 'https://generativelanguage.googleapis.com', model: this.options.model, timeoutMs: this.options.timeoutMs ?? 120_000 };
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResponse> {
    const contents = request.messages.map((m) => ({
      role: m.role === 'assistant' ? 'model' : 'user',
      parts: m.content.map((p): Part => (p.type === 'text' ? { text: p.text } : { inlineData: { mimeType: p.image.mime, data: p.image.data.toString('base64') } })),
    }));
    const seed = request.seed ?? this.options.seed;
    const extra = geminiOptions(this.options.extra, request.extra);
    const config: Record<string, unknown> = {
      temperature: request.temperature ?? 0,
      maxOutputTokens: request.maxTokens ?? 512,
      ...(seed !== undefined ? { seed } : {}),
      ...(request.system ? { systemInstruction: request.system } : {}),
      ...(request.jsonSchema ? { responseMimeType: 'application/json', responseJsonSchema: request.jsonSchema.schema } : {}),
      ...(request.topLogprobs ? { responseLogprobs: true, logprobs: request.topLogprobs } : {}),
    };
    for (const key of extra.remove) delete config[key];
    const { sdk, client } = await this.sdk();
    let response: GenerateContentResponse;
    try {
      response = await withDeadline(this.options.timeoutMs ?? 120_000, options.signal, this.id, (signal) =>
        client.models.generateContent({
          model: this.options.model,
          contents,
          config: {
            ...config,
            abortSignal: signal,
            ...(Object.keys(extra.body).length ? { httpOptions: { extraBody: extra.body } } : {}),
          },
        }),
      );
    } catch (error) {
      throw scrubbed(this.classify(sdk.ApiError, error, options.signal), [this.options.apiKey]);
    }
    const blockReason = response.promptFeedback?.blockReason;
    if (blockReason) throw new ProviderError('content_policy', `${this.id}: the prompt was blocked (${blockReason})`);
    const candidate = response.candidates?.[0];
    if (!candidate) throw new ProviderError('invalid_response', `${this.id}: the API answered without candidates`);
    if (candidate.finishReason && BLOCKED.has(candidate.finishReason)) {
      throw new ProviderError('content_policy', `${this.id}: the answer was blocked (finishReason ${candidate.finishReason})`);
    }
    const text = (candidate.content?.parts ?? []).filter((p) => !p.thought).map((p) => p.text ?? '').join('');
    const u = response.usageMetadata;
    return {
      text,
      finishReason: candidate.finishReason,
      model: response.modelVersion,
      usage: geminiUsage(u),
      logprobs: candidate.logprobsResult?.chosenCandidates?.map((c, i) => ({
        token: c.token ?? '',
        logprob: c.logProbability ?? 0,
        top: candidate.logprobsResult?.topCandidates?.[i]?.candidates?.map((t) => ({ token: t.token ?? '', logprob: t.logProbability ?? 0 })),
      })),
    };
  }

  private classify(ApiError: typeof import('@google/genai').ApiError, error: unknown, signal?: AbortSignal): ProviderError {
    if (error instanceof ProviderError) return error;
    if (signal?.aborted) return new ProviderError('cancelled', `${this.id}: request cancelled`);
    if (error instanceof ApiError) {
      let detail: { message?: string; status?: string; details?: { reason?: string }[] } = {};
      try {
        detail = (JSON.parse(error.message) as { error?: typeof detail }).error ?? {};
      } catch {
        detail = { message: error.message };
      }
      const reasons = Array.isArray(detail.details) ? detail.details.map((d) => d?.reason).filter(Boolean).join(' ') : '';
      return classifyHttpError(
        error.status,
        { code: reasons || undefined, type: detail.status, message: detail.message },
        { keyEnv: 'GEMINI_API_KEY (or GOOGLE_API_KEY)', provider: this.id, retryAfterMs: parseRetryInfo(detail.details) },
      );
    }
    const e = error as { name?: string; message?: string; cause?: { code?: string } };
    if (e?.name === 'AbortError' || /timed? ?out|aborted/i.test(e?.message ?? '')) return new ProviderError('timeout', `${this.id}: no answer within ${this.options.timeoutMs ?? 120_000} ms`);
    if (e?.name === 'TypeError' && /fetch failed/i.test(e.message ?? '')) return new ProviderError('network', `${this.id}: cannot reach the API (${connectionCause(e)})`);
    if (error instanceof SyntaxError) return unparsableReply(this.id, error);
    return new ProviderError('invalid_response', `${this.id}: ${e?.message ?? String(error)}`);
  }
}

/**
 * Gemini's promptTokenCount already includes cached tokens, but thoughts are counted apart from the
 * candidates and billed as output; mmsafe's output tokens include them, as OpenAI's do.
 */
export function geminiUsage(u: GenerateContentResponse['usageMetadata']): GenerateResponse['usage'] {
  if (!u) return undefined;
  const thoughts = u.thoughtsTokenCount ?? 0;
  return {
    inputTokens: u.promptTokenCount,
    outputTokens: u.candidatesTokenCount === undefined && !thoughts ? undefined : (u.candidatesTokenCount ?? 0) + thoughts,
    ...(u.cachedContentTokenCount ? { cachedTokens: u.cachedContentTokenCount } : {}),
    ...(thoughts ? { reasoningTokens: thoughts } : {}),
  };
}
