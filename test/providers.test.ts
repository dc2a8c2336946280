import { mkdtempSync, writeFileSync } from 'node:fs';
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

  const expectations: [FaultKind, string, boolean][] = [
    ['429', 'rate_limit', true],
    ['500', 'server', true],
    ['503', 'overloaded', true],
    ['502', 'server', true],
    ['reset', 'network', true],
    ['hang', 'timeout', true],
    ['malformed-json', 'invalid_response', true],
    ['no-choices', kind === 'anthropic' ? 'content_policy' : 'invalid_response', kind !== 'anthropic'],
    ['400', 'bad_request', false],
    ['401', 'auth', false],
    ['content-filter', 'content_policy', false],
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
    if (fault === '429' && kind !== 'gemini') expect(err.retryAfterMs).toBe(0);
    await faulty.close();
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
    writeFileSync(path.join(dir, 'pic.webp'), await solid(300, 200).webp().toBuffer());
    writeFileSync(path.join(dir, 'anim.gif'), await solid(64, 64).gif().toBuffer());
    writeFileSync(path.join(dir, 'rotated.jpg'), await solid(400, 200).jpeg().withMetadata({ orientation: 6 }).toBuffer());
    writeFileSync(path.join(dir, 'png-named.jpg'), await solid(50, 40).png().toBuffer());
    writeFileSync(path.join(dir, 'corrupt.jpg'), Buffer.from('definitely not a jpeg, just text pretending'));
    writeFileSync(path.join(dir, 'empty.png'), Buffer.alloc(0));
    const names = ['huge.png', 'pic.webp', 'anim.gif', 'rotated.jpg', 'png-named.jpg', 'corrupt.jpg', 'empty.png'];
    writeFileSync(path.join(dir, 'set.jsonl'), names.map((n) => JSON.stringify({ id: n, image: n, prompt: 'ok?', label: 'safe' })).join('\n'));

    const server = await start({ record: true });
    servers.push(server);
    const provider = createProvider(`${kind}:m`, { baseURL: server.url, apiKey: KEY });
    const store = new SqliteStore(path.join(dir, 'r.db'));
    await evaluate({ benchmark: 'custom', data: path.join(dir, 'set.jsonl'), model: `${kind}:m`, baseURL: server.url, concurrency: 1 }, { store, runId: 'img', provider });
    const rows = new Map((await store.results('img')).map((r) => [r.sampleId, r]));
    const limits = provider.imageLimits;
    expect(server.received).toHaveLength(5);
    for (const req of server.received) {
      const img = req.images[0];
      expect(limits.accepts).toContain(img.mime);
      expect(img.bytes).toBeLessThanOrEqual(limits.maxBytes);
      const meta = await sharp(img.data!).metadata();
      expect(`image/${meta.format === 'jpeg' ? 'jpeg' : meta.format}`).toBe(img.mime);
      expect(Math.max(meta.width!, meta.height!)).toBeLessThanOrEqual(limits.maxSide);
    }
    const sentFor = (id: string) => server.received.find((r) => r.images[0].sha256 === rows.get(id)!.imageSha256)!.images[0];
    expect((await sharp(sentFor('huge.png').data!).metadata()).width).toBe(limits.maxSide);
    const rotated = await sharp(sentFor('rotated.jpg').data!).metadata();
    expect([rotated.width, rotated.height]).toEqual([200, 400]);
    expect(sentFor('png-named.jpg').mime).toBe('image/png');
    expect(sentFor('pic.webp').mime).toBe(limits.accepts.includes('image/webp') ? 'image/webp' : 'image/jpeg');
    if (!limits.accepts.includes('image/gif')) expect(sentFor('anim.gif').mime).not.toBe('image/gif');
    for (const bad of ['corrupt.jpg', 'empty.png']) {
      expect(rows.get(bad)).toMatchObject({ status: 'error', errorKind: 'image' });
    }
    expect((await summarizeStoredRun(store, 'img')).counts.errors).toBe(2);
    await store.close();
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
