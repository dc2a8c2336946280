import { createHash } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { sniffImageType } from '../images/sniff.ts';

/**
 * What every mock API shares: a loopback HTTP server, answers that look like a model's, latency,
 * and deterministic fault injection. Each wire format (OpenAI, Anthropic, Gemini) supplies only
 * how to read a request and how to write answers and errors.
 */

export type FaultKind =
  | '429'
  | '429-no-retry-after'
  /** A 429 without Retry-After whose API rate-limit headers say the requests limit ran out (OpenAI, Anthropic). */
  | '429-reset-headers'
  | '500'
  | '502'
  | '503'
  | '400'
  | '401'
  /** The API's own 404 for a model it does not serve (as `models` gives for a model not listed). */
  | '404'
  | 'reset'
  | 'hang'
  | 'slow-body'
  /** Headers and the first bytes of a 200, then nothing more. */
  | 'stall-after-headers'
  /** A 200 whose body arrives a byte every 200 ms: never idle, but minutes long. */
  | 'trickle'
  | 'malformed-json'
  | 'no-choices'
  | 'content-filter'
  /** A 200 whose answer the API's safety system stopped (finish reason, stop reason or block reason). */
  | 'blocked-answer'
  | 'context-length'
  /** Out of credit: OpenAI's insufficient_quota, Anthropic's spend limit; waiting does not help. */
  | 'quota'
  /** A 400 whose message repeats the credentials the request carried, as some proxies do. */
  | 'echo-key'
  /** A 200 that is a proxy's HTML page instead of the API's JSON. */
  | 'html-page';

export interface ReceivedImage {
  mime: string;
  bytes: number;
  /** Length of the base64 text on the wire (Anthropic's 5 MB limit applies to this, not to `bytes`). */
  encodedBytes: number;
  /** The type the bytes really are, whatever the request declared. */
  sniffed?: string;
  sha256: string;
  /** The decoded bytes, kept only when the server records requests. */
  data?: Buffer;
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
  /** The request wants structured (JSON) output. */
  wantsJson?: boolean;
  headers: http.IncomingHttpHeaders;
  body: Record<string, any>;
}

export interface MockLogprob {
  token: string;
  logprob: number;
  top_logprobs?: { token: string; logprob: number }[];
}

/**
 * Tokens a mock answer reports, in one convention: `input` includes `cached`, `output` includes
 * `reasoning`. Each wire format writes them the way its API does (Anthropic counts cache reads
 * apart from input_tokens; Gemini counts thoughts apart from candidates).
 */
export interface MockUsage {
  input?: number;
  output?: number;
  cached?: number;
  reasoning?: number;
}

export type MockReply = string | { text: string; logprobs?: MockLogprob[]; usage?: MockUsage };

export interface MockOptions {
  port?: number;
  latencyMs?: number | ((req: ParsedChatRequest) => number);
  respond?: (req: ParsedChatRequest) => MockReply;
  faults?: { rate: number; kinds: FaultKind[]; seed?: number } | ((req: ParsedChatRequest, n: number) => FaultKind | undefined);
  /** The models this server serves; a request for another is refused with the API's own 404. Any model when absent. */
  models?: string[];
  /** Keep every parsed request (and image bytes) in `received`; off by default to keep memory flat. */
  record?: boolean;
  /** The Retry-After (seconds) an injected 429 asks for; 0 by default. */
  retryAfterSeconds?: number;
  /** When the requests limit of an injected '429-reset-headers' is whole again, in seconds; 1 by default. */
  rateLimitResetSeconds?: number;
  /** Replaces the wording of injected API errors (a hostile server, in tests); quota and context-length replies keep the API's own text. */
  errorMessage?: string;
}

export interface MockServer {
  /** The base URL to give the SDK. */
  url: string;
  port: number;
  readonly requests: number;
  readonly faultsInjected: number;
  received: ParsedChatRequest[];
  close(): Promise<void>;
}

export interface ErrorReply {
  status: number;
  body: string;
  headers?: Record<string, string>;
}

export type ErrorKind = 'rate_limit' | 'server' | 'overloaded' | 'bad_request' | 'auth' | 'content_policy' | 'not_found' | 'context_length' | 'quota';

