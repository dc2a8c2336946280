import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

/**
 * A loopback server that speaks OpenAI's chat-completions wire format, for tests, the demo and
 * benchmarks. It can answer like a model, delay, and fail in every way real APIs and local
 * servers fail, deterministically.
 */

export type FaultKind =
  | '429'
  | '429-no-retry-after'
  | '500'
  | '502'
  | '503'
  | '400'
  | '401'
  | 'reset'
  | 'hang'
  | 'slow-body'
  | 'malformed-json'
  | 'no-choices'
  | 'content-filter';

export interface ReceivedImage {
  mime: string;
  bytes: number;
  sha256: string;
}

export interface ParsedChatRequest {
  model: string;
  system?: string;
  /** Text parts of the last user message, joined by newlines. */
  lastUserText: string;
  images: ReceivedImage[];
  temperature?: number;
  max_tokens?: number;
  seed?: number;
  logprobs?: boolean;
  top_logprobs?: number;
  body: Record<string, any>;
}

export interface MockLogprob {
  token: string;
  logprob: number;
  top_logprobs?: { token: string; logprob: number }[];
}

export type MockReply = string | { text: string; logprobs?: MockLogprob[] };

export interface MockOptions {
  port?: number;
  latencyMs?: number | ((req: ParsedChatRequest) => number);
  respond?: (req: ParsedChatRequest) => MockReply;
  faults?: { rate: number; kinds: FaultKind[]; seed?: number } | ((req: ParsedChatRequest, n: number) => FaultKind | undefined);
  /** Keep every parsed request in `received` (tests); off by default to keep memory flat. */
  record?: boolean;
}

export interface MockServer {
  url: string;
  port: number;
  readonly requests: number;
  readonly faultsInjected: number;
  received: ParsedChatRequest[];
  close(): Promise<void>;
}

/** The default answerer: Yes or No from a hash of the prompt, so tests can recompute it. */
export function defaultAwarenessAnswer(text: string): 'Yes' | 'No' {
  return createHash('sha256').update(text).digest()[0] % 2 === 0 ? 'Yes' : 'No';
}

/** Deterministic uniform [0,1) from (seed, n): the same requests fail on every run. */
function seededUnit(seed: number, n: number): number {
  const h = createHash('sha256').update(`${seed}:${n}`).digest();
  return h.readUInt32BE(0) / 2 ** 32;
}

