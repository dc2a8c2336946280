import { decodeDataImage, startMockApi, type MockOptions, type MockServer, type ReceivedImage, type WireFormat } from './common.ts';

/** Google's Gemini API (POST /v1beta/models/{model}:generateContent), as the official SDK speaks it. */

const ERRORS = {
  rate_limit: [429, 'RESOURCE_EXHAUSTED'],
  server: [500, 'INTERNAL'],
  overloaded: [503, 'UNAVAILABLE'],
  bad_request: [400, 'INVALID_ARGUMENT'],
  auth: [401, 'UNAUTHENTICATED'],
  not_found: [404, 'NOT_FOUND'],
} as const;

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
    const p = Math.ceil(req.lastUserText.length / 4) + req.images.length * 258;
    const c = Math.max(1, Math.ceil(text.length / 4));
    return JSON.stringify({
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: p, candidatesTokenCount: c, totalTokenCount: p + c },
      modelVersion: req.model,
      responseId: 'mock',
    });
  },
  empty: () => JSON.stringify({ candidates: [], usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }),
  error(kind, message) {
    // Gemini reports a blocked prompt as a 200 with promptFeedback, not as an HTTP error.
    if (kind === 'content_policy') return { status: 200, body: JSON.stringify({ promptFeedback: { blockReason: 'SAFETY' }, usageMetadata: { promptTokenCount: 1, totalTokenCount: 1 } }) };
    const [status, code] = ERRORS[kind];
    return { status, body: JSON.stringify({ error: { code: status, message, status: code } }) };
  },
};

export function startMockGemini(opts: MockOptions = {}): Promise<MockServer> {
  return startMockApi(geminiWire, opts);
}