/** One wire format. */
export interface WireFormat {
  /** Whether this route is a generation request. */
  isGenerate(method: string, url: string): boolean;
  parse(body: Record<string, any>, url: string, headers: http.IncomingHttpHeaders, keepImages: boolean): ParsedChatRequest;
  success(req: ParsedChatRequest, reply: MockReply, n: number): string;
  /** A 200 whose body has no answer in it (no choices / no candidates / no content). */
  empty(req: ParsedChatRequest): string;
  /** A 200 whose answer the API's safety system stopped. */
  blocked(req: ParsedChatRequest): string;
  error(kind: ErrorKind, message: string, opts?: { retryAfterSeconds?: number }): ErrorReply;
  /** The API's own rate-limit headers for an exhausted requests limit whole again in `resetSeconds`; none where the API has none. */
  rateLimitHeaders?(resetSeconds: number): Record<string, string>;
  /** What the real API refuses about a request's images (type, size), with its own error; undefined when it would accept them. */
  validate?(req: ParsedChatRequest): ErrorReply | undefined;
  /** The base URL path the SDK is given (e.g. `/v1` for OpenAI). */
  basePath: string;
}

/** The default answerer: Yes or No from a hash of the prompt, so tests can recompute it. */
export function defaultAwarenessAnswer(text: string): 'Yes' | 'No' {
  return createHash('sha256').update(text).digest()[0] % 2 === 0 ? 'Yes' : 'No';
}

/** Deterministic uniform [0,1) from (seed, n): the same requests fail on every run. */
function seededUnit(seed: number, n: number): number {
  return createHash('sha256').update(`${seed}:${n}`).digest().readUInt32BE(0) / 2 ** 32;
}

export function decodeDataImage(mime: string, base64: string, keep: boolean): ReceivedImage {
  const data = Buffer.from(base64, 'base64');
  return { mime, bytes: data.length, encodedBytes: base64.length, sniffed: sniffImageType(data), sha256: createHash('sha256').update(data).digest('hex'), ...(keep ? { data } : {}) };
}

/** The usage a mock answer reports: the responder's own figures, else ~4 characters a token plus a flat cost per image. */
export function mockUsage(req: ParsedChatRequest, reply: MockReply, perImage: number): Required<MockUsage> {
  const given = typeof reply === 'string' ? undefined : reply.usage;
  const text = typeof reply === 'string' ? reply : reply.text;
  return {
    input: given?.input ?? Math.ceil(req.lastUserText.length / 4) + req.images.length * perImage,
    output: given?.output ?? Math.max(1, Math.ceil(text.length / 4)),
    cached: given?.cached ?? 0,
    reasoning: given?.reasoning ?? 0,
  };
}

const noSuchModel = (model: string) => `The model \`${model}\` does not exist or you do not have access to it.`;

