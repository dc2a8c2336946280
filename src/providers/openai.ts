import type OpenAI from 'openai';
import {
  ProviderError,
  type GenerateOptions,
  type GenerateRequest,
  type GenerateResponse,
  type ImageLimits,
  type Provider,
} from '../core/types.ts';
import { withDeadline } from './deadline.ts';
import { classifyHttpError, connectionCause, notJson, requestedWaitMs, scrubbed, unparsableReply } from './errors.ts';
import { mergeOptions } from './options.ts';

export interface OpenAIProviderOptions {
  model: string;
  baseURL?: string;
  apiKey?: string;
  timeoutMs?: number;
  extra?: Record<string, unknown>;
  /** Name used in the provider id (`ollama` routes through this class too). */
  kind?: string;
}

const DEFAULT_BASE_URL = 'https://api.openai.com/v1';

/**
 * OpenAI's reasoning models (o1, o3, o4-mini, gpt-5) refuse `max_tokens` and any temperature but
 * their own with a 400 on every request; routers prefix the vendor (`openai/o3`).
 */
export function isReasoningModel(model: string): boolean {
  const name = model.slice(model.lastIndexOf('/') + 1);
  return /^(o\d|gpt-5)/.test(name) && !/^gpt-5[\w.-]*-chat/.test(name);
}

/**
 * OpenAI chat completions through the official SDK; also the route for every OpenAI-compatible
 * server (vLLM, Ollama, LM Studio, OpenRouter, Together). The SDK's own retries are off: the
 * runner retries with its own back-off and rate-limit handling.
 */
export class OpenAIProvider implements Provider {
  readonly id: string;
  readonly supportsLogprobs = true;
  readonly needsImages = true;
  readonly imageLimits: ImageLimits = {
    maxSide: 2048,
    maxBytes: 20 * 1024 * 1024,
    accepts: ['image/jpeg', 'image/png', 'image/webp', 'image/gif'],
  };
  /** The SDK loads on first use: startup stays fast, and runs that use other providers never load it. */
  private client?: Promise<{ sdk: typeof import('openai').default; client: OpenAI }>;
  private readonly baseURL: string;

  constructor(private readonly options: OpenAIProviderOptions) {
    this.id = `${options.kind ?? 'openai'}:${options.model}`;
    this.baseURL = options.baseURL ?? process.env.OPENAI_BASE_URL ?? DEFAULT_BASE_URL;
  }

  warmup() {
    return this.sdk();
  }

  private sdk() {
    this.client ??= Promise.all([import('openai'), import('./http.ts')]).then(([{ default: sdk }, { sdkFetch }]) => ({
      sdk,
      client: new sdk({
        // Local servers take any key; a placeholder keeps the SDK from refusing to start.
        apiKey: this.options.apiKey || process.env.OPENAI_API_KEY || 'not-needed',
        baseURL: this.baseURL,
        maxRetries: 0,
        timeout: this.options.timeoutMs ?? 120_000,
        fetch: sdkFetch,
      }),
    }));
    return this.client;
  }

