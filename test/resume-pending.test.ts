import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Provider, ResultRow, Sample } from '../src/core/types.ts';
import { ImageCache } from '../src/images/cache.ts';
import type { Protocol } from '../src/protocols/protocol.ts';
import { executeRun, unitsOf, type Unit } from '../src/runner/run.ts';
import { countStored } from '../src/runner/session.ts';
import { SCAN_PAGE } from '../src/store/columns.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { answerKey, type Store } from '../src/store/store.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';
import { storedConfig } from './helpers/run-config.ts';

/*
 * What a resume asks: every answer of the selection the store does not hold for good (an answer or
 * a content-policy block; an error is asked again), found a page of items at a time, so a resume of
 * a large run never holds the whole set of stored keys.
 */

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);
const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pending-'));
afterAll(async () => {
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

type Open = () => Promise<Store>;
const kinds: [string, Open | undefined][] = [
  ['SQLite', async () => new SqliteStore(path.join(dir, 'pending.db'))],
  ['PostgreSQL', pg ? () => PostgresStore.connect(pg.url) : undefined],
];

let runs = 0;
async function withRun(open: Open, body: (store: Store, runId: string) => Promise<void>) {
  const store = await open();
  const runId = `pending${++runs}`;
  try {
    await store.createRun({ id: runId, benchmark: 'custom', protocol: 'awareness', model: 'openai:x', config: storedConfig({ benchmark: 'custom' }), total: 0, createdAt: new Date().toISOString(), status: 'running' });
    await body(store, runId);
  } finally {
    await store.close();
  }
}

const row = (runId: string, sampleId: string, repeat: number, kind: 'ok' | 'blocked' | 'error'): ResultRow => ({
  runId, sampleId, ...(repeat ? { repeat } : {}), label: 'unsafe', attempts: 1,
  ...(kind === 'ok' ? { status: 'ok', response: 'No.', prediction: 'unsafe', correct: true } : { status: 'error', errorKind: kind === 'blocked' ? 'content_policy' : 'server', errorMessage: kind }),
});

async function putAll(store: Store, rows: ResultRow[]) {
  for (let i = 0; i < rows.length; i += 64) await Promise.all(rows.slice(i, i + 64).map((r) => store.putResult(r)));
}

/**
 * A run's stored rows of every shape, item i by i % 6: answered (both repeats), blocked, failed,
 * nothing, only its second answer, and an answer beyond the repeats asked (repeat 2 of 2).
 */
function storedRows(runId: string, ids: string[]): ResultRow[] {
  return ids.flatMap((id, i) => {
    switch (i % 6) {
      case 0: return [row(runId, id, 0, 'ok'), row(runId, id, 1, 'ok')];
      case 1: return [row(runId, id, 0, 'blocked'), row(runId, id, 1, 'error')];
      case 2: return [row(runId, id, 0, 'error')];
      case 3: return [];
      case 4: return [row(runId, id, 1, 'ok')];
      default: return [row(runId, id, 0, 'ok'), row(runId, id, 2, 'ok')];
    }
  });
}

/** The rule as it was before: every completed key of the run read at once, then looked up. */
async function completedTheOldWay(store: Store, runId: string): Promise<Set<string>> {
  const keys = new Set<string>();
  for await (const r of store.scanResults(runId, { slim: true })) if (r.status === 'ok' || r.errorKind === 'content_policy') keys.add(answerKey(r.sampleId, r.repeat));
  return keys;
}

const samplesOf = (ids: string[]): Sample[] => ids.map((id) => ({ id, text: `Sentence ${id}.`, label: 'unsafe' }));

/** Records what is asked, in order; answers everything. */
function asking(log: string[]) {
  const provider: Provider = {
    id: 'openai:stub',
    imageLimits: { maxSide: 1024, maxBytes: 1 << 20, accepts: ['image/jpeg'] },
    needsImages: false,
    describe: () => ({}),
    generate: async () => ({ text: 'It is unsafe.' }),
  };
  const protocol: Protocol = {
    name: 'awareness',
    describe: () => ({}),
    buildRequest: (sample) => (log.push(`ask ${sample.id}`), { messages: [{ role: 'user', content: [{ type: 'text', text: sample.text }] }] }),
    score: () => ({ prediction: 'unsafe', correct: true }),
  };
  return { provider, protocol, images: new ImageCache(provider.imageLimits) };
}

describe.each(kinds)('%s: stored answers looked up by page', (_name, open) => {
  it.skipIf(!open)('completedAmong: the asked ids\' answers and blocks among their first `repeats`, across page boundaries, in any order', async () => {
    await withRun(open!, async (store, runId) => {
      const ids = Array.from({ length: 2 * SCAN_PAGE + 3 }, (_, i) => `p${String(i).padStart(5, '0')}`);
      await putAll(store, storedRows(runId, ids));
      // Another run with the same ids, every one answered: never counted for this run.
      await putAll(store, ids.slice(0, 60).map((id) => row(`${runId}-other`, id, 0, 'ok')));
      const truth = await completedTheOldWay(store, runId);
      const expected = (asked: string[], repeats: number) => new Set(asked.flatMap((id) => Array.from({ length: repeats }, (_, r) => answerKey(id, r))).filter((k) => truth.has(k)));

      // Every id, reversed and with ids the run never stored: one call over more than two pages.
      const reversed = [...ids].reverse().concat(['never-stored', 'p99999']);
      const all = await store.completedAmong(runId, reversed, 2);
      expect(all).toEqual(expected(ids, 2));
      // The shapes, as resume reads them: answers and blocks count, errors and later repeats do not.
      const shapes = new Set(ids.slice(0, 6));
      expect([...all].filter((k) => shapes.has(k.split('\u001f')[0])).sort()).toEqual(['p00000', answerKey('p00000', 1), 'p00001', answerKey('p00004', 1), 'p00005'].sort());
      // One repeat asked (the default): first answers only.
      expect(await store.completedAmong(runId, ids)).toEqual(expected(ids, 1));
      // A selection that is a subset of what the run stored: only its own ids.
      const subset = ids.filter((_, i) => i % 7 === 3 || i % 7 === 5);
      expect(await store.completedAmong(runId, subset, 2)).toEqual(expected(subset, 2));
      // Exactly a page, a page and one, a single id, none.
      for (const asked of [ids.slice(0, SCAN_PAGE), ids.slice(1, SCAN_PAGE + 2), [ids[SCAN_PAGE]], []]) {
        expect(await store.completedAmong(runId, asked, 2)).toEqual(expected(asked, 2));
      }
      expect(await store.completedAmong('no-such-run', ids, 2)).toEqual(new Set());
    });
  });

  it.skipIf(!open)('a resume asks exactly the answers the whole-set rule left pending, in the same order, and counts the rest as done', async () => {
    await withRun(open!, async (store, runId) => {
      const ids = Array.from({ length: 2 * SCAN_PAGE + 100 }, (_, i) => `item-${(i * 7919) % 10_007}`);
      // What the run stored: rows of every shape, and items no longer in this selection.
      await putAll(store, [...storedRows(runId, ids), ...['gone-1', 'gone-2'].map((id) => row(runId, id, 0, 'ok'))]);
      const samples = samplesOf(ids);
      const before = await completedTheOldWay(store, runId);
      const expectedAsked = [...unitsOf(samples, 2)].filter((u) => !before.has(answerKey(u.sample.id, u.repeat)));
      const stored = ids.length * 2 - expectedAsked.length;
      expect(await countStored(store, runId, { samples } as never, 2)).toBe(stored);

      const log: string[] = [];
      const result = await executeRun({ runId, samples, repeats: 2, store, concurrency: 1, ...asking(log) });
      expect(log).toEqual(expectedAsked.map((u: Unit) => `ask ${u.sample.id}`));
      expect(result.progress).toMatchObject({ total: ids.length * 2, skipped: stored, done: ids.length * 2, errors: 0 });
      // Every key of the selection now held; asking again asks nothing.
      expect(await countStored(store, runId, { samples } as never, 2)).toBe(ids.length * 2);
      const again: string[] = [];
      expect((await executeRun({ runId, samples, repeats: 2, store, concurrency: 4, ...asking(again) })).progress).toMatchObject({ skipped: ids.length * 2, done: ids.length * 2 });
      expect(again).toEqual([]);
    });
  });
});

describe('the stored keys of a resumed run are never read at once', () => {
  it('each lookup covers at most a page of items, and the pages are looked up as the asking goes', async () => {
    await withRun(kinds[0][1]!, async (inner, runId) => {
      const ids = Array.from({ length: 2 * SCAN_PAGE + 250 }, (_, i) => `s${i}`);
      const pages = Math.ceil(ids.length / SCAN_PAGE);
      await putAll(inner, ids.filter((_, i) => i % 2 === 0).map((id) => row(runId, id, 0, 'ok')));
      const log: string[] = [];
      // The store as the runner sees it: reading every row is refused; lookups are logged.
      const store = new Proxy(inner, {
        get(target, key, receiver) {
          if (key === 'results' || key === 'scanResults' || key === 'queryResults') return () => Promise.reject(new Error(`the runner read every row (${String(key)})`));
          if (key === 'completedAmong') {
            return async (run: string, asked: readonly string[], repeats?: number) => {
              expect(asked.length).toBeLessThanOrEqual(SCAN_PAGE);
              log.push(`lookup ${asked.length}`);
              return target.completedAmong(run, asked, repeats);
            };
          }
          const v = Reflect.get(target, key, receiver);
          return typeof v === 'function' ? v.bind(target) : v;
        },
      }) as Store;
      const result = await executeRun({ runId, samples: samplesOf(ids), store, concurrency: 2, ...asking(log) });
      expect(result.progress).toMatchObject({ skipped: ids.length / 2, done: ids.length });
      const lookups = log.flatMap((e, i) => (e.startsWith('lookup') ? [i] : []));
      // One pass counting what is stored, then one finding what to ask, page by page, while asking.
      expect(lookups).toHaveLength(2 * pages);
      expect(log.slice(0, pages + 1).every((e) => e.startsWith('lookup'))).toBe(true);
      const asksBetween = lookups.slice(pages).map((at, p, rest) => log.slice(at + 1, rest[p + 1] ?? log.length).length);
      expect(asksBetween).toEqual([SCAN_PAGE / 2, SCAN_PAGE / 2, 125]);
      expect(log.filter((e) => e.startsWith('ask'))).toEqual(ids.filter((_, i) => i % 2 === 1).map((id) => `ask ${id}`));

      // A new run (nothing stored) is counted once and asked in order, without a second pass.
      log.length = 0;
      await executeRun({ runId: `${runId}-new`, samples: samplesOf(ids), store, concurrency: 2, ...asking(log) });
      expect(log.filter((e) => e.startsWith('lookup'))).toHaveLength(pages);
      expect(log.filter((e) => e.startsWith('ask'))).toEqual(ids.map((id) => `ask ${id}`));
    });
  });
});
