import { decodeDataImage, startMockApi, type MockOptions, type MockServer, type ReceivedImage, type WireFormat } from './common.ts';

/** Anthropic's Messages API (POST /v1/messages), as the official SDK speaks it. */

const ERRORS = {
  rate_limit: [429, 'rate_limit_error'],
  server: [500, 'api_error'],
  overloaded: [529, 'overloaded_error'],
  bad_request: [400, 'invalid_request_error'],
  auth: [401, 'authentication_error'],
  content_policy: [400, 'invalid_request_error'],
  not_found: [404, 'not_found_error'],
} as const;

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
    return JSON.stringify({
      id: `msg_mock${n}`,
      type: 'message',
      role: 'assistant',
      model: req.model,
      content,
      stop_reason: tool && (content[0] as { type: string }).type === 'tool_use' ? 'tool_use' : 'end_turn',
      stop_sequence: null,
      usage: { input_tokens: Math.ceil(req.lastUserText.length / 4) + req.images.length * 100, output_tokens: Math.max(1, Math.ceil(text.length / 4)), cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
    });
  },
  empty: (req) => JSON.stringify({ id: 'msg_empty', type: 'message', role: 'assistant', model: req.model, content: [], stop_reason: 'refusal', stop_sequence: null, usage: { input_tokens: 1, output_tokens: 0 } }),
  error(kind, message) {
    const [status, type] = ERRORS[kind];
    const text = kind === 'content_policy' ? 'Output blocked by content filtering policy' : message;
    return { status, body: JSON.stringify({ type: 'error', error: { type, message: text } }) };
  },
};

export function startMockAnthropic(opts: MockOptions = {}): Promise<MockServer> {
  return startMockApi(anthropicWire, opts);
}
