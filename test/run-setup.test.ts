import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { splitOf } from '../src/datasets/split.ts';
import { loadBenchmark } from '../src/datasets/registry.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate, RunSetupError } from '../src/runner/evaluate.ts';
import { runCli } from './helpers/cli.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { failureOf } from '../src/store/run-status.ts';

let dir: string;
let store: SqliteStore;
/** Text of the demo's first sample, to fault exactly that one. */
let firstSentence: string;
const servers: MockServer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-setup-'));
  await writeDemoBenchmark(dir);
  store = new SqliteStore(path.join(dir, 's.db'));
  firstSentence = (await loadBenchmark('demo', dir, {})).samples[0].text;
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

describe('what is stored and what is asked again', () => {
  it('the stored image hash and size are of the bytes actually sent (an ablation replaces the image)', async () => {
    const model = await mock({ record: true });
    await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, ablation: 'blank-image', limit: 3, concurrency: 1 }, { store, runId: 'sent', apiKey: 'x' });
    const rows = await store.results('sent');
    expect(rows).toHaveLength(3);
    const received = model.received.map((r) => r.images[0]);
    for (const [i, row] of rows.entries()) {
      expect(row.imageSha256).toBe(received[i].sha256);
      expect(row.details?.image_bytes).toBe(received[i].bytes);
    }
  });

  it('a content-policy block is final: resume does not ask it again', async () => {
    const model = await mock({ faults: (req) => (req.lastUserText.includes(firstSentence) ? 'content-filter' : undefined) });
    await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, concurrency: 2 }, { store, runId: 'cp', apiKey: 'x' });
    const blocked = (await store.results('cp')).filter((r) => r.errorKind === 'content_policy');
    expect(blocked.length).toBeGreaterThan(0);
    const before = model.requests;
    await evaluate(undefined, { store, runId: 'cp', resume: true, apiKey: 'x' });
    expect(model.requests).toBe(before);
  });

  it('blocks are final: the retry hint after a run does not count them', async () => {
    const model = await mock({ faults: (req) => (req.lastUserText.includes(firstSentence) ? 'content-filter' : undefined) });
    const db = path.join(dir, 'hint.db');
    const r = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--base-url', model.url, '--db', db, '--run-id', 'hint', '--no-preflight'], { OPENAI_API_KEY: 'x' }).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout + r.stderr).toMatch(/content policy 1/);
    expect(r.stderr).not.toMatch(/ended in an error/);
  });

  it('an exhausted quota stops the run at once instead of failing every sample', async () => {
    const model = await mock({ faults: () => 'quota' });
    const result = await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, concurrency: 1 }, { store, runId: 'quota', apiKey: 'x' });
    expect(result.stopped?.fatal).toBe(true);
    expect(model.requests).toBeLessThanOrEqual(2);
    // Stopped on a fatal error: stored as failed, with the reason.
    const run = await store.getRun('quota');
    expect(run?.status).toBe('failed');
    expect(failureOf(run!)).toMatch(/quota/);
  });
});

describe('a server that is down', () => {
  it('after a run of connection failures the rest are stored as errors at once, unsent, and resume asks them', async () => {
    const gone = await startMockOpenAI();
    const url = gone.url;
    await gone.close();
    const data = path.join(dir, 'down.jsonl');
    writeFileSync(data, Array.from({ length: 60 }, (_, i) => JSON.stringify({ id: `d${i}`, image: `images/scene-${(i % 8) + 1}.jpg`, prompt: `Down ${i}.`, label: 'unsafe' })).join('\n'));
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: url, concurrency: 2, maxAttempts: 3, retryBaseMs: 1 }, { store, runId: 'down', apiKey: 'x' });
    const rows = await store.results('down');
    expect(rows).toHaveLength(60);
    expect(rows.every((r) => r.status === 'error' && r.errorKind === 'network')).toBe(true);
    const unsent = rows.filter((r) => /^not sent: \d+ samples in a row could not reach the API/.test(r.errorMessage ?? ''));
    expect(unsent.length).toBeGreaterThanOrEqual(60 - 8 - 2);
    expect(unsent.every((r) => r.attempts === 0)).toBe(true);
    const live = await mock();
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: live.url }, { store, runId: 'down', resume: true, apiKey: 'x' });
    expect((await store.results('down')).every((r) => r.status === 'ok')).toBe(true);
  });
});
