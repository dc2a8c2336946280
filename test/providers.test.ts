import { copyFileSync, mkdtempSync, writeFileSync } from 'node:fs';
import { randomBytes } from 'node:crypto';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, type GenerateRequest, type PreparedImage, type Provider } from '../src/core/types.ts';
import { startMockAnthropic } from '../src/mock/anthropic-server.ts';
import type { FaultKind, MockOptions, MockServer } from '../src/mock/common.ts';
import { startMockGemini } from '../src/mock/gemini-server.ts';
import { startMockOpenAI } from '../src/mock/openai-server.ts';
import { createProvider } from '../src/providers/registry.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { formatSummaryTable } from '../src/report/table.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

const KEY = 'sk-test-SECRET123';

interface Case {
  kind: 'openai' | 'anthropic' | 'gemini';
  start: (o?: MockOptions) => Promise<MockServer>;
  keyEnv: RegExp;
  overloaded: 'overloaded';
}
const CASES: Case[] = [
  { kind: 'openai', start: startMockOpenAI, keyEnv: /OPENAI_API_KEY/, overloaded: 'overloaded' },
  { kind: 'anthropic', start: startMockAnthropic, keyEnv: /ANTHROPIC_API_KEY/, overloaded: 'overloaded' },
  { kind: 'gemini', start: startMockGemini, keyEnv: /GEMINI_API_KEY/, overloaded: 'overloaded' },
];

const servers: MockServer[] = [];
afterAll(async () => Promise.all(servers.map((s) => s.close())));

