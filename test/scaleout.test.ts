import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { parseEndpoints } from '../src/providers/endpoints.ts';
import { summarizeAwarenessRun } from '../src/report/summary.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';

let dir: string;
let data: string;
const servers: MockServer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-scale-'));
  await writeDemoBenchmark(dir);
  const lines = Array.from({ length: 240 }, (_, i) => JSON.stringify({ id: `s${i}`, image: `images/scene-${(i % 18) + 1}.jpg`, prompt: `Sentence ${i}.`, label: i % 4 ? 'unsafe' : 'safe', subset: i % 4 ? 'typical' : 'oversafe' }));
  data = path.join(dir, 'set.jsonl');
  writeFileSync(data, lines.join('\n'));
});
afterAll(async () => Promise.all(servers.map((s) => s.close())));

async function mock(latencyMs = 10) {
  const s = await startMockOpenAI({ latencyMs });
  servers.push(s);
  return s;
}

describe('several endpoints for one model', () => {
  it('parses comma lists and endpoint files', async () => {
    expect(parseEndpoints('http://a:1/v1,http://b:2/v1')).toEqual([{ url: 'http://a:1/v1' }, { url: 'http://b:2/v1' }]);
    expect(parseEndpoints('# replicas\nhttp://a:1/v1 8\n\nhttp://b:2/v1\n')).toEqual([{ url: 'http://a:1/v1', limit: 8 }, { url: 'http://b:2/v1' }]);
    expect(() => parseEndpoints('ftp://x')).toThrow(/not an http/);
  });

  it('spreads requests fairly over the endpoints, and reports them per endpoint', async () => {
    const eps = [await mock(), await mock(), await mock()];
    const store = new SqliteStore(path.join(dir, 'spread.db'));
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', endpoints: eps.map((e) => ({ url: e.url })), concurrency: 12 }, { store, runId: 'spread', apiKey: 'x' });
    const total = eps.reduce((a, e) => a + e.requests, 0);
    expect(total).toBe(240);
    for (const e of eps) expect(e.requests).toBeGreaterThan(240 * 0.25);
    const s = await summarizeAwarenessRun(store, 'spread') as { endpoints?: { url: string; requests: number }[] };
    expect(s.endpoints?.map((e) => e.requests).sort()).toEqual(eps.map((e) => e.requests).sort());
    await store.close();
  });

  it('with one endpoint down the run still completes, and the dead one is taken out of rotation', async () => {
    const live = [await mock(), await mock()];
    const dead = await startMockOpenAI();
    const deadUrl = dead.url;
    await dead.close();
    const store = new SqliteStore(path.join(dir, 'down.db'));
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', endpoints: [{ url: live[0].url }, { url: deadUrl }, { url: live[1].url }], concurrency: 8, retryBaseMs: 1, maxAttempts: 10 }, { store, runId: 'down', apiKey: 'x' });
    const s = await summarizeAwarenessRun(store, 'down') as unknown as { counts: { errors: number; evaluated: number }; endpoints?: { url: string; requests: number; errors: number; benched: number }[] };
    expect(s.counts).toMatchObject({ errors: 0, evaluated: 240 });
    const deadStats = s.endpoints!.find((e) => e.url === deadUrl)!;
    expect(deadStats.benched).toBeGreaterThan(0);
    expect(deadStats.requests).toBeLessThan(40);
    await store.close();
  });

  it('a per-endpoint limit caps the requests in flight on that endpoint', async () => {
    let inFlight = 0;
    let peak = 0;
    const capped = await startMockOpenAI({
      latencyMs: () => {
        inFlight++;
        peak = Math.max(peak, inFlight);
        setTimeout(() => inFlight--, 20);
        return 20;
      },
    });
    servers.push(capped);
    const other = await mock(20);
    const store = new SqliteStore(path.join(dir, 'cap.db'));
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', endpoints: [{ url: capped.url, limit: 2 }, { url: other.url }], concurrency: 16, limit: 80 }, { store, runId: 'cap', apiKey: 'x' });
    expect(peak).toBeLessThanOrEqual(2);
    expect(other.requests).toBeGreaterThan(capped.requests);
    await store.close();
  });
});

describe('shards and merge', () => {
  it('three shard processes and `mmsafe merge` give the metrics of a single run, each sample once', async () => {
    const server = await mock(2);
    const common = ['run', '--benchmark', 'custom', '--data', data, '--model', 'openai:m', '--base-url', server.url, '--run-id', 'big', '--quiet'];
    const single = await runCli([...common, '--db', path.join(dir, 'single.db')]).done;
    expect(single.code, single.stderr).toBe(0);
    const shards = await Promise.all([0, 1, 2].map((i) => runCli([...common, '--shard', `${i}/3`, '--db', path.join(dir, `shard${i}.db`)]).done));
    for (const r of shards) expect(r.code, r.stderr).toBe(0);
    const shardDbs = [0, 1, 2].map((i) => path.join(dir, `shard${i}.db`));
    const merged = path.join(dir, 'merged.db');
    const m = await runCli(['merge', '--db', merged, ...shardDbs]).done;
    expect(m.code, m.stderr).toBe(0);
    // Merging a shard twice changes nothing.
    await runCli(['merge', '--db', merged, shardDbs[0]]).done;
    const a = new SqliteStore(path.join(dir, 'single.db'));
    const b = new SqliteStore(merged);
    expect(await b.results('big')).toHaveLength(240);
    const sa = await summarizeAwarenessRun(a, 'big');
    const sb = await summarizeAwarenessRun(b, 'big');
    expect(sb.metrics).toEqual(sa.metrics);
    expect(sb.counts).toEqual(sa.counts);
    await a.close();
    await b.close();
    const bad = await runCli([...common, '--shard', '3/3', '--db', path.join(dir, 'x.db')]).done;
    expect(bad.code).toBe(2);
  });
});
