import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createProgressReporter } from '../src/cli/progress.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import type { RunProgress } from '../src/runner/run.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';

describe('progress', () => {
  it('counts answers and errors as done, and a resumed run starts from what is stored', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-progress-'));
    await writeDemoBenchmark(dir);
    const data = path.join(dir, 'set.jsonl');
    writeFileSync(data, Array.from({ length: 40 }, (_, i) => JSON.stringify({ id: `g${i}`, image: `images/scene-${(i % 8) + 1}.jpg`, prompt: `Pair ${i}.`, label: 'unsafe' })).join('\n'));
    // Sample g3 always fails with a 400; the other 39 are answered.
    const server = await startMockOpenAI({ respond: () => 'No.', faults: (req) => (req.lastUserText.includes('Pair 3.') ? '400' : undefined) });
    const store = new SqliteStore(path.join(dir, 'p.db'));
    try {
      const seen: RunProgress[] = [];
      await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 4, limit: 30 }, { store, runId: 'p', apiKey: 'x', onProgress: (p) => seen.push({ ...p }) });
      const last = seen.at(-1)!;
      expect(last).toMatchObject({ total: 30, done: 30, skipped: 0, errors: 1 });
      // done only grows, one sample at a time.
      expect(seen.map((p) => p.done)).toEqual([...seen.map((p) => p.done)].sort((a, b) => a - b));

      const lines: string[] = [];
      const stream = { isTTY: false, write: (s: string) => lines.push(s) } as unknown as NodeJS.WriteStream;
      const reporter = createProgressReporter(stream);
      reporter.finish(last);
      expect(lines.join('')).toMatch(/^progress: 30\/30 100% \| [\d.]+ it\/s \| errors 1 \| retries 0/);

      const resumed: RunProgress[] = [];
      await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 4 }, { store, runId: 'p', resume: true, apiKey: 'x', onProgress: (p) => resumed.push({ ...p }) });
      // The stored errored sample is asked again (and fails again); the 29 answers are not.
      expect(resumed[0]).toMatchObject({ total: 30, skipped: 29 });
      expect(resumed.at(-1)).toMatchObject({ total: 30, done: 30, errors: 1 });
    } finally {
      await store.close();
      await server.close();
    }
  });
});

/** Collects what the reporter writes, as a terminal or as a pipe would receive it. */
function sink(isTTY: boolean) {
  const chunks: string[] = [];
  const stream = { isTTY, write: (s: string) => (chunks.push(s), true) } as unknown as NodeJS.WriteStream;
  return { stream, text: () => chunks.join(''), chunks };
}

const at = (over: Partial<RunProgress>): RunProgress => ({
  total: 200, done: 0, skipped: 0, errors: 0, retries: 0, rateLimits: 0, inFlight: 0, concurrency: 8, startedAt: Date.now() - 10_000, ...over,
});

describe('progress display', () => {
  it('on a terminal: one redrawn bar with done/total, errors, throughput, retries and rate limits', () => {
    const out = sink(true);
    const r = createProgressReporter(out.stream);
    r.update(at({ done: 50, errors: 3, retries: 7, rateLimits: 4, inFlight: 8 }), true);
    r.finish(at({ done: 200, errors: 3, retries: 7, rateLimits: 4 }));
    const [first, last] = [out.chunks[0], out.chunks.at(-2)!];
    expect(first.startsWith('\r[')).toBe(true);
    expect(first).toMatch(/50\/200 25%/);
    expect(first).toMatch(/5\.0 it\/s/); // 50 answered in 10 s
    expect(first).toMatch(/errors 3/);
    expect(first).toMatch(/retries 7/);
    expect(first).toMatch(/rate limits 4/);
    expect(first).toMatch(/ETA /);
    expect(last).toMatch(/200\/200 100%/);
    expect(out.chunks.at(-1)).toBe('\n');
  });

  it('throughput counts only this process\'s answers, not those a resumed run found stored', () => {
    const out = sink(true);
    createProgressReporter(out.stream).update(at({ done: 150, skipped: 100 }), true);
    expect(out.text()).toMatch(/5\.0 it\/s/);
  });

  it('not on a terminal: plain lines without carriage returns, a few per run rather than one per sample', () => {
    const out = sink(false);
    const r = createProgressReporter(out.stream);
    for (let done = 1; done <= 200; done++) r.update(at({ done, rateLimits: done > 100 ? 2 : 0 }));
    r.finish(at({ done: 200, rateLimits: 2 }));
    const lines = out.text().trimEnd().split('\n');
    expect(out.text()).not.toContain('\r');
    expect(lines.every((l) => l.startsWith('progress: '))).toBe(true);
    expect(lines.length).toBeGreaterThan(3);
    expect(lines.length).toBeLessThanOrEqual(13);
    expect(lines[0]).toMatch(/rate limits 0/);
    expect(lines.at(-1)).toMatch(/200\/200 100% \| .* it\/s \| errors 0 \| retries 0 \| rate limits 2/);
  });
});

describe('progress in the CLI', () => {
  const servers: MockServer[] = [];
  afterAll(async () => Promise.all(servers.map((s) => s.close())));

  it('the CLI writes plain progress lines to a pipe, ending at the run\'s size', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-progress-cli-'));
    await writeDemoBenchmark(dir);
    const server = await startMockOpenAI({ faults: (_req, n) => (n % 4 === 0 ? '429' : undefined) });
    servers.push(server);
    const r = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--base-url', server.url, '--db', path.join(dir, 'c.db'), '--concurrency', '2']).done;
    expect(r.code, r.stderr).toBe(0);
    const lines = r.stderr.split('\n').filter((l) => l.startsWith('progress: '));
    expect(r.stderr).not.toContain('\r');
    expect(lines.length).toBeGreaterThan(0);
    expect(lines.at(-1)).toMatch(/^progress: 26\/26 100% \| [\d.]+ it\/s \| errors 0 \| retries [1-9]\d* \| rate limits [1-9]/);
  });
});