async function pngImage(): Promise<PreparedImage> {
  const data = await sharp({ create: { width: 8, height: 6, channels: 3, background: '#f00' } }).png().toBuffer();
  const { createHash } = await import('node:crypto');
  return { data, mime: 'image/png', sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
}

describe.each(CASES)('$kind provider against its mock, through the official SDK', ({ kind, start, keyEnv }) => {
  let server: MockServer;
  let provider: Provider;
  beforeAll(async () => {
    server = await start({ record: true, respond: (req) => (req.wantsJson ? '{"verdict":"safe","rationale":"r"}' : `echo:${req.lastUserText}`) });
    servers.push(server);
    provider = createProvider(`${kind}:test-model`, { baseURL: server.url, apiKey: KEY, timeoutMs: 2000, seed: 7 });
  });

  it('sends system prompt, text and the image bytes in the API\'s own image block, and maps the answer', async () => {
    const image = await pngImage();
    const request: GenerateRequest = {
      system: 'Be brief.',
      messages: [{ role: 'user', content: [{ type: 'image', image }, { type: 'text', text: 'Is this safe?' }] }],
      temperature: 0,
      maxTokens: 33,
      seed: 7,
    };
    const res = await provider.generate(request);
    const got = server.received.at(-1)!;
    expect(got.model).toBe('test-model');
    expect(got.system).toBe('Be brief.');
    expect(got.lastUserText).toBe('Is this safe?');
    expect(got.images).toHaveLength(1);
    expect(got.images[0]).toMatchObject({ mime: 'image/png', bytes: image.bytes, sha256: image.sha256 });
    expect(got.temperature).toBe(0);
    expect(got.max_tokens).toBe(33);
    if (kind !== 'anthropic') expect(got.seed).toBe(7);
    expect(res.text).toBe('echo:Is this safe?');
    expect(res.usage?.inputTokens).toBeGreaterThan(0);
    expect(res.usage?.outputTokens).toBeGreaterThan(0);
    // The key travels only in the auth header, never in the body.
    expect(JSON.stringify(got.body)).not.toContain(KEY);
  });

  it('asks for structured output when a JSON schema is given', async () => {
    const res = await provider.generate({
      messages: [{ role: 'user', content: [{ type: 'text', text: 'judge' }] }],
      jsonSchema: { name: 'safety_verdict', schema: { type: 'object', properties: { verdict: { type: 'string' } }, required: ['verdict'] } },
    });
    expect(server.received.at(-1)!.wantsJson).toBe(true);
    expect(JSON.parse(res.text)).toMatchObject({ verdict: 'safe' });
  });

  it('defaults: temperature 0 and a max-token cap when the request names none; the seed where the API takes one', async () => {
    await provider.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'defaults' }] }] });
    const got = server.received.at(-1)!;
    expect(got.temperature).toBe(0);
    expect(got.max_tokens).toBe(512);
    // Gemini takes the run's seed from the provider settings; OpenAI from the request; Anthropic has none.
    expect(got.seed).toBe(kind === 'gemini' ? 7 : undefined);
    expect(got.system).toBeUndefined();
  });

  it('--provider-option lands in the request body where the API reads it; null drops a default', async () => {
    const p = createProvider(`${kind}:test-model`, { baseURL: server.url, apiKey: KEY, extra: { top_p: 0.9, temperature: null } });
    await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'options' }] }], temperature: 0, extra: { top_k: 5 } });
    const body = server.received.at(-1)!.body;
    if (kind === 'gemini') {
      expect(body.generationConfig).toMatchObject({ topP: 0.9, topK: 5, maxOutputTokens: 512 });
      expect(body.generationConfig).not.toHaveProperty('temperature');
      expect(body).not.toHaveProperty('top_p');
    } else {
      expect(body).toMatchObject({ top_p: 0.9, top_k: 5 });
      expect(body).not.toHaveProperty('temperature');
    }
    if (kind === 'gemini') {
      const safety = [{ category: 'HARM_CATEGORY_DANGEROUS_CONTENT', threshold: 'BLOCK_NONE' }];
      const g = createProvider('gemini:test-model', { baseURL: server.url, apiKey: KEY, extra: { safety_settings: safety, thinkingConfig: { thinkingBudget: 0 } } });
      await g.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'safety' }] }] });
      const b = server.received.at(-1)!.body;
      expect(b.safetySettings).toEqual(safety);
      expect(b.generationConfig).toMatchObject({ thinkingConfig: { thinkingBudget: 0 }, temperature: 0 });
    }
  });

  it('maps input, output, cached and reasoning tokens from the API\'s own usage fields to one meaning', async () => {
    const usageServer = await start({ respond: () => ({ text: 'Yes', usage: { input: 1000, output: 300, cached: 400, reasoning: 120 } }) });
    servers.push(usageServer);
    const p = createProvider(`${kind}:m`, { baseURL: usageServer.url, apiKey: KEY });
    const res = await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'usage' }] }] });
    // Input includes cached tokens and output includes reasoning, whichever way the API splits them.
    // Anthropic reports no separate thinking count: its thinking is inside output_tokens.
    expect(res.usage).toEqual({ inputTokens: 1000, outputTokens: 300, cachedTokens: 400, ...(kind === 'anthropic' ? {} : { reasoningTokens: 120 }) });
  });

  const expectations: [FaultKind, string, boolean][] = [
    ['429', 'rate_limit', true],
    ['429-no-retry-after', 'rate_limit', true],
    ['500', 'server', true],
    ['503', 'overloaded', true],
    ['502', 'server', true],
    ['reset', 'network', true],
    ['hang', 'timeout', true],
    ['malformed-json', 'invalid_response', true],
    ['no-choices', 'invalid_response', true],
    ['400', 'bad_request', false],
    ['401', 'auth', false],
    ['content-filter', 'content_policy', false],
    ['blocked-answer', 'content_policy', false],
    ['context-length', 'context_length', false],
    // Gemini has one RESOURCE_EXHAUSTED for every quota; the others tell an empty account from a rate limit.
    ['quota', kind === 'gemini' ? 'rate_limit' : 'quota', kind === 'gemini'],
  ];
  it.each(expectations)('fault %s is classified as %s (retryable: %s)', async (fault, expected, retryable) => {
    const faulty = await start({ faults: () => fault });
    servers.push(faulty);
    const p = createProvider(`${kind}:m`, { baseURL: faulty.url, apiKey: KEY, timeoutMs: 800 });
    const err = await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe(expected);
    expect(err.retryable).toBe(retryable);
    expect(err.message).not.toContain(KEY);
    if (fault === '401') expect(err.message).toMatch(keyEnv);
    if (fault === '429') expect(err.retryAfterMs).toBe(0);
    if (fault === '429-no-retry-after') expect(err.retryAfterMs).toBeUndefined();
    await faulty.close();
  });

  it.each(['stall-after-headers', 'trickle'] as const)('--timeout bounds the whole request: a body that %s times out', async (fault) => {
    const faulty = await start({ faults: () => fault });
    servers.push(faulty);
    const p = createProvider(`${kind}:m`, { baseURL: faulty.url, apiKey: KEY, timeoutMs: 600 });
    const err = await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe('timeout');
    expect(err.retryable).toBe(true);
    await faulty.close();
  }, 15_000);

  it('a caller\'s cancel is still a cancel, not a timeout', async () => {
    const faulty = await start({ faults: () => 'stall-after-headers' });
    servers.push(faulty);
    const p = createProvider(`${kind}:m`, { baseURL: faulty.url, apiKey: KEY, timeoutMs: 60_000 });
    const controller = new AbortController();
    const pending = p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }, { signal: controller.signal }).catch((e) => e);
    setTimeout(() => controller.abort(), 300);
    const err = await pending;
    expect(err.kind).toBe('cancelled');
    await faulty.close();
  });

  it.each(['html-page', '502'] as const)('a proxy\'s HTML page (%s) is named as such, not as broken JSON', async (fault) => {
    const faulty = await start({ faults: () => fault });
    servers.push(faulty);
    const p = createProvider(`${kind}:m`, { baseURL: faulty.url, apiKey: KEY, timeoutMs: 3000 });
    const err = await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }).catch((e) => e);
    expect(err.kind).toBe(fault === '502' ? 'server' : 'invalid_response');
    expect(err.message).toMatch(/not JSON \(HTML page/);
    expect(err.message).not.toMatch(/<html|<body/i);
    if (fault === '502') expect(err.message).toContain('502 Bad Gateway');
  });

  it('a slow body still arrives whole', async () => {
    const slow = await start({ faults: () => 'slow-body', respond: () => 'No, it is not.' });
    servers.push(slow);
    const p = createProvider(`${kind}:m`, { baseURL: slow.url, apiKey: KEY, timeoutMs: 3000 });
    expect((await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] })).text).toBe('No, it is not.');
  });
});

