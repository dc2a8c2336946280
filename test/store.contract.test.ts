import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { recordEndpointStats } from '../src/runner/worker.ts';
import type { RunSession } from '../src/runner/evaluate.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runDurationMs, type Store } from '../src/store/store.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';
import { storedConfig } from './helpers/run-config.ts';

// The same contract on both stores; each case opens two connections, as two processes would.
const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-contract-'));
afterAll(async () => {
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Open = () => Promise<Store>;
const kinds: [string, Open | undefined][] = [
  ['SQLite', async () => new SqliteStore(path.join(dir, 'contract.db'))],
  ['PostgreSQL', pg ? () => PostgresStore.connect(pg.url) : undefined],
];

let n = 0;
async function withRun(open: Open, body: (a: Store, b: Store, runId: string) => Promise<void>) {
  const [a, b] = [await open(), await open()];
  const runId = `run${++n}`;
  try {
    await a.createRun({ id: runId, benchmark: 'custom', protocol: 'response', model: 'openai:x', config: storedConfig({ judge: 'openai:j' }), total: 3, createdAt: new Date().toISOString(), status: 'running' });
    await body(a, b, runId);
  } finally {
    await a.close();
    await b.close();
  }
}

const ok = (runId: string, sampleId: string, extra: Partial<ResultRow> = {}): ResultRow => ({ runId, sampleId, status: 'ok', label: 'unsafe', response: 'No.', prediction: 'unsafe', correct: true, attempts: 1, ...extra });

describe.each(kinds)('%s store contract', (name, open) => {
  it.skipIf(!open)('a run is stamped when it starts and when it ends; a resume keeps the first start and ends anew', async () => {
    await withRun(open!, async (a, b, runId) => {
      const created = await a.getRun(runId);
      expect(created?.startedAt).toBe(created?.createdAt);
      expect(created?.finishedAt).toBeUndefined();
      await a.updateRun(runId, { status: 'done' });
      const ended = (await b.getRun(runId))!;
      expect(Date.parse(ended.finishedAt!)).toBeGreaterThanOrEqual(Date.parse(ended.startedAt!));
      expect(runDurationMs(ended)).toBe(Date.parse(ended.finishedAt!) - Date.parse(ended.startedAt!));
      await b.updateRun(runId, { status: 'running' });
      const resumed = (await a.getRun(runId))!;
      expect(resumed.startedAt).toBe(ended.startedAt);
      expect(resumed.finishedAt).toBeUndefined();
      expect(runDurationMs(resumed)).toBeUndefined();
      await a.updateRun(runId, { status: 'stopped' });
      expect((await b.getRun(runId))!.finishedAt! >= ended.finishedAt!).toBe(true);
      // Queued for workers: not started until a worker sets it running.
      const queued = `${runId}-queued`;
      await a.createRun({ ...ended, id: queued, status: 'queued', startedAt: undefined, finishedAt: undefined });
      expect((await b.getRun(queued))?.startedAt).toBeUndefined();
      await b.updateRun(queued, { status: 'running' });
      expect((await a.getRun(queued))?.startedAt).toBeDefined();
    });
  });

  it.skipIf(!open)('a late error never replaces an answer; an answer replaces an error', async () => {
    await withRun(open!, async (a, b, runId) => {
      await a.putResult(ok(runId, '1', { prompt: 'Is it safe?', system: 'Be careful.', costUsd: 0.25 }));
      await b.putResult({ runId, sampleId: '1', status: 'error', label: 'unsafe', errorKind: 'timeout', errorMessage: 'late', attempts: 6 });
      expect(await a.result(runId, '1')).toMatchObject({ status: 'ok', response: 'No.', prompt: 'Is it safe?', system: 'Be careful.', costUsd: 0.25 });
      await a.putResult({ runId, sampleId: '2', status: 'error', label: 'unsafe', errorKind: 'server', attempts: 6 });
      await b.putResult(ok(runId, '2'));
      expect((await a.result(runId, '2'))?.status).toBe('ok');
    });
  });

  it.skipIf(!open)('a run\'s results stamp changes with every write to its rows, and only then', async () => {
    await withRun(open!, async (a, b, runId) => {
      const other = `${runId}-other`;
      await a.createRun({ ...(await a.getRun(runId))!, id: other });
      const stamps = [await b.resultsStamp(runId)];
      expect(await a.resultsStamp(runId)).toBe(stamps[0]);
      // Each write lands in a later millisecond than the one before (the stamp's time is a write time).
      const tick = () => new Promise((r) => setTimeout(r, 3));
      const writes: ((s: Store) => Promise<unknown>)[] = [
        (s) => s.putResult(ok(runId, '1')),
        (s) => s.putResult({ runId, sampleId: '2', status: 'error', label: 'unsafe', errorKind: 'server', attempts: 6 }),
        // Same counts: an error replaced by another error, then by an answer.
        (s) => s.putResult({ runId, sampleId: '2', status: 'error', label: 'unsafe', errorKind: 'timeout', attempts: 6 }),
        (s) => s.putResult(ok(runId, '2')),
        // Rescoring rewrites verdicts in place.
        async (s) => {
          await s.stageScore(runId, 'g', { sampleId: '1', prediction: 'safe', correct: false });
          await s.switchScores(runId, 'g', (await s.getRun(runId))!.config);
        },
      ];
      for (const [i, write] of writes.entries()) {
        await tick();
        await write(i % 2 ? a : b);
        stamps.push(await b.resultsStamp(runId));
        expect(new Set(stamps).size, `write ${i}`).toBe(stamps.length);
      }
      // Reads, labels and other runs' rows leave it as it was.
      const before = await a.resultsStamp(runId);
      await a.results(runId);
      await a.putLabel({ runId, sampleId: '1', verdict: true });
      await tick();
      await b.putResult(ok(other, '1'));
      expect(await b.resultsStamp(runId)).toBe(before);
      expect(await a.resultsStamp(other)).not.toBe(await a.resultsStamp(`${runId}-none`));
    });
  });

  it.skipIf(!open)('scanResults streams one run\'s rows in pages, in sample id order, and the store stays usable between pages', async () => {
    await withRun(open!, async (a, b, runId) => {
      const other = `${runId}-other`;
      await a.createRun({ ...(await a.getRun(runId))!, id: other });
      const ids = ['k', 'c', 'a', 'j', 'e', 'b', 'i', 'd', 'h', 'g', 'f'];
      for (const [i, id] of ids.entries()) {
        await a.putResult(ok(runId, id, { prompt: `question ${id}`, details: { fields: { group: `g${i % 2}` } }, imageSha256: `sha-${id}` }));
        await a.putResult(ok(other, id));
      }
      // A second answer of two items (--samples 2): the key is (sample, repeat), and a page may end between them.
      await a.putResult(ok(runId, 'c', { repeat: 1 }));
      await a.putResult(ok(runId, 'a', { repeat: 1 }));
      const seen: ResultRow[] = [];
      for await (const r of b.scanResults(runId, { pageSize: 3 })) {
        seen.push(r);
        // A write on the same connection while the scan is between pages (SQLite: no open statement).
        await b.putResult(ok(other, `z${seen.length}`));
      }
      expect(seen.map((r) => `${r.sampleId}${r.repeat ?? 0}`)).toEqual(['a0', 'a1', 'b0', 'c0', 'c1', ...'defghijk'.split('').map((x) => `${x}0`)]);
      expect(seen[0]).toMatchObject({ runId, response: 'No.', prompt: 'question a', details: { fields: { group: 'g0' } }, imageSha256: 'sha-a' });
      const slim: ResultRow[] = [];
      for await (const r of b.scanResults(runId, { slim: true, pageSize: 4 })) slim.push(r);
      expect(slim).toHaveLength(ids.length + 2);
      // What metrics read is there; the free text is not.
      expect(slim[0]).toMatchObject({ sampleId: 'a', status: 'ok', label: 'unsafe', prediction: 'unsafe', correct: true, details: { fields: { group: 'g0' } }, imageSha256: 'sha-a' });
      expect(slim[0].response).toBeUndefined();
      expect(slim[0].prompt).toBeUndefined();
      const none: ResultRow[] = [];
      for await (const r of b.scanResults('no-such-run')) none.push(r);
      expect(none).toEqual([]);
    });
  });

  it.skipIf(!open)('configuration updates from many writers at once are all kept', async () => {
    await withRun(open!, async (a, b, runId) => {
      const bump = (s: Store) => s.updateRunConfig(runId, (c) => ({ ...c, endpoint_stats: [{ url: 'http://r', requests: (c.endpoint_stats?.[0]?.requests ?? 0) + 1, errors: 0 }] }));
      await Promise.all(Array.from({ length: 20 }, (_, i) => bump(i % 2 ? a : b)));
      expect((await a.getRun(runId))?.config.endpoint_stats).toEqual([{ url: 'http://r', requests: 20, errors: 0 }]);
    });
  });

  it.skipIf(!open)('the budget holds across connections: what is spent plus what is held stays within the limit', async () => {
    await withRun(open!, async (a, b, runId) => {
      expect(await a.reserveBudget(runId, 'a1', 4, 10, 60_000)).toBe(true);
      expect(await b.reserveBudget(runId, 'b1', 4, 10, 60_000)).toBe(true);
      // 8 held: a third request of 4 would overshoot, whoever asks.
      expect(await b.reserveBudget(runId, 'b2', 4, 10, 60_000)).toBe(false);
      await a.settleBudget(runId, 'a1', 1.5);
      expect(await b.reserveBudget(runId, 'b2', 4, 10, 60_000)).toBe(true);
      await b.settleBudget(runId, 'b1', 0);
      await b.settleBudget(runId, 'b2', 2);
      expect(await a.spentUsd(runId)).toBeCloseTo(3.5, 12);
      // A hold whose process died lapses.
      expect(await a.reserveBudget(runId, 'dead', 6, 10, 1)).toBe(true);
      await new Promise((r) => setTimeout(r, 20));
      expect(await b.reserveBudget(runId, 'b3', 6, 10, 60_000)).toBe(true);
    });
  });

  it.skipIf(!open)('a scoring generation changes nothing until it is switched to, then everything at once', async () => {
    await withRun(open!, async (a, b, runId) => {
      await a.putResult(ok(runId, '1', { details: { judge: 'openai:j', rationale: 'old' }, judgeInputTokens: 5 }));
      await a.putResult(ok(runId, '2'));
      await b.stageScore(runId, 'judge:openai:k', { sampleId: '1', prediction: 'safe', correct: false, details: { judge: 'openai:k' }, judgeInputTokens: 9, judgeCostUsd: 0.5 });
      expect(await a.result(runId, '1')).toMatchObject({ prediction: 'unsafe', details: { judge: 'openai:j' }, judgeInputTokens: 5 });
      expect(await a.staged(runId, 'judge:openai:k')).toEqual([{ sampleId: '1', prediction: 'safe', correct: false, details: { judge: 'openai:k' }, judgeInputTokens: 9, judgeOutputTokens: undefined, judgeCostUsd: 0.5 }]);
      const run = (await a.getRun(runId))!;
      expect(await b.switchScores(runId, 'judge:openai:k', { ...run.config, run: { ...run.config.run, judge: 'openai:k' } })).toBe(1);
      expect(await a.result(runId, '1')).toMatchObject({ prediction: 'safe', correct: false, details: { judge: 'openai:k' }, judgeInputTokens: 9, judgeCostUsd: 0.5 });
      expect((await a.result(runId, '2'))?.prediction).toBe('unsafe');
      expect((await a.getRun(runId))?.config.run.judge).toBe('openai:k');
      expect(await a.staged(runId, 'judge:openai:k')).toEqual([]);
    });
  });
});

describe.skipIf(!pg)('PostgreSQL connections', () => {
  it('an idle pooled connection the server ends is replaced, not an uncaught error', async () => {
    const { default: pgLib } = await import('pg');
    await withRun(() => PostgresStore.connect(pg!.url), async (a, _b, runId) => {
      await a.putResult(ok(runId, '1'));
      const admin = new pgLib.Client({ connectionString: pg!.url });
      await admin.connect();
      try {
        // Every other session on this database: the store's idle pooled connections among them.
        const killed = await admin.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()');
        expect(killed.rowCount).toBeGreaterThan(0);
      } finally {
        await admin.end();
      }
      // Give the termination notices time to arrive on the idle sockets.
      await new Promise((r) => setTimeout(r, 300));
      expect((await a.result(runId, '1'))?.status).toBe('ok');
    });
  });
});

describe.skipIf(!pg)('PostgreSQL workers', () => {
  it('workers finishing at once keep every one of their endpoint counts', async () => {
    await withRun(() => PostgresStore.connect(pg!.url), async (a, b, runId) => {
      const session = (requests: number) => ({ endpointStats: () => [{ url: 'http://replica-1', requests, errors: 1, benched: 0, healthy: true }] }) as unknown as RunSession;
      await Promise.all(Array.from({ length: 8 }, (_, i) => recordEndpointStats((i % 2 ? a : b) as PostgresStore, runId, session(i + 1))));
      expect((await a.getRun(runId))?.config.endpoint_stats).toEqual([{ url: 'http://replica-1', requests: 36, errors: 8, benched: 0, healthy: true }]);
    });
  });
});
