import { decodeDataImage, startMockApi, type MockLogprob, type MockOptions, type MockReply, type MockServer, type ParsedChatRequest, type ReceivedImage, type WireFormat } from './common.ts';

export { defaultAwarenessAnswer } from './common.ts';
export type { FaultKind, MockOptions, MockServer, ParsedChatRequest, MockReply, MockLogprob } from './common.ts';

/** OpenAI chat completions (non-streaming), as api.openai.com, vLLM and Ollama speak it. */

const TYPES = {
  rate_limit: [429, 'requests', 'rate_limit_exceeded'],
  server: [500, 'server_error', null],
  overloaded: [503, 'server_error', null],
  bad_request: [400, 'invalid_request_error', 'invalid_value'],
  auth: [401, 'invalid_request_error', 'invalid_api_key'],
  content_policy: [400, 'invalid_request_error', 'content_policy_violation'],
  not_found: [404, 'invalid_request_error', 'unknown_url'],
} as const;

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
    const promptTokens = Math.ceil(req.lastUserText.length / 4) + req.images.length * 85;
    const completionTokens = Math.max(1, Math.ceil(text.length / 4));
    return JSON.stringify({
      id: `chatcmpl-mock${n}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      system_fingerprint: 'fp_mmsafe_mock',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  },
  empty: (req) => JSON.stringify({ id: 'chatcmpl-empty', object: 'chat.completion', created: 0, model: req.model, choices: [], usage: null }),
  error(kind, message) {
    const [status, type, code] = TYPES[kind];
    return { status, body: JSON.stringify({ error: { message, type, param: null, code } }) };
  },
};

/**
 * A loopback server speaking OpenAI's chat-completions wire format, for tests, the demo and
 * benchmarks: it answers like a model, waits, and fails in every way real APIs fail.
 */
export function startMockOpenAI(opts: MockOptions = {}): Promise<MockServer> {
  return startMockApi(openAIWire, opts);
}