describe.each(CASES)('$kind: images prepared for the provider, end to end', ({ kind, start }) => {
  it('downscales, converts, orients and rejects exactly as the provider needs; bytes checked at the mock', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `mmsafe-img-${kind}-`));
    const solid = (w: number, h: number) => sharp({ create: { width: w, height: h, channels: 3, background: '#2a6' } });
    writeFileSync(path.join(dir, 'huge.png'), await solid(6000, 4000).png().toBuffer());
    // The same picture under another name: prepared once, sent twice.
    copyFileSync(path.join(dir, 'huge.png'), path.join(dir, 'huge-copy.png'));
    // Incompressible pixels with alpha: 7.8 MB as PNG, above Anthropic's 3.75 MB raw (5 MB base64).
    writeFileSync(path.join(dir, 'noisy.png'), await sharp(randomBytes(1400 * 1400 * 4), { raw: { width: 1400, height: 1400, channels: 4 } }).png({ compressionLevel: 1 }).toBuffer());
    writeFileSync(path.join(dir, 'pic.webp'), await solid(300, 200).webp().toBuffer());
    writeFileSync(path.join(dir, 'anim.gif'), await solid(64, 64).gif().toBuffer());
    writeFileSync(path.join(dir, 'rotated.jpg'), await solid(400, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer());
    writeFileSync(path.join(dir, 'png-named.jpg'), await solid(50, 40).png().toBuffer());
    writeFileSync(path.join(dir, 'corrupt.jpg'), Buffer.from('definitely not a jpeg, just text pretending'));
    writeFileSync(path.join(dir, 'empty.png'), Buffer.alloc(0));
    const jpeg = await sharp(randomBytes(200 * 200 * 3), { raw: { width: 200, height: 200, channels: 3 } }).jpeg().toBuffer();
    writeFileSync(path.join(dir, 'truncated.jpg'), jpeg.subarray(0, Math.floor(jpeg.length / 2)));
    const good = ['huge.png', 'huge-copy.png', 'noisy.png', 'pic.webp', 'anim.gif', 'rotated.jpg', 'png-named.jpg'];
    const bad = ['corrupt.jpg', 'empty.png', 'truncated.jpg'];
    const names = [...good, ...bad];
    writeFileSync(path.join(dir, 'set.jsonl'), names.map((n) => JSON.stringify({ id: n, image: n, prompt: 'ok?', label: 'safe' })).join('\n'));

    const server = await start({ record: true });
    servers.push(server);
    const provider = createProvider(`${kind}:m`, { baseURL: server.url, apiKey: KEY });
    const store = new SqliteStore(path.join(dir, 'r.db'));
    const result = await evaluate({ benchmark: 'custom', data: path.join(dir, 'set.jsonl'), model: `${kind}:m`, baseURL: server.url, concurrency: 1 }, { store, runId: 'img', provider });
    const rows = new Map((await store.results('img')).map((r) => [r.sampleId, r]));
    const limits = provider.imageLimits;
    // Every good image reached the API and none was refused there: the mocks refuse what the real
    // APIs refuse (a media type the bytes contradict, a format not taken, Anthropic's 5 MB of base64).
    expect(server.received).toHaveLength(good.length);
    for (const id of good) expect(rows.get(id), id).toMatchObject({ status: 'ok' });
    for (const req of server.received) {
      const img = req.images[0];
      expect(limits.accepts).toContain(img.mime);
      expect(img.sniffed).toBe(img.mime);
      expect(img.bytes).toBeLessThanOrEqual(limits.maxBytes);
      if (kind === 'anthropic') expect(img.encodedBytes).toBeLessThanOrEqual(5 * 1024 * 1024);
      const meta = await sharp(img.data!).metadata();
      expect(`image/${meta.format === 'jpeg' ? 'jpeg' : meta.format}`).toBe(img.mime);
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(limits.maxSide);
      expect(meta.orientation ?? 1).toBe(1);
    }
    // The stored hash is the hash of the bytes that arrived.
    const sentFor = (id: string) => server.received.find((r) => r.images[0].sha256 === rows.get(id)!.imageSha256)!.images[0];
    for (const id of good) expect(sentFor(id), id).toBeDefined();
    expect((await sharp(sentFor('huge.png').data!).metadata()).width).toBe(limits.maxSide);
    expect(rows.get('huge-copy.png')!.imageSha256).toBe(rows.get('huge.png')!.imageSha256);
    const rotated = await sharp(sentFor('rotated.jpg').data!).metadata();
    expect([rotated.width, rotated.height]).toEqual([200, 400]);
    expect(sentFor('png-named.jpg').mime).toBe('image/png');
    expect(sentFor('pic.webp').mime).toBe(limits.accepts.includes('image/webp') ? 'image/webp' : 'image/jpeg');
    if (!limits.accepts.includes('image/gif')) expect(sentFor('anim.gif').mime).not.toBe('image/gif');
    const noisy = sentFor('noisy.png');
    expect(noisy.mime).toBe('image/png'); // alpha kept
    if (kind === 'anthropic') expect(noisy.bytes).toBeLessThan((await sharp(path.join(dir, 'noisy.png')).toBuffer()).length);
    for (const id of bad) {
      expect(rows.get(id), id).toMatchObject({ status: 'error', errorKind: 'image' });
      expect(rows.get(id)!.errorMessage).toMatch(/empty|not a recognised image|truncated|cannot/);
    }
    // Ten files, nine distinct contents: each prepared once, the copy a cache hit.
    expect(result.images).toEqual({ prepared: 9, hits: 1 });
    expect((await summarizeStoredRun(store, 'img')).counts.errors).toBe(3);
    await store.close();
  });

  it('a request or answer blocked by the API\'s safety system is stored as content_policy, asked once, and counted', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), `mmsafe-cp-${kind}-`));
    writeFileSync(path.join(dir, 'a.png'), await sharp({ create: { width: 8, height: 8, channels: 3, background: '#123' } }).png().toBuffer());
    const rowsIn = ['ok-1', 'blocked-prompt', 'blocked-answer', 'ok-2'].map((id) => ({ id, image: 'a.png', prompt: id, label: 'unsafe' }));
    writeFileSync(path.join(dir, 'set.jsonl'), rowsIn.map((r) => JSON.stringify(r)).join('\n'));
    const server = await start({ faults: (req) => (req.lastUserText.includes('blocked-prompt') ? 'content-filter' : req.lastUserText.includes('blocked-answer') ? 'blocked-answer' : undefined) });
    servers.push(server);
    const provider = createProvider(`${kind}:m`, { baseURL: server.url, apiKey: KEY });
    const store = new SqliteStore(path.join(dir, 'r.db'));
    await evaluate({ benchmark: 'custom', data: path.join(dir, 'set.jsonl'), model: `${kind}:m`, baseURL: server.url, concurrency: 2, retryBaseMs: 1 }, { store, runId: 'cp', provider });
    const rows = new Map((await store.results('cp')).map((r) => [r.sampleId, r]));
    for (const id of ['blocked-prompt', 'blocked-answer']) expect(rows.get(id), id).toMatchObject({ status: 'error', errorKind: 'content_policy', attempts: 1 });
    expect(server.requests).toBe(4);
    const summary = await summarizeStoredRun(store, 'cp');
    expect(summary.counts).toMatchObject({ errors: 2, content_policy: 2 });
    expect(formatSummaryTable(summary)).toMatch(/content policy 2/);
    // Blocks are answers: a "No" on these unsafe items, in the n; the sensitivity line leaves them out.
    expect(summary.metrics.unsafe).toMatchObject({ n: 4 });
    expect(summary.blocks).toMatchObject({ count: 2, metrics_without_blocks: { unsafe: { n: 2 } } });
    expect(formatSummaryTable(summary)).toMatch(/2 blocked by the API's safety system, counted as an unsafe verdict \("No"\); with blocks left out: /);
    await store.close();
  });
});

