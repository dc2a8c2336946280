import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { Store } from '../src/store/store.ts';
import { decodeText, encodeText } from '../src/store/text-codec.ts';
import { storedConfig } from './helpers/run-config.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

let dir: string;
const servers: MockServer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-text-'));
  await writeDemoBenchmark(dir);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

/** Strings a model could answer that a store could lose: NUL, lone surrogates, the codec's own marker. */
const HARD = ['Yes\u0000', '\u0000', 'a\ud800b', 'x\udc00', '\ud83d', 'emoji 😀 stays', '\uf8ffmmsafe-json:"fake"', 'tab\tand\nnewline', '\\u0000 as text'];

const KINDS = [
  { kind: 'sqlite', skip: false, open: (): Promise<Store> => Promise.resolve(new SqliteStore(path.join(dir, `t-${Math.random()}.db`))) },
  { kind: 'postgres', skip: !pg, open: (): Promise<Store> => PostgresStore.connect(pg!.url) },
];

describe('text codec', () => {
  it('round-trips every string and leaves ordinary text as it is', () => {
    for (const s of HARD) expect(decodeText(encodeText(s))).toBe(s);
    expect(encodeText('emoji 😀 stays')).toBe('emoji 😀 stays');
    expect(encodeText('Yes\u0000')).not.toMatch(/\u0000/);
  });
});

describe.each(KINDS)('$kind stores every answer byte for byte', ({ kind, skip, open }) => {
  it.skipIf(skip)('answers, error texts and details with NUL and lone surrogates come back exactly', async () => {
    const store = await open();
    const runId = `text-${kind}`;
    try {
      await store.createRun({ id: runId, benchmark: 'custom', protocol: 'awareness', model: 'openai:x', config: storedConfig(), total: HARD.length, createdAt: new Date().toISOString(), status: 'done' });
      const rows: ResultRow[] = HARD.map((s, i) => ({
        runId, sampleId: String(i), status: 'ok', label: 'safe', response: s, prediction: 'safe', correct: true, attempts: 1,
        errorMessage: `note ${s}`, details: { rationale: s, nested: [s, { [s]: s }] },
      }));
      for (const r of rows) await store.putResult(r);
      const back = await store.results(runId);
      for (const r of rows) {
        const got = back.find((b) => b.sampleId === r.sampleId)!;
        expect(got.response).toBe(r.response);
        expect(got.errorMessage).toBe(r.errorMessage);
        expect(got.details).toEqual(r.details);
      }
      expect((await store.completedAmong(runId, rows.map((r) => r.sampleId))).size).toBe(HARD.length);
    } finally {
      await store.close();
    }
  });

  it.skipIf(skip)('a model answer holding a NUL is stored as an answer, so a resume asks nothing', async () => {
    const server = await startMockOpenAI({ respond: () => 'No\u0000.' });
    servers.push(server);
    const store = await open();
    const runId = `nul-${kind}`;
    try {
      await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: server.url, limit: 4 }, { store, runId, apiKey: 'x' });
      const rows = await store.results(runId);
      expect(rows.map((r) => [r.status, r.response])).toEqual(rows.map(() => ['ok', 'No\u0000.']));
      const asked = server.requests;
      await evaluate(undefined, { store, runId, resume: true, apiKey: 'x' });
      expect(server.requests).toBe(asked);
    } finally {
      await store.close();
    }
  });
});

it('SQLite keeps ordinary answers as they are in the file (other tools read them)', async () => {
  const file = path.join(dir, 'plain.db');
  const store = new SqliteStore(file);
  await store.createRun({ id: 'p', benchmark: 'custom', protocol: 'awareness', model: 'openai:x', config: storedConfig(), total: 1, createdAt: new Date().toISOString(), status: 'done' });
  await store.putResult({ runId: 'p', sampleId: '1', status: 'ok', label: 'safe', response: 'Plain ✓ answer', attempts: 1 });
  await store.close();
  const db = new Database(file, { readonly: true });
  expect(db.prepare('SELECT response FROM results').pluck().get()).toBe('Plain ✓ answer');
  db.close();
});
