import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GenerateRequest, PreparedImage } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { answerCacheKey } from '../src/runner/answer-cache.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import type { Store } from '../src/store/store.ts';
import { runCli } from './helpers/cli.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';

const image = (sha256: string): PreparedImage => ({ data: Buffer.alloc(0), mime: 'image/jpeg', sha256, bytes: 0 });
const request = (over: Partial<GenerateRequest> = {}, text = 'Is this pair safe?', sha = 'aa'): GenerateRequest => ({
  messages: [{ role: 'user', content: [{ type: 'image', image: image(sha) }, { type: 'text', text }] }],
  temperature: 0,
  maxTokens: 256,
  ...over,
});

describe('answer cache key', () => {
  it('differs for any change of model, text, image bytes, system or generation setting; not for key order', () => {
    const base = answerCacheKey('openai:m', request());
    expect(answerCacheKey('openai:m', request())).toBe(base);
    expect(answerCacheKey('openai:other', request())).not.toBe(base);
    expect(answerCacheKey('openai:m', request({}, 'Is this pair unsafe?'))).not.toBe(base);
    expect(answerCacheKey('openai:m', request({}, undefined, 'bb'))).not.toBe(base);
    expect(answerCacheKey('openai:m', request({ system: 'Be careful.' }))).not.toBe(base);
    expect(answerCacheKey('openai:m', request({ temperature: 0.7 }))).not.toBe(base);
    expect(answerCacheKey('openai:m', request({ maxTokens: 16 }))).not.toBe(base);
    expect(answerCacheKey('openai:m', request({ seed: 1 }))).not.toBe(base);
    expect(answerCacheKey('openai:m', request(), { providerOptions: { top_p: 0.5 } })).not.toBe(base);
    expect(answerCacheKey('openai:m', request({ extra: { a: 1, b: 2 } }))).toBe(answerCacheKey('openai:m', request({ extra: { b: 2, a: 1 } })));
  });
});

describe('mmsafe run --cache', () => {
  let dir: string;
  let server: MockServer;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-cache-'));
    await writeDemoBenchmark(dir);
    server = await startMockOpenAI({ latencyMs: 2 });
  });
  afterAll(async () => {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  });
  const db = () => path.join(dir, 'cache.db');
  const rows = (pairs: [string, string][]) => pairs.map(([id, prompt]) => JSON.stringify({ id, image: 'images/scene-1.jpg', prompt, label: 'unsafe', subset: 'typical' })).join('\n');
  // Without the preflight's short request, so the server's count is the samples asked.
  const run = (id: string, data: string, ...extra: string[]) =>
    runCli(['run', '--benchmark', 'custom', '--data', data, '--model', 'openai:m', '--base-url', server.url, '--db', db(), '--run-id', id, '--quiet', '--no-preflight', ...extra], { OPENAI_API_KEY: 'sk-test' }).done;
  async function stored(id: string) {
    const store = new SqliteStore(db());
    try {
      return await store.results(id);
    } finally {
      await store.close();
    }
  }

  it('asks only what changed; reused answers are marked, cost nothing and have no latency', async () => {
    const data = path.join(dir, 'set.jsonl');
    writeFileSync(data, rows([['a', 'Sentence one.'], ['b', 'Sentence two.'], ['c', 'Sentence three.'], ['d', 'Sentence four.']]));
    let before = server.requests;
    const first = await run('first', data, '--cache');
    expect(first.code, first.stderr).toBe(0);
    expect(server.requests - before).toBe(4);
    expect((await stored('first')).every((r) => r.latencyMs !== undefined && !r.details?.cached_answer)).toBe(true);

    // One sentence edited: only it is asked again.
    writeFileSync(data, rows([['a', 'Sentence one.'], ['b', 'Sentence two, edited.'], ['c', 'Sentence three.'], ['d', 'Sentence four.']]));
    before = server.requests;
    const second = await run('second', data, '--cache');
    expect(second.code, second.stderr).toBe(0);
    expect(server.requests - before).toBe(1);
    const again = await stored('second');
    const first3 = await stored('first');
    for (const r of again) {
      const reused = r.sampleId !== 'b';
      expect(Boolean(r.details?.cached_answer), r.sampleId).toBe(reused);
      expect(r.latencyMs === undefined, r.sampleId).toBe(reused);
      if (reused) {
        expect(r.inputTokens).toBeUndefined();
        expect(r.response).toBe(first3.find((x) => x.sampleId === r.sampleId)!.response);
      }
    }
    expect(second.stdout).toMatch(/3 answers from the cache \(no tokens, no latency\)/);

    // Another generation setting is another request; without --cache nothing is reused.
    before = server.requests;
    await run('third', data, '--cache', '--max-tokens', '17');
    expect(server.requests - before).toBe(4);
    before = server.requests;
    await run('fourth', data);
    expect(server.requests - before).toBe(4);
    expect((await stored('fourth')).some((r) => r.details?.cached_answer)).toBe(false);

    // cache clear (4 + 1 + 4 stored): the next cached run asks everything again.
    const cleared = await runCli(['cache', 'clear', '--db', db()]).done;
    expect(cleared.code, cleared.stderr).toBe(0);
    expect(cleared.stdout).toMatch(/removed 9 cached answers/);
    before = server.requests;
    await run('fifth', data, '--cache');
    expect(server.requests - before).toBe(4);
  });
});

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

async function roundTrip(store: Store) {
  expect(await store.getCachedAnswer('k1')).toBeUndefined();
  await store.putCachedAnswer('k1', 'openai:m', { text: 'No.', usage: { inputTokens: 5 }, finishReason: 'stop' });
  await store.putCachedAnswer('k2', 'openai:n', { text: 'Yes.' });
  expect(await store.getCachedAnswer('k1')).toEqual({ text: 'No.', usage: { inputTokens: 5 }, finishReason: 'stop' });
  expect(await store.clearCache('openai:n')).toBe(1);
  expect(await store.getCachedAnswer('k2')).toBeUndefined();
  expect(await store.clearCache()).toBe(1);
  expect(await store.getCachedAnswer('k1')).toBeUndefined();
}

describe('answer cache in each store', () => {
  it('SQLite: stores, finds, clears by model and all', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-cache-store-'));
    const store = new SqliteStore(path.join(dir, 'c.db'));
    try {
      await roundTrip(store);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!pg)('PostgreSQL: the same', async () => {
    const store = await PostgresStore.connect(pg!.url);
    try {
      await roundTrip(store);
    } finally {
      await store.close();
      await pg!.drop();
    }
  });
});