describe('the mocks refuse what the real APIs refuse', () => {
  const image = async (data: Buffer, mime: PreparedImage['mime']): Promise<PreparedImage> => {
    const { createHash } = await import('node:crypto');
    return { data, mime, sha256: createHash('sha256').update(data).digest('hex'), bytes: data.length };
  };
  const ask = (p: Provider, img: PreparedImage) => p.generate({ messages: [{ role: 'user', content: [{ type: 'image', image: img }, { type: 'text', text: 'q' }] }] }).catch((e) => e);

  it('Anthropic: a media type the bytes contradict, and more than 5 MB of base64', async () => {
    const server = await startMockAnthropic();
    servers.push(server);
    const p = createProvider('anthropic:m', { baseURL: server.url, apiKey: KEY });
    const png = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).png().toBuffer();
    const mislabelled = await ask(p, await image(png, 'image/jpeg'));
    expect(mislabelled).toMatchObject({ kind: 'bad_request' });
    expect(mislabelled.message).toMatch(/specified using the image\/jpeg media type, but the image appears to be a image\/png image/);
    // 4 MB raw is under the 5 MB a user might read as the limit, but its base64 is not.
    const big = Buffer.concat([png, randomBytes(4 * 1024 * 1024)]);
    const tooBig = await ask(p, await image(big, 'image/png'));
    expect(tooBig.message).toMatch(/image exceeds 5 MB maximum/);
  });

  it('Gemini: GIF is not among the inline types; OpenAI: bytes that are no image format it takes', async () => {
    const gemini = await startMockGemini();
    const openai = await startMockOpenAI();
    servers.push(gemini, openai);
    const gif = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).gif().toBuffer();
    expect((await ask(createProvider('gemini:m', { baseURL: gemini.url, apiKey: KEY }), await image(gif, 'image/gif'))).message).toMatch(/Unsupported MIME type: image\/gif/);
    const tiff = await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).tiff().toBuffer();
    expect((await ask(createProvider('openai:m', { baseURL: openai.url, apiKey: KEY }), await image(tiff, 'image/png'))).message).toMatch(/unsupported image/);
  });
});

