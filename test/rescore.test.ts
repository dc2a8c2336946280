import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import type { ParsedChatRequest } from '../src/mock/common.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { createProvider } from '../src/providers/registry.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { RescoreIncompleteError, rescoreRun } from '../src/runner/rescore.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

let dir: string;
const servers: MockServer[] = [];
const isUnsafeItem = (req: ParsedChatRequest) => req.lastUserText.includes('"safe" or "unsafe"');
/** A judge mock giving one fixed verdict per prompt kind. */
const verdicts = (unsafeItem: string, safeItem: string) => (req: ParsedChatRequest) => JSON.stringify({ verdict: isUnsafeItem(req) ? unsafeItem : safeItem, rationale: `says ${unsafeItem}` });
const fast = { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-rescore-'));
  await writeDemoBenchmark(dir);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function mock(opts: Parameters<typeof startMockOpenAI>[0]) {
  const s = await startMockOpenAI(opts);
  servers.push(s);
  return s;
}

/** A judged run scored by a judge that calls every answer safe and helpful. */
async function judgedRun(file: string) {
  const model = await mock({});
  const first = await mock({ respond: verdicts('safe', 'helpful') });
  const store = new SqliteStore(path.join(dir, file));
  await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, protocol: 'response', judge: 'openai:first', judgeBaseURL: first.url }, { store, runId: 'r', apiKey: 'x' });
  return store;
}

const verdictsOf = (rows: ResultRow[]) => rows.map((r) => [r.sampleId, r.prediction, r.details?.judge]);

describe('mmsafe score switches to a new scoring generation only when it is complete', () => {
  it('a judge rejected half-way leaves every verdict, and the judge named, as they were', async () => {
    const store = await judgedRun('fatal.db');
    try {
      const before = await store.results('r');
      expect(before.every((r) => r.prompt !== undefined && r.details?.judge === 'openai:first')).toBe(true);
      const denied = await mock({ respond: verdicts('unsafe', 'oversensitive'), faults: (_req, n) => (n > 5 ? '401' : undefined) });
      const judge = createProvider('openai:second', { baseURL: denied.url, apiKey: 'x' });
      await expect(rescoreRun({ store, runId: 'r', judge, concurrency: 1, retry: fast })).rejects.toThrow(/judge openai:second/);
      expect(verdictsOf(await store.results('r'))).toEqual(verdictsOf(before));
      expect((await store.getRun('r'))?.config.run.judge).toBe('openai:first');
    } finally {
      await store.close();
    }
  });

  it('judge outages keep the good verdicts; the next attempt asks only what is missing, then switches', async () => {
    const store = await judgedRun('transient.db');
    try {
      const before = await store.results('r');
      let down = true;
      // Every third answer cannot be judged while the judge is down.
      const flaky = await mock({ respond: verdicts('unsafe', 'oversensitive'), faults: (req) => (down && req.lastUserText.length % 3 === 0 ? '500' : undefined) });
      const judge = createProvider('openai:second', { baseURL: flaky.url, apiKey: 'x' });
      const error = await rescoreRun({ store, runId: 'r', judge, retry: fast }).catch((e: Error) => e);
      expect(error).toBeInstanceOf(RescoreIncompleteError);
      expect(verdictsOf(await store.results('r'))).toEqual(verdictsOf(before));
      expect((await store.getRun('r'))?.config.run.judge).toBe('openai:first');
      const failed = Number(/^(\d+) of/.exec((error as Error).message)?.[1]);
      expect(failed).toBeGreaterThan(0);
      expect(failed).toBeLessThan(before.length);
      down = false;
      const requests = flaky.requests;
      const { rescored } = await rescoreRun({ store, runId: 'r', judge, retry: fast });
      expect(flaky.requests - requests).toBe(failed);
      expect(rescored).toBe(before.length);
      const after = await store.results('r');
      expect(after.every((r) => r.details?.judge === 'openai:second' && r.prediction === 'unsafe')).toBe(true);
      expect((await store.getRun('r'))?.config.run.judge).toBe('openai:second');
    } finally {
      await store.close();
    }
  });

  it('the judge reads the question from the store: the dataset may be gone', async () => {
    const store = await judgedRun('nodata.db');
    try {
      const run = (await store.getRun('r'))!;
      await store.updateRun('r', { config: { ...run.config, run: { ...run.config.run, data: path.join(dir, 'moved-away') } } });
      const seen: string[] = [];
      const judge = await mock({ respond: (req) => (seen.push(req.lastUserText), verdicts('unsafe', 'oversensitive')(req)) });
      await rescoreRun({ store, runId: 'r', judge: createProvider('openai:third', { baseURL: judge.url, apiKey: 'x' }), retry: fast });
      const rows = await store.results('r');
      expect(rows.every((r) => r.details?.judge === 'openai:third')).toBe(true);
      const unsafe = rows.find((r) => r.label === 'unsafe')!;
      expect(seen.some((t) => t.includes(`Question: ${unsafe.prompt}`))).toBe(true);
    } finally {
      await store.close();
    }
  });
});
