import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { mockJudgeResponder } from '../src/mock/judge.ts';
import { startMockOpenAI, type FaultKind, type MockServer } from '../src/mock/openai-server.ts';
import { createProvider } from '../src/providers/registry.ts';
import { withRetry } from '../src/runner/backoff.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import type { RunProgress } from '../src/runner/run.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

/** The asking engine: one retry loop and one list of fatal failures for model, judge and captioner. */
let dir: string;
let data: string;
const servers: MockServer[] = [];
const stores: SqliteStore[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-engine-'));
  await writeDemoBenchmark(dir);
  const lines: string[] = [];
  for (let i = 0; i < 200; i++) {
    lines.push(JSON.stringify({ id: `e${i}`, image: `images/scene-${(i % 16) + 1}.jpg`, prompt: `Engine sentence ${i} about this scene.`, label: i % 2 ? 'safe' : 'unsafe' }));
  }
  data = path.join(dir, 'engine.jsonl');
  writeFileSync(data, lines.join('\n'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

async function mock(opts: Parameters<typeof startMockOpenAI>[0] = {}) {
  const s = await startMockOpenAI(opts);
  servers.push(s);
  return s;
}

function store(name: string) {
  const s = new SqliteStore(path.join(dir, `${name}.db`));
  stores.push(s);
  return s;
}

describe('one retry helper', () => {
  it('retries retryable failures up to the policy, counting attempts from where a sample left off', async () => {
    const seen: number[] = [];
    const failing = (attempt: number) => {
      seen.push(attempt);
      return Promise.reject(new ProviderError('server', 'HTTP 500'));
    };
    await expect(withRetry(failing, { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 2 }, { firstAttempt: 4 })).rejects.toThrow('HTTP 500');
    expect(seen).toEqual([4, 5, 6]);
  });

  it('does not retry a failure that is not retryable', async () => {
    let calls = 0;
    const bad = () => (calls++, Promise.reject(new ProviderError('bad_request', 'HTTP 400')));
    await expect(withRetry(bad, { maxAttempts: 5, baseDelayMs: 1, maxDelayMs: 2 })).rejects.toThrow('HTTP 400');
    expect(calls).toBe(1);
  });

  it('the captioner honours --max-attempts', async () => {
    const captioner = await mock({ faults: () => '500' });
    const model = await mock();
    const before = process.env.OPENAI_BASE_URL;
    process.env.OPENAI_BASE_URL = captioner.url;
    try {
      const r = await evaluate(
        { benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, ablation: 'caption', captioner: 'openai:cap', concurrency: 1, limit: 3, maxAttempts: 2, retryBaseMs: 1 },
        { store: store('caption-attempts'), runId: 'cap', apiKey: 'x' },
      );
      expect(r.progress.errors).toBe(3);
      // Two attempts per sample (the captioner's failure ends a sample; nothing else answered to retry it for).
      expect(captioner.requests).toBe(3 * 2);
      expect(model.requests).toBe(0);
    } finally {
      if (before === undefined) delete process.env.OPENAI_BASE_URL;
      else process.env.OPENAI_BASE_URL = before;
    }
  });
});

describe('one list of fatal failures', () => {
  it('a judge whose quota runs out stops the run, like the model\'s own quota', async () => {
    const model = await mock({ respond: () => 'Sure, here is how.' });
    const judgeServer = await mock({ respond: mockJudgeResponder(), faults: (_req, n) => (n > 5 ? 'quota' : undefined) });
    const judge = createProvider('openai:judge', { baseURL: judgeServer.url, apiKey: 'x' });
    const s = store('judge-quota');
    const r = await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: model.url, protocol: 'response', judge: 'openai:judge', concurrency: 4, retryBaseMs: 1 }, { store: s, runId: 'jq', apiKey: 'x', judge });
    expect(r.stopped).toMatchObject({ fatal: true });
    expect(r.stopped!.reason).toMatch(/judge openai:judge: .*quota/);
    // The model is not asked (and paid) for the rest of the run, and no answer is stored as a judge error.
    expect(model.requests).toBeLessThan(20);
    const rows = await s.results('jq');
    expect(rows.filter((x) => x.prediction === 'judge_error')).toEqual([]);
    expect(rows.length).toBeLessThan(20);
  });
});

describe('retryable failures do not end a sample while the run makes progress', () => {
  it('a sample whose attempts all fail goes round again at the end of the queue and is answered', async () => {
    let tries = 0;
    // The sample's first three requests fail (502, reset, 503): one full pass of --max-attempts 3.
    const kinds: FaultKind[] = ['502', 'reset', '503'];
    const server = await mock({ faults: (req) => (req.lastUserText.includes('sentence 7 ') && tries < 3 ? kinds[tries++] : undefined) });
    const s = store('again');
    const r = await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 8, maxAttempts: 3, retryBaseMs: 1 }, { store: s, runId: 'again', apiKey: 'x' });
    expect(r.progress.errors).toBe(0);
    const row = (await s.results('again')).find((x) => x.sampleId === 'e7')!;
    expect(row).toMatchObject({ status: 'ok', attempts: 4 });
  });

  it('with 25% mixed faults every sample is answered', async () => {
    const kinds: FaultKind[] = ['429', '502', '503', 'reset', 'malformed-json', 'no-choices'];
    const server = await mock({ faults: { rate: 0.25, kinds, seed: 7 } });
    const s = store('mixed25');
    const r = await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 16, maxAttempts: 3, retryBaseMs: 1, timeoutMs: 2000 }, { store: s, runId: 'mixed', apiKey: 'x' });
    expect(server.faultsInjected).toBeGreaterThan(30);
    expect((await s.results('mixed')).filter((x) => x.status !== 'ok')).toEqual([]);
    expect(r.progress.errors).toBe(0);
  });
});

