import type Anthropic from '@anthropic-ai/sdk';
import { ProviderError, type GenerateOptions, type GenerateRequest, type GenerateResponse, type ImageLimits, type Provider } from '../core/types.ts';
import { withDeadline } from './deadline.ts';
import { classifyHttpError, connectionCause, notJson, requestedWaitMs, scrubbed, unparsableReply } from './errors.ts';
import { mergeOptions } from './options.ts';

export interface AnthropicProviderOptions {
  model: string;
  baseURL?: string;
  apiKey?: string;
  timeoutMs?: number;
  extra?: Record<string, unknown>;
}

/**
 * Anthropic's Messages API through the official SDK. Images go as base64 `image` blocks with their
 * media type; the API limits the base64 payload (5 MB) rather than the raw bytes, so the raw
 * limit here is 3/4 of it. Structured output (judges) is a forced tool call.
 */
export class AnthropicProvider implements Provider {
  readonly id: string;
  readonly supportsLogprobs = false;
  readonly needsImages = true;
  readonly imageLimits: ImageLimits = {
    // Anthropic resizes anything above ~1568 px on the long side; sending more only costs time.
    maxSide: 1568,
    maxBytes: Math.floor((5 * 1024 * 1024 * 3) / 4) - 1024,
    accepts: ['image/jpeg', 'image/png', 'image/gif', 'image/webp'],
  };
  /** The SDK loads on first use: startup stays fast, and runs that use other providers never load it. */
  private client?: Promise<{ sdk: typeof import('@anthropic-ai/sdk').default; client: Anthropic }>;
  private readonly baseURL: string;

  constructor(private readonly options: AnthropicProviderOptions) {
    this.id = `anthropic:${options.model}`;
    this.baseURL = options.baseURL ?? process.env.ANTHROPIC_BASE_URL ?? 'https://api.anthropic.com';
  }

  warmup() {
    return this.sdk();
  }

  private sdk() {
    this.client ??= Promise.all([import('@anthropic-ai/sdk'), import('./http.ts')]).then(([{ default: sdk }, { sdkFetch }]) => ({
      sdk,
      client: new sdk({
        apiKey: this.options.apiKey ?? process.env.ANTHROPIC_API_KEY ?? 'missing-key',
        baseURL: this.baseURL,
        maxRetries: 0,
        timeout: this.options.timeoutMs ?? 120_000,
        fetch: sdkFetch,
      }),
    }));
    return this.client;
  }

  describe(): Record<string, unknown> {
    return { baseURL: this.baseURL, model: this.options.model, timeoutMs: this.options.timeoutMs ?? 120_000 };
  }

  async generate(request: GenerateRequest, options: GenerateOptions = {}): Promise<GenerateResponse> {
    const messages: Anthropic.MessageParam[] = request.messages.map((m) => ({
      role: m.role,
      content: m.content.map((p): Anthropic.ContentBlockParam =>
        p.type === 'text'
          ? { type: 'text', text: p.text }
          : { type: 'image', source: { type: 'base64', media_type: p.image.mime as 'image/jpeg', data: p.image.data.toString('base64') } },
      ),
    }));
    const tool = request.jsonSchema
      ? { name: request.jsonSchema.name, description: 'Record the verdict.', input_schema: request.jsonSchema.schema as Anthropic.Tool.InputSchema }
      : undefined;
    const body = mergeOptions({
      model: this.options.model,
      max_tokens: request.maxTokens ?? 512,
      messages,
      temperature: request.temperature ?? 0,
      ...(request.system ? { system: request.system } : {}),
      ...(tool ? { tools: [tool], tool_choice: { type: 'tool', name: tool.name } } : {}),
    }, this.options.extra, request.extra);
    const { sdk, client } = await this.sdk();
    let message: Anthropic.Message;
    try {
      message = (await withDeadline(this.options.timeoutMs ?? 120_000, options.signal, this.id, (signal) =>
        client.messages.create(body as unknown as Anthropic.MessageCreateParamsNonStreaming, { signal }),
      )) as Anthropic.Message;
    } catch (error) {
      throw scrubbed(this.classify(sdk, error, options.signal), [this.options.apiKey]);
    }
    if (typeof message === 'string') throw new ProviderError('invalid_response', `${this.id}: the API's reply is ${notJson(message) ?? 'not JSON'}`);
    if (message?.stop_reason === 'refusal') throw new ProviderError('content_policy', `${this.id}: the model's safety classifier stopped the answer (stop_reason refusal)`);
    if (!message || !Array.isArray(message.content)) throw new ProviderError('invalid_response', `${this.id}: the API answered without content`);
    const toolUse = message.content.find((b) => b.type === 'tool_use');
    const text = toolUse && toolUse.type === 'tool_use' ? JSON.stringify(toolUse.input) : message.content.map((b) => (b.type === 'text' ? b.text : '')).join('');
    return {
      text,
      finishReason: message.stop_reason ?? undefined,
      model: message.model,
      usage: anthropicUsage(message.usage),
    };
  }

  private classify(Anthropic: typeof import('@anthropic-ai/sdk').default, error: unknown, signal?: AbortSignal): ProviderError {
    if (error instanceof ProviderError) return error;
    if (signal?.aborted || error instanceof Anthropic.APIUserAbortError) return new ProviderError('cancelled', `${this.id}: request cancelled`);
    if (error instanceof Anthropic.APIConnectionTimeoutError) return new ProviderError('timeout', `${this.id}: no answer within ${this.options.timeoutMs ?? 120_000} ms`);
    if (error instanceof Anthropic.APIConnectionError) return new ProviderError('network', `${this.id}: cannot reach ${this.baseURL} (${connectionCause(error)})`);
    if (error instanceof Anthropic.APIError && error.status !== undefined) {
      const detail = ((error.error as { error?: unknown } | undefined)?.error ?? {}) as { type?: string; message?: string; details?: { error_code?: string } };
      return classifyHttpError(
        error.status,
        { code: detail.details?.error_code, type: detail.type, message: detail.message ?? error.message },
        { keyEnv: 'ANTHROPIC_API_KEY', provider: this.id, retryAfterMs: requestedWaitMs(error.status, (h) => error.headers?.get(h)), location: error.headers?.get('location') },
      );
    }
    if (error instanceof SyntaxError) return unparsableReply(this.id, error);
    return new ProviderError('invalid_response', `${this.id}: ${error instanceof Error ? error.message : String(error)}`);
  }
}

/**
 * Anthropic counts cache reads and writes apart from `input_tokens`; mmsafe's input tokens include
 * them (as OpenAI's and Gemini's do), so prices and totals mean the same for every provider.
 */
export function anthropicUsage(u: Partial<Anthropic.Usage> | undefined): GenerateResponse['usage'] {
  if (!u) return undefined;
  const read = u.cache_read_input_tokens ?? 0;
  const written = u.cache_creation_input_tokens ?? 0;
  return {
    inputTokens: u.input_tokens === undefined ? undefined : u.input_tokens + read + written,
    outputTokens: u.output_tokens,
    ...(read ? { cachedTokens: read } : {}),
  };
}
