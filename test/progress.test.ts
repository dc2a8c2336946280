import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { createProgressReporter } from '../src/cli/progress.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import type { RunProgress } from '../src/runner/run.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

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
