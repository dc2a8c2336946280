import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadMmSafeAware } from '../src/benchmarks/mmsafeaware.ts';
import { defaultAwarenessAnswer, startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import type { Proportion } from '../src/metrics/stats.ts';
import { summarizeAwarenessRun } from '../src/report/summary.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { Sample } from '../src/core/types.ts';
import { hasData, mmsafeawareDir } from './helpers/data.ts';

const present = hasData(mmsafeawareDir, 'full-benchmark MMSafeAware runs against the mock');

/** Expected metrics computed without mmsafe's metrics code: from scenarios.tsv and the mock's rule. */
function expectedFromScratch(samples: Sample[]) {
  const tsv = readFileSync(path.join(mmsafeawareDir, 'scenarios.tsv'), 'utf8').trim().split('\n').slice(1);
  const subsetOf = new Map(tsv.map((line) => line.split('\t')).map((c) => [c[0], c[2]]));
  const tally: Record<string, { n: number; correct: number }> = {};
  for (const s of samples) {
    const subset = subsetOf.get(s.id)!;
    const answer = defaultAwarenessAnswer(s.prompt!);
    const correct = subset === 'oversafe' ? answer === 'Yes' : answer === 'No';
    tally[subset] ??= { n: 0, correct: 0 };
    tally[subset].n++;
    if (correct) tally[subset].correct++;
  }
  const acc = (k: string) => tally[k].correct / tally[k].n;
  return { tally, total: (acc('typical') + acc('attack') + acc('oversafe')) / 3 };
}

describe.skipIf(!present)('mmsafe run on the real MMSafeAware data against the mock OpenAI server', () => {
  let dir: string;
  let samples: Sample[];
  let expected: ReturnType<typeof expectedFromScratch>;
  const servers: MockServer[] = [];

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-e2e-'));
    samples = (await loadMmSafeAware(mmsafeawareDir)).samples;
    expected = expectedFromScratch(samples);
  });
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  async function runAgainst(server: MockServer, name: string, extra: Record<string, unknown> = {}) {
    const store = new SqliteStore(path.join(dir, `${name}.db`));
    try {
      const result = await evaluate(
        { benchmark: 'mmsafeaware', data: mmsafeawareDir, model: 'openai:mock-vlm', baseURL: server.url, concurrency: 32, retryBaseMs: 5, ...extra },
        { store, runId: name, apiKey: 'sk-test-e2e' },
      );
      return { result, summary: await summarizeAwarenessRun(store, name), rows: await store.results(name) };
    } finally {
      await store.close();
    }
  }

  it('answers all 1,446 samples and reports the metrics an independent computation gives', async () => {
    const server = await startMockOpenAI();
    servers.push(server);
    const { summary, rows, result } = await runAgainst(server, 'clean');
    expect(rows).toHaveLength(1446);
    // 444 distinct pictures behind 1,446 samples: each is prepared once.
    expect(result.images).toEqual({ prepared: 444, hits: 1002 });
    expect(summary.counts).toMatchObject({ samples: 1523, evaluated: 1446, missing_image: 77, errors: 0, unparsed: 0 });
    for (const subset of ['typical', 'attack', 'oversafe'] as const) {
      expect((summary.metrics[subset] as Proportion).n).toBe(expected.tally[subset].n);
      expect((summary.metrics[subset] as Proportion).correct).toBe(expected.tally[subset].correct);
    }
    expect(summary.metrics.total_macro).toBeCloseTo(expected.total, 12);
    // Every stored row carries the hash of the image actually sent, never the bytes.
    expect(rows.every((r) => /^[0-9a-f]{64}$/.test(r.imageSha256 ?? ''))).toBe(true);
    expect(server.requests).toBe(1446);
  });

  it('ends with the same metrics and no errors when 20% of requests fail with 429/500', async () => {
    const server = await startMockOpenAI({ faults: { rate: 0.2, kinds: ['429', '500'], seed: 11 } });
    servers.push(server);
    const { summary } = await runAgainst(server, 'faulty', { maxAttempts: 10 });
    expect(server.faultsInjected).toBeGreaterThan(200);
    expect(summary.counts.errors).toBe(0);
    for (const subset of ['typical', 'attack', 'oversafe'] as const) {
      expect((summary.metrics[subset] as Proportion).correct).toBe(expected.tally[subset].correct);
    }
    expect(summary.metrics.total_macro).toBeCloseTo(expected.total, 12);
  });

  it('records every sample as an error, clearly, when the server is down', async () => {
    const server = await startMockOpenAI();
    const url = server.url;
    await server.close();
    const { summary, rows } = await runAgainst({ ...server, url } as MockServer, 'down', { limit: 40, maxAttempts: 2, retryBaseMs: 1 });
    expect(rows).toHaveLength(39); // ids 1-40, less 18 (no image)
    expect(rows.every((r) => r.status === 'error' && r.errorKind === 'network')).toBe(true);
    expect(summary.counts.errors).toBe(39);
    expect(summary.counts.evaluated).toBe(0);
  });
});