export async function startMockApi(format: WireFormat, opts: MockOptions = {}): Promise<MockServer> {
  let requests = 0;
  let faultsInjected = 0;
  let firstRequestAt: number | undefined;
  let lastRequestAt: number | undefined;
  const received: ParsedChatRequest[] = [];
  const sockets = new Set<Socket>();
  const timers = new Set<NodeJS.Timeout>();
  const respond = opts.respond ?? ((req: ParsedChatRequest) => `${defaultAwarenessAnswer(req.lastUserText)}.`);

  const fail = (kind: ErrorKind, message: string, extra?: { retryAfterSeconds?: number }) => format.error(kind, opts.errorMessage ?? message, extra);
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
  const sendError = (res: http.ServerResponse, e: ErrorReply) => send(res, e.status, e.body, e.headers);

  function handle(res: http.ServerResponse, socket: Socket, url: string, headers: http.IncomingHttpHeaders, raw: string) {
    let body: Record<string, any>;
    try {
      body = JSON.parse(raw);
    } catch {
      return sendError(res, format.error('bad_request', 'The request body is not valid JSON.'));
    }
    const n = ++requests;
    firstRequestAt ??= Date.now();
    lastRequestAt = Date.now();
    const req = format.parse(body, url, headers, Boolean(opts.record));
    if (opts.record) received.push(req);
    // A request the real API would refuse is refused here too, before any injected fault.
    const invalid = format.validate?.(req);
    if (invalid) return sendError(res, invalid);
    if (opts.models && !opts.models.includes(req.model)) {
      return sendError(res, format.error('not_found', noSuchModel(req.model)));
    }
    const fault = pickFault(req, n);
    if (fault) faultsInjected++;
    const latency = typeof opts.latencyMs === 'function' ? opts.latencyMs(req) : (opts.latencyMs ?? 0);

    later(latency, () => {
      switch (fault) {
        case undefined:
          return send(res, 200, format.success(req, respond(req), n));
        case '429': {
          const wait = opts.retryAfterSeconds ?? 0;
          const e = fail('rate_limit', 'Rate limit reached for requests', { retryAfterSeconds: wait });
          return sendError(res, { ...e, headers: { ...e.headers, 'retry-after': String(wait) } });
        }
        case '429-no-retry-after':
          return sendError(res, fail('rate_limit', 'Rate limit reached for requests'));
        case '429-reset-headers': {
          const e = fail('rate_limit', 'Rate limit reached for requests');
          return sendError(res, { ...e, headers: { ...e.headers, ...format.rateLimitHeaders?.(opts.rateLimitResetSeconds ?? 1) } });
        }
        case '500':
          return sendError(res, fail('server', 'The server had an error while processing your request.'));
        case '502':
          res.writeHead(502, { 'content-type': 'text/html' });
          return res.end('<html><body>502 Bad Gateway</body></html>');
        case '503':
          return sendError(res, fail('overloaded', 'The model is overloaded. Please try again later.'));
        case '400':
          return sendError(res, fail('bad_request', 'The request is malformed.'));
        case '401':
          return sendError(res, fail('auth', 'Incorrect API key provided.'));
        case '404':
          return sendError(res, fail('not_found', noSuchModel(req.model)));
        case 'content-filter':
          return sendError(res, fail('content_policy', 'Your request was rejected as a result of our safety system.'));
        case 'blocked-answer':
          return send(res, 200, format.blocked(req));
        case 'context-length':
          return sendError(res, fail('context_length', 'The prompt is longer than the model\'s context window.'));
        case 'quota':
          return sendError(res, fail('quota', 'You exceeded your current quota, please check your plan and billing details.'));
        case 'html-page':
          res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
          return res.end('<!DOCTYPE html><html><head><title>Proxy sign-in required</title></head><body><h1>Sign in</h1></body></html>');
        case 'echo-key': {
          const sent = [req.headers.authorization, req.headers['x-api-key'], req.headers['x-goog-api-key']].filter(Boolean).join(', ');
          return sendError(res, fail('bad_request', `The request was refused for the credentials ${sent}`));
        }
        case 'reset':
          return socket.destroy();
        case 'hang':
          return; // never answers; close() destroys the socket
        case 'malformed-json':
          return send(res, 200, '{"id": "broken", "choices": [{"message": ');
        case 'no-choices':
          return send(res, 200, format.empty(req));
        case 'stall-after-headers': {
          const full = format.success(req, respond(req), n);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
          return res.write(full.slice(0, 10)); // the rest never comes; close() destroys the socket
        }
        case 'trickle': {
          const full = format.success(req, respond(req), n);
          res.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(full) });
          let i = 0;
          const drip = () => {
            if (res.destroyed) return;
            res.write(full.slice(i, i + 1));
            if (++i < full.length) later(200, drip);
            else res.end();
          };
          return drip();
        }
        case 'slow-body': {
          const full = format.success(req, respond(req), n);
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
    const method = req.method ?? 'GET';
    // Counters for benchmarks that run the mock in another process.
    if (method === 'GET' && url === '/__mock/stats') {
      return send(res, 200, JSON.stringify({ requests, faultsInjected, firstRequestAt: firstRequestAt ?? null, lastRequestAt: lastRequestAt ?? null }));
    }
    if (method === 'GET' && /\/models\/?(\?.*)?$/.test(url)) {
      return send(res, 200, JSON.stringify({ object: 'list', data: [{ id: 'mock-vlm', object: 'model', created: 0, owned_by: 'mmsafe' }] }));
    }
    if (method === 'POST' && format.isGenerate(method, url)) {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => handle(res, req.socket, url, req.headers, Buffer.concat(chunks).toString('utf8')));
      return;
    }
    sendError(res, format.error('not_found', `Unknown request URL: ${method} ${url}`));
  });
  server.keepAliveTimeout = 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(opts.port ?? 0, '127.0.0.1', resolve));
  const port = (server.address() as AddressInfo).port;

  return {
    url: `http://127.0.0.1:${port}${format.basePath}`,
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