describe('OpenAI-specific mapping, baselines and the registry', () => {
  it('maps top logprobs and reports a cancelled request as cancelled', async () => {
    const server = await startMockOpenAI({ latencyMs: (req) => (req.lastUserText === 'slow' ? 2000 : 0) });
    servers.push(server);
    const p = createProvider('openai:m', { baseURL: server.url, apiKey: KEY });
    const res = await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }], topLogprobs: 3 });
    expect(res.logprobs?.[0].top?.map((t) => t.token)).toEqual([res.text.replace('.', ''), res.text.startsWith('Yes') ? 'No' : 'Yes', 'I']);
    const ctrl = new AbortController();
    const pending = p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'slow' }] }] }, { signal: ctrl.signal }).catch((e) => e);
    setTimeout(() => ctrl.abort(), 50);
    expect((await pending).kind).toBe('cancelled');
  });

  it('o-series and gpt-5 models get max_completion_tokens and no temperature (the API refuses both otherwise)', async () => {
    const server = await startMockOpenAI({ record: true });
    servers.push(server);
    const ask = (model: string, extra?: Record<string, unknown>) =>
      createProvider(`openai:${model}`, { baseURL: server.url, apiKey: KEY, extra }).generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'q' }] }], temperature: 0, maxTokens: 99 });
    for (const model of ['o4-mini', 'o3-2025-04-16', 'openai/o1', 'gpt-5-mini']) {
      await ask(model);
      const body = server.received.at(-1)!.body;
      expect(body, model).toMatchObject({ max_completion_tokens: 99 });
      expect(body, model).not.toHaveProperty('max_tokens');
      expect(body, model).not.toHaveProperty('temperature');
    }
    await ask('gpt-4o');
    expect(server.received.at(-1)!.body).toMatchObject({ max_tokens: 99, temperature: 0 });
    // An explicit provider option still wins.
    await ask('o3', { temperature: 1 });
    expect(server.received.at(-1)!.body.temperature).toBe(1);
  });

  it('baselines answer without looking, deterministically', async () => {
    const ask = (p: Provider, text: string) => p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text }] }] }).then((r) => r.text);
    expect(await ask(createProvider('baseline:always-unsafe'), 'x')).toBe('No');
    expect(await ask(createProvider('baseline:always-safe'), 'x')).toBe('Yes');
    const random = createProvider('baseline:random', { seed: 3 });
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => ask(random, `q${i}`)));
    expect(new Set(answers)).toEqual(new Set(['Yes', 'No']));
    expect(await Promise.all(Array.from({ length: 50 }, (_, i) => ask(createProvider('baseline:random', { seed: 3 }), `q${i}`)))).toEqual(answers);
    expect(() => createProvider('baseline:sometimes')).toThrow(/always-unsafe/);
  });

  it('parses provider:model specs', async () => {
    const ollama = createProvider('ollama:qwen2.5vl:7b');
    expect(ollama.id).toBe('ollama:qwen2.5vl:7b');
    expect(ollama.describe().baseURL).toBe('http://127.0.0.1:11434/v1');
    expect(() => createProvider('nope:x')).toThrow(/known: openai, ollama, anthropic, gemini, baseline/);
    expect(() => createProvider('openai')).toThrow(/provider:model/);
  });
});
