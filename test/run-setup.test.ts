import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { splitOf } from '../src/datasets/split.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate, RunSetupError } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

let dir: string;
let store: SqliteStore;
const servers: MockServer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-setup-'));
  await writeDemoBenchmark(dir);
  store = new SqliteStore(path.join(dir, 's.db'));
});
afterAll(async () => {
  await store.close();
  await Promise.all(servers.map((s) => s.close()));
});
async function mock(opts: Parameters<typeof startMockOpenAI>[0] = {}) {
  const s = await startMockOpenAI(opts);
  servers.push(s);
  return s;
}

describe('run settings that combine methods, ablations and splits', () => {
  it('vcd with the text-only ablation is refused before any request', async () => {
    const model = await mock();
    const attempt = evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, method: 'vcd', ablation: 'text-only' }, { store, runId: 'vcd-text', apiKey: 'x' });
    await expect(attempt).rejects.toBeInstanceOf(RunSetupError);
    await expect(attempt).rejects.toThrow(/text-only/);
    expect(model.requests).toBe(0);
    expect(await store.getRun('vcd-text')).toBeUndefined();
  });

  it('few-shot on the held-out side of a split draws its examples from the training side only', async () => {
    const model = await mock();
    const split = { part: 'test' as const, ratio: 0.5, seed: 3 };
    await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, method: 'few-shot:3', split }, { store, runId: 'fs-split', apiKey: 'x' });
    const rows = await store.results('fs-split');
    expect(rows.length).toBeGreaterThan(0);
    for (const r of rows) {
      expect(splitOf(r.sampleId, 0.5, 3)).toBe('test');
      const shots = r.details?.shots as string[];
      expect(shots).toHaveLength(3);
      for (const id of shots) expect(splitOf(id, 0.5, 3)).toBe('train');
    }
  });

  it('the captioner has its own base URL, and the caption prompt is stored with the run', async () => {
    const model = await mock();
    const captioner = await mock({ respond: () => 'A kitchen with a stove.' });
    await evaluate(
      { benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, ablation: 'caption', captioner: 'openai:cap', captionerBaseURL: captioner.url, limit: 4 },
      { store, runId: 'cap-url', apiKey: 'x' },
    );
    expect(captioner.requests).toBeGreaterThan(0);
    expect((await store.results('cap-url')).every((r) => r.status === 'ok')).toBe(true);
    const ablation = (await store.getRun('cap-url'))!.config.ablation as { caption_prompt?: string; captioner?: string };
    expect(ablation.captioner).toBe('openai:cap');
    expect(ablation.caption_prompt).toMatch(/Describe this image/);
  });
});
