import { decodeDataImage, mockUsage, startMockApi, type MockLogprob, type MockOptions, type MockReply, type MockServer, type ParsedChatRequest, type ReceivedImage, type WireFormat } from './common.ts';

export { defaultAwarenessAnswer } from './common.ts';
export type { FaultKind, MockOptions, MockServer, ParsedChatRequest, MockReply, MockLogprob, MockUsage } from './common.ts';

/** OpenAI chat completions (non-streaming), as api.openai.com, vLLM and Ollama speak it. */

const TYPES = {
  rate_limit: [429, 'requests', 'rate_limit_exceeded'],
  server: [500, 'server_error', null],
  overloaded: [503, 'server_error', null],
  bad_request: [400, 'invalid_request_error', 'invalid_value'],
  auth: [401, 'invalid_request_error', 'invalid_api_key'],
  content_policy: [400, 'invalid_request_error', 'content_policy_violation'],
  not_found: [404, 'invalid_request_error', 'unknown_url'],
  context_length: [400, 'invalid_request_error', 'context_length_exceeded'],
  quota: [429, 'insufficient_quota', 'insufficient_quota'],
} as const;

const MESSAGES: Partial<Record<keyof typeof TYPES, string>> = {
  context_length: "This model's maximum context length is 128000 tokens. However, your messages resulted in 131072 tokens. Please reduce the length of the messages.",
  quota: 'You exceeded your current quota, please check your plan and billing details.',
};

/** Formats the chat completions API decodes; anything else is refused. */
const OPENAI_IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/gif', 'image/webp']);
const OPENAI_MAX_IMAGE_BYTES = 20 * 1024 * 1024;

/** Plausible logprobs for the first token when a responder gives none: the answer is likely, its opposite less so. */
function synthLogprobs(text: string, k: number): MockLogprob[] {
  const first = text.match(/^\S+?(?=[\s.,!]|$)/)?.[0] ?? text;
  const opposite = /^yes/i.test(first) ? 'No' : 'Yes';
  const top = [
    { token: first, logprob: -0.05 },
    { token: opposite, logprob: -3.0 },
    { token: 'I', logprob: -6.0 },
  ].slice(0, Math.max(1, k));
  return [{ token: first, logprob: -0.05, top_logprobs: top }];
}

const bytesOf = (t: string) => [...Buffer.from(t)];

export const openAIWire: WireFormat = {
  basePath: '/v1',
  isGenerate: (_m, url) => url.split('?')[0].endsWith('/chat/completions'),
  parse(body, _url, headers, keep) {
    const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
    const system = messages.filter((m) => m.role === 'system').map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n') || undefined;
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const parts: any[] = typeof lastUser?.content === 'string' ? [{ type: 'text', text: lastUser.content }] : (lastUser?.content ?? []);
    const images: ReceivedImage[] = [];
    for (const m of messages) {
      if (!Array.isArray(m.content)) continue;
      for (const p of m.content) {
        const match = p?.type === 'image_url' ? /^data:([^;]+);base64,(.*)$/s.exec(p.image_url?.url ?? '') : null;
        if (match) images.push(decodeDataImage(match[1], match[2], keep));
      }
    }
    return {
      model: String(body.model ?? ''),
      system,
      lastUserText: parts.filter((p) => p?.type === 'text').map((p) => p.text).join('\n'),
      images,
      temperature: body.temperature,
      max_tokens: body.max_tokens ?? body.max_completion_tokens,
      seed: body.seed,
      logprobs: body.logprobs,
      top_logprobs: body.top_logprobs,
      wantsJson: Boolean(body.response_format),
      headers,
      body,
    };
  },
  success(req: ParsedChatRequest, reply: MockReply, n: number) {
    const text = typeof reply === 'string' ? reply : reply.text;
    const k = req.top_logprobs ?? 0;
    const given = typeof reply === 'string' ? undefined : reply.logprobs;
    const logprobs = req.logprobs
      ? {
          content: (given ?? synthLogprobs(text, k)).map((l) => ({
            token: l.token,
            logprob: l.logprob,
            bytes: bytesOf(l.token),
            top_logprobs: (l.top_logprobs ?? []).slice(0, k).map((t) => ({ ...t, bytes: bytesOf(t.token) })),
          })),
          refusal: null,
        }
      : null;
    const u = mockUsage(req, reply, 85);
    return JSON.stringify({
      id: `chatcmpl-mock${n}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      system_fingerprint: 'fp_mmsafe_mock',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs, finish_reason: 'stop' }],
      // prompt_tokens includes the cached ones and completion_tokens the reasoning ones, as the API counts them.
      usage: {
        prompt_tokens: u.input,
        completion_tokens: u.output,
        total_tokens: u.input + u.output,
        prompt_tokens_details: { cached_tokens: u.cached, audio_tokens: 0 },
        completion_tokens_details: { reasoning_tokens: u.reasoning, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
      },
    });
  },
  blocked: (req) =>
    JSON.stringify({
      id: 'chatcmpl-filtered',
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      choices: [{ index: 0, message: { role: 'assistant', content: null, refusal: null }, logprobs: null, finish_reason: 'content_filter' }],
      usage: { prompt_tokens: 10, completion_tokens: 0, total_tokens: 10 },
    }),
  validate(req) {
    for (const img of req.images) {
      if (!OPENAI_IMAGE_TYPES.has(img.mime) || !img.sniffed || !OPENAI_IMAGE_TYPES.has(img.sniffed)) {
        return this.error('bad_request', "You uploaded an unsupported image. Please make sure your image has of one the following formats: ['png', 'jpeg', 'gif', 'webp'].");
      }
      if (img.bytes > OPENAI_MAX_IMAGE_BYTES) return this.error('bad_request', `Image is too large: ${img.bytes} bytes, the limit is ${OPENAI_MAX_IMAGE_BYTES} bytes.`);
    }
    return undefined;
  },
  empty: (req) => JSON.stringify({ id: 'chatcmpl-empty', object: 'chat.completion', created: 0, model: req.model, choices: [], usage: null }),
  // As the API sends them: the requests limit spent, the tokens limit not (its longer reset must not be waited for).
  rateLimitHeaders: (resetSeconds) => ({
    'x-ratelimit-limit-requests': '60',
    'x-ratelimit-remaining-requests': '0',
    'x-ratelimit-reset-requests': goDuration(resetSeconds),
    'x-ratelimit-limit-tokens': '150000',
    'x-ratelimit-remaining-tokens': '149984',
    'x-ratelimit-reset-tokens': '6m0s',
  }),
  error(kind, message) {
    const [status, type, code] = TYPES[kind];
    return { status, body: JSON.stringify({ error: { message: MESSAGES[kind] ?? message, type, param: null, code } }) };
  },
};

/** Seconds as Go writes a duration, the way OpenAI's reset headers are written ("20ms", "1.5s", "1m30s"). */
function goDuration(seconds: number): string {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  const minutes = Math.floor(seconds / 60);
  const rest = `${Number((seconds - minutes * 60).toFixed(3))}s`;
  return minutes ? `${minutes}m${rest}` : rest;
}

/**
 * A loopback server speaking OpenAI's chat-completions wire format, for tests, the demo and
 * benchmarks: it answers like a model, waits, and fails in every way real APIs fail.
 */
export function startMockOpenAI(opts: MockOptions = {}): Promise<MockServer> {
  return startMockApi(openAIWire, opts);
}
