import { sniffImageType } from '../images/sniff.ts';
import { decodeDataImage, mockUsage, startMockApi, type ErrorReply, type MockOptions, type MockServer, type ReceivedImage, type WireFormat } from './common.ts';

/** Anthropic's Messages API (POST /v1/messages), as the official SDK speaks it. */

const ERRORS = {
  rate_limit: [429, 'rate_limit_error'],
  server: [500, 'api_error'],
  overloaded: [529, 'overloaded_error'],
  bad_request: [400, 'invalid_request_error'],
  auth: [401, 'authentication_error'],
  content_policy: [400, 'invalid_request_error'],
  not_found: [404, 'not_found_error'],
  context_length: [400, 'invalid_request_error'],
  // The monthly spend limit comes back as a 429 like a rate limit, told apart only by its details.
  quota: [429, 'rate_limit_error'],
} as const;

const MESSAGES: Partial<Record<keyof typeof ERRORS, string>> = {
  content_policy: 'Output blocked by content filtering policy',
  context_length: 'prompt is too long: 210000 tokens > 200000 maximum',
  quota: 'You have reached your specified API usage limits. You will regain access on 2026-12-01 at 00:00 UTC.',
};

const MEDIA_TYPES = ['image/jpeg', 'image/png', 'image/gif', 'image/webp'];
/** The API limits the base64 text of one image, not the decoded bytes. */
const MAX_BASE64 = 5 * 1024 * 1024;

const textOf = (content: unknown): string =>
  typeof content === 'string' ? content : Array.isArray(content) ? content.filter((b) => b?.type === 'text').map((b) => b.text).join('\n') : '';

export const anthropicWire: WireFormat = {
  basePath: '',
  isGenerate: (_m, url) => url.split('?')[0] === '/v1/messages',
  parse(body, _url, headers, keep) {
    const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
    const lastUser = [...messages].reverse().find((m) => m.role === 'user');
    const images: ReceivedImage[] = [];
    for (const m of messages) {
      if (!Array.isArray(m.content)) continue;
      for (const b of m.content) {
        if (b?.type === 'image' && b.source?.type === 'base64') images.push(decodeDataImage(b.source.media_type, b.source.data, keep));
      }
    }
    return {
      model: String(body.model ?? ''),
      system: body.system === undefined ? undefined : textOf(body.system),
      lastUserText: textOf(lastUser?.content),
      images,
      temperature: body.temperature,
      max_tokens: body.max_tokens,
      wantsJson: body.tool_choice?.type === 'tool',
      headers,
      body,
    };
  },
  success(req, reply, n) {
    const text = typeof reply === 'string' ? reply : reply.text;
    const tool = req.body.tool_choice?.type === 'tool' ? req.body.tool_choice.name : undefined;
    let content: unknown[] = [{ type: 'text', text }];
    if (tool) {
      try {
        content = [{ type: 'tool_use', id: `toolu_mock${n}`, name: tool, input: JSON.parse(text) }];
      } catch {
        // a responder that returns non-JSON to a forced tool call: answer in text, as a confused model would
      }
    }
    const u = mockUsage(req, reply, 100);
    return JSON.stringify({
      id: `msg_mock${n}`,
      type: 'message',
      role: 'assistant',
      model: req.model,
      content,
      stop_reason: tool && (content[0] as { type: string }).type === 'tool_use' ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      // input_tokens counts only what was neither read from nor written to the cache; thinking is part of output_tokens.
      usage: { input_tokens: u.input - u.cached, output_tokens: u.output, cache_creation_input_tokens: 0, cache_read_input_tokens: u.cached },
    });
  },
  // A 200 without the content array: a body that carries no answer.
  empty: (req) => JSON.stringify({ id: 'msg_empty', type: 'message', role: 'assistant', model: req.model, stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } }),
  blocked: (req) =>
    JSON.stringify({ id: 'msg_refusal', type: 'message', role: 'assistant', model: req.model, content: [], stop_reason: 'refusal', stop_sequence: null, usage: { input_tokens: 10, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 } }),
  // As the API sends them: RFC 3339 moments of full replenishment; the requests limit spent, the token limits not.
  rateLimitHeaders(resetSeconds) {
    const at = (s: number) => new Date(Date.now() + s * 1000).toISOString();
    return {
      'anthropic-ratelimit-requests-limit': '50',
      'anthropic-ratelimit-requests-remaining': '0',
      'anthropic-ratelimit-requests-reset': at(resetSeconds),
      'anthropic-ratelimit-tokens-limit': '38000',
      'anthropic-ratelimit-tokens-remaining': '37000',
      'anthropic-ratelimit-tokens-reset': at(60),
      'anthropic-ratelimit-input-tokens-limit': '30000',
      'anthropic-ratelimit-input-tokens-remaining': '29000',
      'anthropic-ratelimit-input-tokens-reset': at(60),
      'anthropic-ratelimit-output-tokens-limit': '8000',
      'anthropic-ratelimit-output-tokens-remaining': '8000',
      'anthropic-ratelimit-output-tokens-reset': at(60),
    };
  },
  error(kind, message) {
    const [status, type] = ERRORS[kind];
    const error: Record<string, unknown> = { type, message: MESSAGES[kind] ?? message };
    if (kind === 'quota') error.details = { error_code: 'enforced_spend_limit_reached' };
    return { status, body: JSON.stringify({ type: 'error', error, request_id: 'req_mock' }) };
  },
  validate(req): ErrorReply | undefined {
    const messages: any[] = Array.isArray(req.body.messages) ? req.body.messages : [];
    for (const [mi, m] of messages.entries()) {
      if (!Array.isArray(m.content)) continue;
      for (const [bi, b] of m.content.entries()) {
        if (b?.type !== 'image') continue;
        const where = `messages.${mi}.content.${bi}.image.source.base64`;
        const mediaType = b.source?.media_type;
        const data = String(b.source?.data ?? '');
        if (!MEDIA_TYPES.includes(mediaType)) return this.error('bad_request', `${where}.media_type: Input should be 'image/jpeg', 'image/png', 'image/gif' or 'image/webp'`);
        if (data.length > MAX_BASE64) return this.error('bad_request', `${where}: image exceeds 5 MB maximum: ${data.length} bytes > ${MAX_BASE64} bytes`);
        const sniffed = sniffImageType(Buffer.from(data.slice(0, 32), 'base64'));
        if (sniffed !== mediaType) return this.error('bad_request', `${where}: The image was specified using the ${mediaType} media type, but the image appears to be a ${sniffed ?? 'unknown'} image`);
      }
    }
    return undefined;
  },
};

export function startMockAnthropic(opts: MockOptions = {}): Promise<MockServer> {
  return startMockApi(anthropicWire, opts);
}
