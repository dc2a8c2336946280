import { decodeDataImage, mockUsage, startMockApi, type ErrorReply, type MockOptions, type MockServer, type ReceivedImage, type WireFormat } from './common.ts';

/** Google's Gemini API (POST /v1beta/models/{model}:generateContent), as the official SDK speaks it. */

const ERRORS = {
  rate_limit: [429, 'RESOURCE_EXHAUSTED'],
  server: [500, 'INTERNAL'],
  overloaded: [503, 'UNAVAILABLE'],
  bad_request: [400, 'INVALID_ARGUMENT'],
  // A rejected key is a 400 with the reason in the details, not a 401.
  auth: [400, 'INVALID_ARGUMENT'],
  not_found: [404, 'NOT_FOUND'],
  context_length: [400, 'INVALID_ARGUMENT'],
  // Gemini has one answer for every exhausted quota, per minute or per day.
  quota: [429, 'RESOURCE_EXHAUSTED'],
} as const;

const MESSAGES: Partial<Record<keyof typeof ERRORS, string>> = {
  auth: 'API key not valid. Please pass a valid API key.',
  context_length: 'The input token count (1200293) exceeds the maximum number of tokens allowed (1048576).',
};

/** The image types generateContent takes inline. */
const MIME_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/heic', 'image/heif']);
/** The whole request, base64 images included. */
const MAX_REQUEST_BYTES = 20 * 1024 * 1024;

const partsText = (parts: any[] | undefined) => (parts ?? []).filter((p) => typeof p?.text === 'string').map((p) => p.text).join('\n');

export const geminiWire: WireFormat = {
  basePath: '',
  isGenerate: (_m, url) => /\/models\/[^/:]+:generateContent(\?|$)/.test(url),
  parse(body, url, headers, keep) {
    const contents: any[] = Array.isArray(body.contents) ? body.contents : [];
    const lastUser = [...contents].reverse().find((c) => c.role === 'user' || c.role === undefined);
    const images: ReceivedImage[] = [];
    for (const c of contents) for (const p of c.parts ?? []) if (p?.inlineData) images.push(decodeDataImage(p.inlineData.mimeType, p.inlineData.data, keep));
    const g = body.generationConfig ?? {};
    return {
      model: decodeURIComponent(/\/models\/([^/:]+):/.exec(url)?.[1] ?? ''),
      system: body.systemInstruction ? partsText(body.systemInstruction.parts) : undefined,
      lastUserText: partsText(lastUser?.parts),
      images,
      temperature: g.temperature,
      max_tokens: g.maxOutputTokens,
      seed: g.seed,
      wantsJson: g.responseMimeType === 'application/json',
      headers,
      body,
    };
  },
  success(req, reply) {
    const text = typeof reply === 'string' ? reply : reply.text;
    const u = mockUsage(req, reply, 258);
    return JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
      // promptTokenCount includes the cached tokens; thoughts are counted apart from the candidates.
      usageMetadata: {
        promptTokenCount: u.input,
        candidatesTokenCount: u.output - u.reasoning,
        totalTokenCount: u.input + u.output,
        ...(u.cached ? { cachedContentTokenCount: u.cached } : {}),
        ...(u.reasoning ? { thoughtsTokenCount: u.reasoning } : {}),
      },
      modelVersion: req.model,
      responseId: 'mock',
    });
  },
  empty: () => JSON.stringify({ candidates: [], usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }),
  blocked: (req) =>
    JSON.stringify({
      candidates: [{ finishReason: 'SAFETY', index: 0, safetyRatings: [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true }] }],
      usageMetadata: { promptTokenCount: 10, totalTokenCount: 10 },
      modelVersion: req.model,
    }),
  error(kind, message, opts = {}) {
    // Gemini reports a blocked prompt as a 200 with promptFeedback, not as an HTTP error.
    if (kind === 'content_policy') return { status: 200, body: JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }) };
    const [status, code] = ERRORS[kind];
    const details: unknown[] = [];
    if (kind === 'auth') details.push({ '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } });
    // The wait before retrying travels in the body (RetryInfo), not in a Retry-After header.
    if (kind === 'rate_limit' && opts.retryAfterSeconds !== undefined) details.push({ '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay: `${opts.retryAfterSeconds}s` });
    return { status, body: JSON.stringify({ error: { code: status, message: MESSAGES[kind] ?? message, status: code, ...(details.length ? { details } : {}) } }) };
  },
  validate(req): ErrorReply | undefined {
    for (const img of req.images) {
      if (!MIME_TYPES.has(img.mime)) return this.error('bad_request', `Unsupported MIME type: ${img.mime}`);
      if (img.sniffed !== img.mime && !/hei[cf]/.test(img.mime)) return this.error('bad_request', 'Unable to process input image. Please retry or report in https://developers.generativeai.google/guide/troubleshooting');
    }
    if (req.images.length) {
      const size = Buffer.byteLength(JSON.stringify(req.body));
      if (size > MAX_REQUEST_BYTES) return this.error('bad_request', `Request payload size exceeds the limit: ${MAX_REQUEST_BYTES} bytes.`);
    }
    return undefined;
  },
};

export function startMockGemini(opts: MockOptions = {}): Promise<MockServer> {
  return startMockApi(geminiWire, opts);
}