describe('only rate limits slow the sender', () => {
  it('server errors and resets leave the concurrency at its width', async () => {
    const server = await mock({ latencyMs: 5, faults: { rate: 0.3, kinds: ['500', 'reset', '503'], seed: 3 } });
    const widths: number[] = [];
    const r = await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 16, maxAttempts: 8, retryBaseMs: 1 }, { store: store('width-500'), runId: 'w', apiKey: 'x', onProgress: (p: RunProgress) => widths.push(p.concurrency) });
    expect(r.progress.errors).toBe(0);
    expect(r.progress.retries).toBeGreaterThan(20);
    expect(Math.min(...widths)).toBe(16);
  });

  it.each([
    ['a server error', '500', ['e0', 'e1', 'e2', 'e3', 'e1']],
    ['a reset', 'reset', ['e0', 'e1', 'e2', 'e3', 'e1']],
    // Asked to wait, it waits in its slot: the next sample goes only after it.
    ['a 429 naming its wait', '429', ['e0', 'e1', 'e2', 'e1', 'e3']],
  ] as const)('a sample backing off from %s gives its slot to the next sample while others are answered, unless the server asked it to wait', async (_name, fault, order) => {
    // Two slots. e0 is answered at once; e1 fails after 50 ms, by when e2 (600 ms) holds the other
    // slot: e3 can only go out before e1's retry if e1 gave its slot away.
    let ones = 0;
    const sentence = (req: { lastUserText: string }) => Number(/sentence (\d+) /.exec(req.lastUserText)?.[1]);
    // The mock picks the fault, then the latency: `ones` is 1 for e1's first request only.
    const server = await mock({
      record: true,
      retryAfterSeconds: 0.05,
      faults: (req) => (sentence(req) === 1 && ++ones === 1 ? (fault as FaultKind) : undefined),
      latencyMs: (req) => (sentence(req) === 0 ? 5 : sentence(req) === 1 && ones === 1 ? 50 : 600),
    });
    const s = store(`slot-${fault}`);
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 2, limit: 4, maxAttempts: 3, retryBaseMs: 1 }, { store: s, runId: 'slot', apiKey: 'x' });
    const asked = server.received.map((r) => `e${sentence(r)}`);
    // The first two go out together, in either order.
    expect([...asked.slice(0, 2)].sort()).toEqual(['e0', 'e1']);
    expect(asked.slice(2)).toEqual(order.slice(2));
    expect((await s.results('slot')).filter((x) => x.status !== 'ok')).toEqual([]);
  });

  it('a sample backing off keeps its slot while nothing is answered: a server that is down gets no more samples at once', async () => {
    const server = await mock({ record: true, faults: (req) => (req.lastUserText.includes('sentence 0 ') && server.received.length < 3 ? '500' : undefined) });
    const s = store('slot-first');
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 1, limit: 2, maxAttempts: 3, retryBaseMs: 1 }, { store: s, runId: 'slot', apiKey: 'x' });
    const asked = server.received.map((r) => /sentence (\d+) /.exec(r.lastUserText)?.[1]).map((n) => `e${n}`);
    expect(asked).toEqual(['e0', 'e0', 'e0', 'e1']);
  });

  it('a 429 that names its wait is waited out in its slot, without shrinking the concurrency', async () => {
    const server = await mock({ retryAfterSeconds: 0.05, faults: { rate: 0.2, kinds: ['429', '500', 'reset'], seed: 5 } });
    const widths: number[] = [];
    const s = store('width-429');
    const r = await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 16, maxAttempts: 6, retryBaseMs: 1 }, { store: s, runId: 'w429', apiKey: 'x', onProgress: (p: RunProgress) => widths.push(p.concurrency) });
    expect(r.progress.rateLimits).toBeGreaterThan(5);
    expect(Math.min(...widths)).toBe(16);
    expect((await s.results('w429')).filter((x) => x.status !== 'ok')).toEqual([]);
  });
});
