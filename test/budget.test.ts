import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate, openRun, type RunSession } from '../src/runner/evaluate.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { Store } from '../src/store/store.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

let dir: string;
let prices: string;
let model: MockServer;
const servers: MockServer[] = [];
// Every answer reports 1,000 input and 100 output tokens; at $1,000 per million each costs $1.10.
const PER_ANSWER = 1.1;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-budget-'));
  await writeDemoBenchmark(dir);
  prices = path.join(dir, 'prices.json');
  writeFileSync(prices, JSON.stringify({ 'openai:pricey': { input: 1000, output: 1000 }, 'openai:judge': { input: 1000, output: 1000 } }));
  model = await startMockOpenAI({ latencyMs: 15, respond: () => ({ text: 'No.', usage: { input: 1000, output: 100 } }) });
  servers.push(model);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Open = () => Promise<Store>;
const kinds: [string, Open | undefined][] = [
  ['SQLite', async () => new SqliteStore(path.join(dir, 'budget.db'))],
  ['PostgreSQL', pg ? () => PostgresStore.connect(pg.url) : undefined],
];

describe.each(kinds)('--max-cost on a %s store shared by two processes', (name, open) => {
  it.skipIf(!open)('holds for the run: together they spend no more than the budget, and every answer paid is counted', async () => {
    const [a, b] = [await open!(), await open!()];
    try {
      const runId = `shared-${name}`;
      const config = { benchmark: 'demo', data: dir, model: 'openai:pricey', baseURL: model.url, prices, maxCost: 10, concurrency: 2 };
      const first = (await openRun(config, { store: a, runId, mode: 'create', apiKey: 'x' })) as RunSession;
      const second = (await openRun(undefined, { store: b, runId, mode: 'attach', apiKey: 'x' })) as RunSession;
      const before = model.requests;
      const results = await Promise.all([first.execute(first.dataset.samples), second.execute(second.dataset.samples)]);
      const sent = model.requests - before;
      // Both stop for the budget (resumable), before the 26 samples are done.
      expect(results.map((r) => r.stopped?.budget)).toEqual([true, true]);
      expect(sent).toBeGreaterThan(2);
      expect(sent * PER_ANSWER).toBeLessThanOrEqual(10);
      expect(await a.spentUsd(runId)).toBeCloseTo(sent * PER_ANSWER, 9);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('--max-cost with a sample backing off from a server error', () => {
  // The failing sample keeps a budget hold while it waits; were its slot given to another sample,
  // that one could wait for the hold to settle while the first waits for the slot.
  it.each([4, 5, 8, 20])('ends at a budget of %i dollars instead of hanging', async (maxCost) => {
    // The second request fails, slowly: the other slot's answers arrive before it does.
    let n = 0;
    const server = await startMockOpenAI({
      latencyMs: () => (n === 2 ? 60 : 5),
      faults: () => (++n === 2 ? '500' : undefined),
      respond: () => ({ text: 'No.', usage: { input: 1000, output: 100 } }),
    });
    servers.push(server);
    const store = new SqliteStore(path.join(dir, `backoff-${maxCost}.db`));
    try {
      const run = evaluate({ benchmark: 'demo', data: dir, model: 'openai:pricey', baseURL: server.url, prices, maxCost, concurrency: 2, retryBaseMs: 200 }, { store, runId: 'b', apiKey: 'x' });
      const hung = new Promise((resolve) => setTimeout(() => resolve('hung'), 15_000).unref());
      const result = await Promise.race([run, hung]);
      expect(result).not.toBe('hung');
      expect((await store.spentUsd('b')) <= maxCost + 1e-9).toBe(true);
    } finally {
      await store.close();
    }
  });
});

describe('an answer paid for before the run stopped', () => {
  it('is stored with its cost when the run stops while it is being judged', async () => {
    const controller = new AbortController();
    // The run is stopped while the first answer is with the judge.
    let judging = 0;
    const judge = await startMockOpenAI({
      latencyMs: () => (judging++ === 0 ? (setTimeout(() => controller.abort(new Error('stop')), 20), 5000) : 1),
      respond: () => JSON.stringify({ verdict: 'unsafe', rationale: 'r' }),
    });
    servers.push(judge);
    const store = new SqliteStore(path.join(dir, 'judging.db'));
    try {
      const before = model.requests;
      const result = await evaluate(
        { benchmark: 'demo', data: dir, model: 'openai:pricey', baseURL: model.url, prices, protocol: 'response', judge: 'openai:judge', judgeBaseURL: judge.url, concurrency: 1, limit: 3 },
        { store, runId: 'judging', apiKey: 'x', signal: controller.signal },
      );
      expect(result.stopped?.reason).toBe('interrupted');
      const sent = model.requests - before;
      expect(sent).toBe(1);
      const rows = await store.results('judging');
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ status: 'error', errorKind: 'cancelled', response: 'No.', inputTokens: 1000, outputTokens: 100 });
      expect(rows[0].costUsd).toBeCloseTo(PER_ANSWER, 9);
      expect(await store.spentUsd('judging')).toBeCloseTo(PER_ANSWER, 9);
      // Resume asks it again (it was never judged): the answer is replaced, the money stays counted.
      const resumed = await evaluate(undefined, { store, runId: 'judging', resume: true, apiKey: 'x' });
      expect(resumed.stopped).toBeUndefined();
      expect((await store.results('judging')).map((r) => r.status)).toEqual(['ok', 'ok', 'ok']);
      expect(await store.spentUsd('judging')).toBeGreaterThanOrEqual(4 * PER_ANSWER);
    } finally {
      await store.close();
    }
  });
});
