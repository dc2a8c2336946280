import { describe, expect, it } from 'vitest';
import { protocolSpec } from '../src/benchmarks/registry.ts';
import type { ResultRow } from '../src/core/types.ts';
import { summarizeWithValues } from '../src/metrics/summary.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { ScanOptions, Store } from '../src/store/store.ts';
import { storedConfig } from './helpers/run-config.ts';

/**
 * The end-of-run summary of a large run streams slim rows from the store a page at a time and
 * tallies them: it never asks for every row at once, and it says what the rows say.
 */
describe('the summary of a stored run', () => {
  it('streams slim rows in pages and equals the summary of every row', async () => {
    const store = new SqliteStore(':memory:');
    const n = 5_003;
    await store.createRun({ id: 'big', benchmark: 'custom', protocol: 'awareness', model: 'openai:x', config: storedConfig({ benchmark: 'custom', concurrency: 64 }), total: n, createdAt: new Date().toISOString(), status: 'done' });
    for (let i = 0; i < n; i++) {
      const label = i % 2 ? 'safe' : 'unsafe';
      const row: ResultRow =
        i % 97 === 0
          ? { runId: 'big', sampleId: `s${i}`, status: 'error', label, errorKind: i % 2 ? 'server' : 'timeout', errorMessage: `failed ${i}`, attempts: 6 }
          : { runId: 'big', sampleId: `s${i}`, status: 'ok', label, subset: `sub${i % 3}`, response: 'x'.repeat(500), prompt: 'a question', prediction: i % 5 ? label : 'unparsed', correct: i % 5 !== 0 && i % 7 !== 0, imageSha256: `img${i % 40}`, inputTokens: 10, outputTokens: 2, attempts: 1 };
      await store.putResult(row);
    }
    const scans: ScanOptions[] = [];
    // The store as the summary sees it: every row at once is refused; scans are recorded.
    const streaming = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'results') return () => Promise.reject(new Error('the summary read every row at once'));
        if (key === 'scanResults') return (runId: string, opts: ScanOptions = {}) => (scans.push(opts), target.scanResults(runId, opts));
        const v = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Store;
    const streamed = await summarizeStoredRun(streaming, 'big');
    expect(scans).toEqual([{ slim: true }]);
    // The same numbers as the summary of every row held at once.
    const rows = await store.results('big');
    const { summary } = summarizeWithValues(rows, protocolSpec('custom', 'awareness')!, { benchmark: 'custom', protocol: 'awareness', model: 'openai:x', samples: n, missingImage: 0, invalid: 0, runId: 'big' });
    expect(streamed.counts).toEqual(summary.counts);
    expect(streamed.metrics).toEqual(summary.metrics);
    expect(streamed.counts.errors).toBe(Math.ceil(n / 97));
    expect(streamed.usage).toMatchObject({ input_tokens: 10 * (n - Math.ceil(n / 97)), output_tokens: 2 * (n - Math.ceil(n / 97)) });
    expect(Object.keys(streamed.errors_by_kind ?? {}).sort()).toEqual(['server', 'timeout']);
    await store.close();
  });
});