function parseRequest(body: Record<string, any>): ParsedChatRequest {
  const messages: any[] = Array.isArray(body.messages) ? body.messages : [];
  const system = messages.filter((m) => m.role === 'system').map((m) => (typeof m.content === 'string' ? m.content : '')).join('\n') || undefined;
  const lastUser = [...messages].reverse().find((m) => m.role === 'user');
  const parts: any[] = typeof lastUser?.content === 'string' ? [{ type: 'text', text: lastUser.content }] : (lastUser?.content ?? []);
  const images: ReceivedImage[] = [];
  for (const m of messages) {
    if (!Array.isArray(m.content)) continue;
    for (const p of m.content) {
      if (p?.type !== 'image_url') continue;
      const url: string = p.image_url?.url ?? '';
      const match = /^data:([^;]+);base64,(.*)$/s.exec(url);
      if (!match) continue;
      const bytes = Buffer.from(match[2], 'base64');
      images.push({ mime: match[1], bytes: bytes.length, sha256: createHash('sha256').update(bytes).digest('hex') });
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
    body,
  };
}

function openAIError(status: number, message: string, type: string, code: string | null): string {
  return JSON.stringify({ error: { message, type, param: null, code } });
}

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

export async function startMockOpenAI(opts: MockOptions = {}): Promise<MockServer> {
  let requests = 0;
  let faultsInjected = 0;
  const received: ParsedChatRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const respond = opts.respond ?? ((req: ParsedChatRequest) => `${defaultAwarenessAnswer(req.lastUserText)}.`);

  const later = (ms: number, fn: () => void) => {
    if (ms <= 0) return fn();
    const t = setTimeout(() => {
      timers.delete(t);
      fn();
    }, ms);
    timers.add(t);
  };

  function pickFault(req: ParsedChatRequest, n: number): FaultKind | undefined {
    const f = opts.faults;
    if (!f) return undefined;
    if (typeof f === 'function') return f(req, n);
    if (f.kinds.length === 0 || seededUnit(f.seed ?? 1, n) >= f.rate) return undefined;
    return f.kinds[Math.floor(seededUnit((f.seed ?? 1) + 7919, n) * f.kinds.length)];
  }

  function send(res: http.ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body), ...headers });
    res.end(body);
  }

  function completion(req: ParsedChatRequest, reply: MockReply) {
    const text = typeof reply === 'string' ? reply : reply.text;
    const k = req.top_logprobs ?? 0;
    const logprobs = req.logprobs
      ? { content: ((typeof reply === 'string' ? undefined : reply.logprobs) ?? synthLogprobs(text, k)).map((l) => ({ ...l, bytes: [...Buffer.from(l.token)], top_logprobs: (l.top_logprobs ?? []).slice(0, k).map((t) => ({ ...t, bytes: [...Buffer.from(t.token)] })) })), refusal: null }
      : null;
    const promptTokens = Math.ceil(req.lastUserText.length / 4) + req.images.length * 85;
    const completionTokens = Math.max(1, Math.ceil(text.length / 4));
    return JSON.stringify({
      id: `chatcmpl-mock${requests}`,
      object: 'chat.completion',
      created: Math.floor(Date.now() / 1000),
      model: req.model,
      system_fingerprint: 'fp_mmsafe_mock',
      choices: [{ index: 0, message: { role: 'assistant', content: text, refusal: null }, logprobs, finish_reason: 'stop' }],
      usage: { prompt_tokens: promptTokens, completion_tokens: completionTokens, total_tokens: promptTokens + completionTokens },
    });
  }

  function handleChat(res: http.ServerResponse, socket: Socket, raw: string) {
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw);
    } catch {
      return send(res, 400, openAIError(400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null));
    }
    const n = ++requests;
    const req = parseRequest(body);
    if (opts.record) received.push(req);
    const fault = pickFault(req, n);
    if (fault) faultsInjected++;
    const latency = typeof opts.latencyMs === 'function' ? opts.latencyMs(req) : (opts.latencyMs ?? 0);

    later(latency, () => {
      switch (fault) {
        case undefined:
          return send(res, 200, completion(req, respond(req)));
        case '429':
          return send(res, 429, openAIError(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded'), { 'retry-after': '0' });
        case '429-no-retry-after':
          return send(res, 429, openAIError(429, 'Rate limit reached for requests', 'requests', 'rate_limit_exceeded'));
        case '500':
          return send(res, 500, openAIError(500, 'The server had an error while processing your request.', 'server_error', null));
        case '502':
          res.writeHead(502, { 'content-type': 'text/html' });
          return res.end('<html><body>502 Bad Gateway</body></html>');
        case '503':
          return send(res, 503, openAIError(503, 'The engine is currently overloaded, please try again later.', 'server_error', null));
        case '400':
          return send(res, 400, openAIError(400, "Invalid 'messages': the request is malformed.", 'invalid_request_error', 'invalid_value'));
        case '401':
          return send(res, 401, openAIError(401, 'Incorrect API key provided.', 'invalid_request_error', 'invalid_api_key'));
        case 'content-filter':
          return send(res, 400, openAIError(400, 'Your request was rejected as a result of our safety system.', 'invalid_request_error', 'content_policy_violation'));
        case 'reset':
          return socket.destroy();
        case 'hang':
          return; // never answers; close() destroys the socket
        case 'malformed-json':
          return send(res, 200, '{"id": "chatcmpl-broken", "choices": [{"message": ');
        case 'no-choices':
          return send(res, 200, JSON.stringify({ id: 'chatcmpl-empty', object: 'chat.completion', created: 0, model: req.model, choices: [], usage: null }));
        case 'slow-body': {
          const full = completion(req, respond(req));
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
          const chunks = Math.min(6, full.length);
          const size = Math.ceil(full.length / chunks);
          let i = 0;
          const tick = () => {
            if (res.destroyed) return;
            res.write(full.slice(i * size, (i + 1) * size));
            if (++i < chunks) later(50, tick);
            else res.end();
          };
          return tick();
        }
      }
    });
  }

  const server = http.createServer((req, res) => {
    const url = req.url ?? '';
    if (req.method === 'GET' && url.endsWith('/models')) {
      return send(res, 200, JSON.stringify({ object: 'list', data: [{ id: 'mock-vlm', object: 'model', created: 0, owned_by: 'mmsafe' }] }));
    }
    if (req.method === 'POST' && url.endsWith('/chat/completions')) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handleChat(res, req.socket, Buffer.concat(chunks).toString('utf8')));
      return;
    }
    send(res, 404, openAIError(404, `Unknown request URL: ${req.method} ${url}`, 'invalid_request_error', 'unknown_url'));
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}/v1`,
    port,
    get requests() {
      return requests;
    },
    get faultsInjected() {
      return faultsInjected;
    },
    received,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearTimeout(t);
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
