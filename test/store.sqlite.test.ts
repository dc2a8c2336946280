import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { openStore } from '../src/store/open.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mmsafe-store-'));
const run = (id: string) => ({ id, benchmark: 'mmsafeaware', protocol: 'awareness', model: 'openai:x', config: { run: { model: 'openai:x' } }, total: 3, createdAt: new Date().toISOString(), status: 'running' as const });
const ok = (runId: string, sampleId: string, extra: Partial<ResultRow> = {}): ResultRow => ({ runId, sampleId, status: 'ok', label: 'unsafe', subset: 'typical', response: 'No.', prediction: 'unsafe', correct: true, attempts: 1, latencyMs: 12, ...extra });

describe('SqliteStore', () => {
  it('stores runs and rows, and round-trips every field', () => {
    const store = new SqliteStore(path.join(tmp(), 'nested/dir/a.db'));
    store.createRun(run('r1'));
    store.putResult(ok('r1', '1', { details: { rationale: 'because' }, inputTokens: 10, outputTokens: 2, imageSha256: 'ab'.repeat(32) }));
    expect(store.getRun('r1')).toMatchObject({ id: 'r1', model: 'openai:x', config: { run: { model: 'openai:x' } } });
    expect(store.results('r1')).toEqual([
      { runId: 'r1', sampleId: '1', status: 'ok', label: 'unsafe', subset: 'typical', scenario: undefined, domain: undefined, attack: undefined, category: undefined, response: 'No.', prediction: 'unsafe', correct: true, errorKind: undefined, errorMessage: undefined, latencyMs: 12, inputTokens: 10, outputTokens: 2, imageSha256: 'ab'.repeat(32), attempts: 1, details: { rationale: 'because' } },
    ]);
    store.close();
  });

  it('an answer replaces an earlier error of the same sample: one row per sample', () => {
    const store = new SqliteStore(path.join(tmp(), 'b.db'));
    store.createRun(run('r'));
    store.putResult({ runId: 'r', sampleId: '1', status: 'error', label: 'unsafe', errorKind: 'server', errorMessage: 'HTTP 500', attempts: 6 });
    store.putResult(ok('r', '2'));
    expect(store.completedIds('r')).toEqual(new Set(['2']));
    expect(store.listRuns()[0]).toMatchObject({ id: 'r', done: 2, errors: 1 });
    store.putResult(ok('r', '1'));
    expect(store.results('r')).toHaveLength(2);
    expect(store.completedIds('r')).toEqual(new Set(['1', '2']));
    expect(store.listRuns()[0]).toMatchObject({ done: 2, errors: 0 });
    store.updateRun('r', { status: 'done' });
    expect(store.getRun('r')?.status).toBe('done');
    store.close();
  });

  it('two connections on one file write interleaved without losing rows', () => {
    const file = path.join(tmp(), 'shared.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    a.createRun(run('ra'));
    b.createRun(run('rb'));
    for (let i = 0; i < 200; i++) {
      a.putResult(ok('ra', String(i)));
      b.putResult(ok('rb', String(i)));
    }
    expect(a.results('rb')).toHaveLength(200);
    expect(b.results('ra')).toHaveLength(200);
    a.close();
    b.close();
  });

  it('an unwritable path is a clear error naming it', () => {
    const notADir = path.join(tmp(), 'plain-file');
    writeFileSync(notADir, 'x');
    const bad = path.join(notADir, 'x.db');
    expect(() => new SqliteStore(bad)).toThrow(`cannot open the database at ${bad}`);
    expect(() => new SqliteStore(bad)).toThrow(/--db/);
    expect(() => openStore('postgres://localhost/x')).toThrow(/PostgreSQL/);
  });
});
