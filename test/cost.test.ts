import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { costOf, priceFor } from '../src/providers/pricing.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';

let server: MockServer;
let dir: string;
beforeAll(async () => {
  server = await startMockOpenAI({ latencyMs: 20 });
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-cost-'));
  await writeDemoBenchmark(dir);
});
afterAll(() => server.close());

describe('prices and cost', () => {
  it('finds prices by longest prefix; unknown models have no price (never $0)', async () => {
    expect(priceFor('openai:gpt-4o-2024-08-06')).toEqual(priceFor('openai:gpt-4o'));
    expect(priceFor('openai:gpt-4o-mini-2024-07-18')?.input).toBe(0.15);
    expect(priceFor('openai:Qwen2.5-VL-7B')).toBeUndefined();
    expect(costOf({ input: 2, output: 8, cached: 0.5 }, { inputTokens: 1_000_000, outputTokens: 500_000, cachedTokens: 200_000 })).toBeCloseTo(1.6 + 0.1 + 4, 10);
  });

  it('reports tokens and cost from the stored usage, or unknown', async () => {
    const store = new SqliteStore(path.join(dir, 'c.db'));
    await evaluate({ benchmark: 'demo', data: dir, model: 'openai:gpt-4o', baseURL: server.url }, { store, runId: 'priced', apiKey: 'x' });
    await evaluate({ benchmark: 'demo', data: dir, model: 'openai:local-vlm', baseURL: server.url }, { store, runId: 'unpriced', apiKey: 'x' });
    const priced = await summarizeStoredRun(store, 'priced');
    const rows = await store.results('priced');
    const input = rows.reduce((a, r) => a + (r.inputTokens ?? 0), 0);
    const output = rows.reduce((a, r) => a + (r.outputTokens ?? 0), 0);
    expect(priced.usage).toEqual({ input_tokens: input, output_tokens: output, cost_usd: (input * 2.5 + output * 10) / 1e6 });
    expect((await summarizeStoredRun(store, 'unpriced')).usage?.cost_usd).toBeNull();
    await store.close();
  });

  it('--max-cost stops a run cleanly and --resume finishes it', async () => {
    const prices = path.join(dir, 'prices.json');
    // So expensive that a few answers exhaust the budget.
    writeFileSync(prices, JSON.stringify({ 'openai:pricey': { input: 100_000, output: 100_000 } }));
    const db = path.join(dir, 'budget.db');
    const common = ['--benchmark', 'demo', '--data', dir, '--base-url', server.url, '--db', db, '--quiet'];
    const first = await runCli(['run', ...common, '--model', 'openai:pricey', '--prices', prices, '--max-cost', '50', '--run-id', 'b', '--concurrency', '2']).done;
    expect(first.stderr).toMatch(/--max-cost reached/);
    expect(first.stderr).toMatch(/mmsafe run --resume b/);
    const store = new SqliteStore(db);
    const partial = (await store.results('b')).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(26);
    await store.close();
    const rest = await runCli(['run', '--resume', 'b', '--db', db, '--quiet', '--max-cost', '1e9']).done;
    expect(rest.code, rest.stderr).toBe(0);
    const after = new SqliteStore(db);
    expect(await after.results('b')).toHaveLength(26);
    await after.close();
  });

  it('--dry-run prints an estimate and sends nothing; --max-cost with an unknown price is refused up front', async () => {
    const before = server.requests;
    const dry = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:gpt-4o', '--base-url', server.url, '--db', path.join(dir, 'd.db'), '--dry-run']).done;
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toMatch(/dry run: 26 samples \(0 left out\), \d+ distinct images/);
    expect(dry.stdout).toMatch(/estimated cost: \$/);
    const refused = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:local', '--base-url', server.url, '--db', path.join(dir, 'd.db'), '--max-cost', '5']).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/price of openai:local/);
    expect(server.requests).toBe(before);
  });
});
