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
    // Snapshots and version aliases share their model's price...
    expect(priceFor('anthropic:claude-opus-4-20250514')?.input).toBe(15);
    expect(priceFor('anthropic:claude-opus-4-0')?.input).toBe(15);
    expect(priceFor('gemini:gemini-2.0-flash-001')).toEqual(priceFor('gemini:gemini-2.0-flash'));
    expect(priceFor('openai:gpt-4o-latest')).toEqual(priceFor('openai:gpt-4o'));
    // ...but a different model whose name merely starts the same way is not charged a wrong price.
    expect(priceFor('anthropic:claude-opus-4-5-20251101')).toEqual({ input: 5, output: 25, cached: 0.5 });
    expect(priceFor('gemini:gemini-2.5-flash-lite')).toBeUndefined();
    expect(priceFor('openai:o3-pro')).toBeUndefined();
    expect(priceFor('openai:gpt-4o-audio-preview')).toBeUndefined();
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
    expect(priced.usage).toEqual({ input_tokens: input, output_tokens: output, cached_tokens: 0, reasoning_tokens: 0, cost_usd: expect.closeTo((input * 2.5 + output * 10) / 1e6, 15) });
    // Each answer's cost is stored with it, priced when it arrived.
    for (const r of rows) expect(r.costUsd).toBeCloseTo(((r.inputTokens ?? 0) * 2.5 + (r.outputTokens ?? 0) * 10) / 1e6, 15);
    expect((await summarizeStoredRun(store, 'unpriced')).usage?.cost_usd).toBeNull();
    await store.close();
  });

  it('stores cached and reasoning tokens per answer, sums them in the summary, and bills cached input at its own price', async () => {
    const usageServer = await startMockOpenAI({ respond: () => ({ text: 'Yes.', usage: { input: 1000, output: 50, cached: 600, reasoning: 20 } }) });
    const store = new SqliteStore(path.join(dir, 'tokens.db'));
    try {
      await evaluate({ benchmark: 'demo', data: dir, model: 'openai:gpt-4o', baseURL: usageServer.url }, { store, runId: 'tokens', apiKey: 'x' });
      const rows = await store.results('tokens');
      expect(rows).toHaveLength(26);
      for (const r of rows) {
        expect(r).toMatchObject({ status: 'ok', inputTokens: 1000, outputTokens: 50, cachedTokens: 600, reasoningTokens: 20 });
        expect(r.costUsd).toBeCloseTo((400 * 2.5 + 600 * 1.25 + 50 * 10) / 1e6, 15);
      }
      const { usage } = await summarizeStoredRun(store, 'tokens');
      expect(usage).toMatchObject({ input_tokens: 26_000, output_tokens: 1300, cached_tokens: 15_600, reasoning_tokens: 520 });
      // gpt-4o: $2.50 fresh input, $1.25 cached input, $10 output per million.
      expect(usage!.cost_usd).toBeCloseTo((26 * (400 * 2.5 + 600 * 1.25 + 50 * 10)) / 1e6, 12);
    } finally {
      await store.close();
      await usageServer.close();
    }
  });

  it('--max-cost stops a run cleanly and --resume finishes it', async () => {
    const prices = path.join(dir, 'prices.json');
    // So expensive that a few answers exhaust the budget (each holds its worst case, ~$190, before it is sent).
    writeFileSync(prices, JSON.stringify({ 'openai:pricey': { input: 100_000, output: 100_000 } }));
    const db = path.join(dir, 'budget.db');
    const common = ['--benchmark', 'demo', '--data', dir, '--base-url', server.url, '--db', db, '--quiet'];
    const first = await runCli(['run', ...common, '--model', 'openai:pricey', '--prices', prices, '--max-cost', '300', '--run-id', 'b', '--concurrency', '2']).done;
    expect(first.code, first.stderr).toBe(3);
    expect(first.stderr).toMatch(/--max-cost reached/);
    expect(first.stderr).toMatch(/mmsafe run --resume b/);
    const store = new SqliteStore(db);
    const partial = (await store.results('b')).length;
    expect(partial).toBeGreaterThan(0);
    expect(partial).toBeLessThan(26);
    await store.close();
    // The budget is the run's, not each process's: resuming under the same budget sends nothing.
    const requestsBefore = server.requests;
    const again = await runCli(['run', '--resume', 'b', '--db', db, '--quiet']).done;
    expect(again.code, again.stderr).toBe(3);
    expect(server.requests).toBe(requestsBefore);
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
    const unknown = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:local-vlm', '--base-url', server.url, '--db', path.join(dir, 'd.db'), '--dry-run']).done;
    expect(unknown.code, unknown.stderr).toBe(0);
    expect(unknown.stdout).toMatch(/estimated cost: unknown/);
    expect(unknown.stdout).not.toMatch(/\$0/);
    const refused = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:local', '--base-url', server.url, '--db', path.join(dir, 'd.db'), '--max-cost', '5']).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/price of openai:local/);
    expect(server.requests).toBe(before);
  });
});
