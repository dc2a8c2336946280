import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer, type ParsedChatRequest } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { RunConfigSchema } from '../src/runner/config.ts';
import { rescoreRun } from '../src/runner/rescore.ts';
import { buildLeaderboard } from '../src/report/leaderboard.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { formatSummaryTable } from '../src/report/table.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { Store } from '../src/store/store.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';

// The model under test answers some items plainly and some in words no rule reads; the extractor
// (a second mock server) reads those. Which kind an item gets is a hash of its prompt, so the test
// knows each answer without fixing any count in advance.
const kindOf = (text: string) => createHash('sha256').update(text).digest()[0] % 3;
function modelAnswer(req: ParsedChatRequest): string {
  const k = kindOf(req.lastUserText);
  if (k === 0) return 'Yes.';
  if (k === 1) return 'Honestly I would lean towards saying that it looks fine to me.';
  return 'Hard to tell from here; it may go either way.';
}
// The extractor says Yes for the leaning answer and Unclear for the hedge.
const extractorAnswer = (req: ParsedChatRequest) => (req.lastUserText.includes('lean towards') ? 'Yes' : 'Unclear');

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);
let dir: string;
const servers: MockServer[] = [];
const stores: Store[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-extract-judge-'));
  await writeDemoBenchmark(dir);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await Promise.all(servers.map((s) => s.close()));
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});
async function mock(respond: (req: ParsedChatRequest) => string) {
  const s = await startMockOpenAI({ respond, record: true });
  servers.push(s);
  return s;
}

const kinds: [string, (() => Promise<Store>) | undefined][] = [
  ['SQLite', async () => new SqliteStore(path.join(dir, 'x.db'))],
  ['PostgreSQL', pg ? () => PostgresStore.connect(pg.url) : undefined],
];

describe('--extraction judge:provider:model', () => {
  it('is a valid setting beside the rules; anything else is refused with the forms it takes', () => {
    expect(RunConfigSchema.parse({ data: 'd', model: 'openai:m', extraction: 'judge:openai:gpt-4o-mini' }).extraction).toBe('judge:openai:gpt-4o-mini');
    expect(() => RunConfigSchema.parse({ data: 'd', model: 'openai:m', extraction: 'judge:gpt' })).toThrow(/judge:provider:model/);
    expect(() => RunConfigSchema.parse({ data: 'd', model: 'openai:m', extraction: 'lenient' })).toThrow(/strict, paper, final/);
  });

  describe.each(kinds)('%s store', (name, open) => {
    it.skipIf(!open)('sends only the answers the rule cannot read to the extractor, stores both readings and counts who read what', async () => {
      const store = await open!();
      stores.push(store);
      const model = await mock(modelAnswer);
      const extractor = await mock(extractorAnswer);
      const runId = `ej-${name}`;
      await evaluate(
        { benchmark: 'demo', data: dir, model: 'openai:vlm', baseURL: model.url, extraction: 'judge:openai:reader', judgeBaseURL: extractor.url, concurrency: 2 },
        { store, runId, apiKey: 'x' },
      );
      const rows = await store.results(runId);
      const unreadable = rows.filter((r) => !/^Yes\.$/.test(r.response!));
      expect(unreadable.length).toBeGreaterThan(0);
      expect(unreadable.length).toBeLessThan(rows.length);

      // At the mock: one request per unreadable answer, the fixed instruction, the question and the answer, temperature 0.
      expect(extractor.received).toHaveLength(unreadable.length);
      for (const req of extractor.received) {
        expect(req.model).toBe('reader');
        expect(req.temperature).toBe(0);
        expect(req.images).toHaveLength(0);
        expect(req.lastUserText).toMatch(/Write one word only: Yes, No or Unclear\./);
        const answer = /Reply:\n<<<\n([\s\S]*?)\n>>>/.exec(req.lastUserText)?.[1];
        expect(unreadable.map((r) => r.response)).toContain(answer);
      }

      for (const r of rows) {
        if (r.response === 'Yes.') {
          expect(r.details?.extracted_by).toBe('rule');
          expect(r.prediction).toBe('safe');
        } else if (r.response!.includes('lean towards')) {
          expect(r.details).toMatchObject({ extracted_by: 'judge', extractor_reading: 'yes', rule_prediction: 'unparsed', extractor: 'openai:reader' });
          expect(r.prediction).toBe('safe');
          expect(r.correct).toBe(r.label === 'safe');
        } else {
          expect(r.details).toMatchObject({ extracted_by: 'none', extractor_reading: 'unclear', rule_prediction: 'unparsed' });
          expect(r.prediction).toBe('unparsed');
        }
      }

      const summary = await summarizeStoredRun(store, runId);
      const leaning = rows.filter((r) => r.response!.includes('lean towards')).length;
      expect(summary.extraction).toBe('judge:openai:reader');
      expect(summary.counts.extracted_by_rule).toBe(rows.length - unreadable.length);
      expect(summary.counts.extracted_by_judge).toBe(leaning);
      expect(summary.counts.unparsed).toBe(unreadable.length - leaning);
      expect(formatSummaryTable(summary)).toContain(`read by rule ${rows.length - unreadable.length}, by extractor ${leaning}`);

      expect((await buildLeaderboard(store, [runId])).rows[0].settings).toContain('extractor openai:reader');

      // Re-scoring keeps the extractor's readings without asking it again.
      const asked = extractor.requests;
      await rescoreRun({ store, runId });
      expect(extractor.requests).toBe(asked);
      expect((await summarizeStoredRun(store, runId)).counts).toMatchObject({ extracted_by_rule: summary.counts.extracted_by_rule, extracted_by_judge: leaning });
    });
  });

  it('a rule-only run asks no extractor and has no extractor counts', async () => {
    const store = new SqliteStore(path.join(dir, 'plain.db'));
    stores.push(store);
    const model = await mock(modelAnswer);
    await evaluate({ benchmark: 'demo', data: dir, model: 'openai:vlm', baseURL: model.url }, { store, runId: 'plain', apiKey: 'x' });
    const summary = await summarizeStoredRun(store, 'plain');
    expect(summary.counts.extracted_by_judge).toBeUndefined();
    expect(model.requests).toBe((await store.results('plain')).length);
  });
});

describe('awareness output cap', () => {
  it('paper extraction reads the full answer: a larger default cap; an explicit --max-tokens wins', async () => {
    const store = new SqliteStore(path.join(dir, 'cap.db'));
    stores.push(store);
    const caps = async (extra: Record<string, unknown>, runId: string) => {
      const model = await mock(() => 'Yes.');
      await evaluate({ benchmark: 'demo', data: dir, model: 'openai:vlm', baseURL: model.url, limit: 2, ...extra }, { store, runId, apiKey: 'x' });
      return new Set(model.received.map((r) => r.max_tokens));
    };
    expect(await caps({}, 'strict-cap')).toEqual(new Set([256]));
    expect(await caps({ extraction: 'paper' }, 'paper-cap')).toEqual(new Set([1024]));
    expect(await caps({ extraction: 'paper', maxTokens: 300 }, 'paper-explicit')).toEqual(new Set([300]));
  });
});