  describe(): Record<string, unknown> {
    return {
      baseURL: this.baseURL,
      model: this.options.model,
      timeoutMs: this.options.timeoutMs ?? 120_000,
      ...(isReasoningModel(this.options.model) ? { reasoning_model: 'max_completion_tokens sent; temperature left to the API' } : {}),
    };
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResponse> {
    const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [];
    if (request.system) messages.push({ role: 'system', content: request.system });
    for (const m of request.messages) {
      if (m.role === 'assistant') {
        messages.push({ role: 'assistant', content: m.content.map((p) => (p.type === 'text' ? p.text : '')).join('') });
        continue;
      }
      messages.push({
        role: 'user',
        content: m.content.map((p): OpenAI.Chat.ChatCompletionContentPart =>
          p.type === 'text'
            ? { type: 'text', text: p.text }
            : { type: 'image_url', image_url: { url: `data:${p.image.mime};base64,${p.image.data.toString('base64')}` } },
        ),
      });
    }
    const reasoning = isReasoningModel(this.options.model);
    const body = mergeOptions({
      model: this.options.model,
      messages,
      ...(reasoning ? { max_completion_tokens: request.maxTokens ?? 512 } : { temperature: request.temperature ?? 0, max_tokens: request.maxTokens ?? 512 }),
      ...(request.seed !== undefined ? { seed: request.seed } : {}),
      ...(request.topLogprobs ? { logprobs: true, top_logprobs: request.topLogprobs } : {}),
      ...(request.jsonSchema
        ? { response_format: { type: 'json_schema', json_schema: { name: request.jsonSchema.name, schema: request.jsonSchema.schema, strict: true } } }
        : {}),
    }, this.options.extra, request.extra);

    const { sdk, client } = await this.sdk();
    let completion: OpenAI.Chat.ChatCompletion;
    try {
      completion = (await withDeadline(this.options.timeoutMs ?? 120_000, options.signal, this.id, (signal) =>
        client.chat.completions.create(body as unknown as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming, { signal }),
      )) as OpenAI.Chat.ChatCompletion;
    } catch (error) {
      throw scrubbed(this.classify(sdk, error, options.signal), [this.options.apiKey]);
    }
    if (typeof completion === 'string') throw new ProviderError('invalid_response', `${this.id}: the API's reply is ${notJson(completion) ?? 'not JSON'}`);
    const choice = completion?.choices?.[0];
    if (!choice) throw new ProviderError('invalid_response', `${this.id}: the API answered without choices`);
    if (choice.finish_reason === 'content_filter') {
      throw new ProviderError('content_policy', `${this.id}: the API's content filter blocked the answer`);
    }
    const usage = completion.usage;
    return {
      // With structured output a refusing model fills `refusal` instead of `content`.
      text: choice.message?.content ?? choice.message?.refusal ?? '',
      finishReason: choice.finish_reason ?? undefined,
      model: completion.model,
      usage: usage
        ? {
            inputTokens: usage.prompt_tokens,
            outputTokens: usage.completion_tokens,
            cachedTokens: usage.prompt_tokens_details?.cached_tokens,
            reasoningTokens: usage.completion_tokens_details?.reasoning_tokens,
          }
        : undefined,
      logprobs: choice.logprobs?.content?.map((t) => ({
        token: t.token,
        logprob: t.logprob,
        top: t.top_logprobs?.map((x) => ({ token: x.token, logprob: x.logprob })),
      })),
    };
  }

  private classify(OpenAI: typeof import('openai').default, error: unknown, signal?: AbortSignal): ProviderError {
    if (error instanceof ProviderError) return error;
    if (signal?.aborted || error instanceof OpenAI.APIUserAbortError) return new ProviderError('cancelled', `${this.id}: request cancelled`, { cause: error });
    if (error instanceof OpenAI.APIConnectionTimeoutError) return new ProviderError('timeout', `${this.id}: no answer within ${this.options.timeoutMs ?? 120_000} ms`);
    if (error instanceof OpenAI.APIConnectionError) {
      return new ProviderError('network', `${this.id}: cannot reach ${this.baseURL} (${connectionCause(error)})`);
    }
    if (error instanceof OpenAI.APIError && error.status !== undefined) {
      const detail = (error.error ?? {}) as { code?: string; type?: string; message?: string };
      return classifyHttpError(
        error.status,
        { code: error.code ?? detail.code, type: error.type ?? detail.type, message: detail.message ?? error.message },
        { keyEnv: 'OPENAI_API_KEY', provider: this.id, retryAfterMs: requestedWaitMs(error.status, (h) => error.headers?.get(h)), location: error.headers?.get('location') },
      );
    }
    if (error instanceof SyntaxError) return unparsableReply(this.id, error);
    return new ProviderError('invalid_response', `${this.id}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

