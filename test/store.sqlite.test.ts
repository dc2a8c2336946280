import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { openStore } from '../src/store/open.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { storedConfig } from './helpers/run-config.ts';

const tmp = () => mkdtempSync(path.join(os.tmpdir(), 'mmsafe-store-'));
const run = (id: string) => ({ id, benchmark: 'mmsafeaware', protocol: 'awareness', model: 'openai:x', config: storedConfig(), total: 3, createdAt: new Date().toISOString(), status: 'running' as const });
const ok = (runId: string, sampleId: string, extra: Partial<ResultRow> = {}): ResultRow => ({ runId, sampleId, status: 'ok', label: 'unsafe', subset: 'typical', response: 'No.', prediction: 'unsafe', correct: true, attempts: 1, latencyMs: 12, ...extra });

describe('SqliteStore', () => {
  it('stores runs and rows, and round-trips every field', async () => {
    const store = new SqliteStore(path.join(tmp(), 'nested/dir/a.db'));
    await store.createRun(run('r1'));
    await store.putResult(ok('r1', '1', { details: { rationale: 'because' }, inputTokens: 10, outputTokens: 2, imageSha256: 'ab'.repeat(32) }));
    expect(await store.getRun('r1')).toMatchObject({ id: 'r1', model: 'openai:x', config: { run: { model: 'openai:x' } } });
    expect(await store.results('r1')).toEqual([
      { runId: 'r1', sampleId: '1', status: 'ok', label: 'unsafe', subset: 'typical', scenario: undefined, domain: undefined, attack: undefined, category: undefined, response: 'No.', prediction: 'unsafe', correct: true, errorKind: undefined, errorMessage: undefined, latencyMs: 12, inputTokens: 10, outputTokens: 2, imageSha256: 'ab'.repeat(32), attempts: 1, details: { rationale: 'because' } },
    ]);
    await store.close();
  });

  it('an answer replaces an earlier error of the same sample: one row per sample', async () => {
    const store = new SqliteStore(path.join(tmp(), 'b.db'));
    await store.createRun(run('r'));
    await store.putResult({ runId: 'r', sampleId: '1', status: 'error', label: 'unsafe', errorKind: 'server', errorMessage: 'HTTP 500', attempts: 6 });
    await store.putResult(ok('r', '2'));
    expect(await store.completedAmong('r', ['1', '2'])).toEqual(new Set(['2']));
    expect((await store.listRuns())[0]).toMatchObject({ id: 'r', done: 2, errors: 1 });
    await store.putResult(ok('r', '1'));
    expect(await store.results('r')).toHaveLength(2);
    expect(await store.completedAmong('r', ['1', '2'])).toEqual(new Set(['1', '2']));
    expect((await store.listRuns())[0]).toMatchObject({ done: 2, errors: 0 });
    await store.updateRun('r', { status: 'done' });
    expect((await store.getRun('r'))?.status).toBe('done');
    await store.close();
  });

  it('two connections on one file write interleaved without losing rows', async () => {
    const file = path.join(tmp(), 'shared.db');
    const a = new SqliteStore(file);
    const b = new SqliteStore(file);
    await a.createRun(run('ra'));
    await b.createRun(run('rb'));
    for (let i = 0; i < 200; i++) {
      await a.putResult(ok('ra', String(i)));
      await b.putResult(ok('rb', String(i)));
    }
    expect(await a.results('rb')).toHaveLength(200);
    expect(await b.results('ra')).toHaveLength(200);
    await a.close();
    await b.close();
  });

  it('the outcome filters do not overlap: an unparsed answer is not also "incorrect"', async () => {
    const store = new SqliteStore(path.join(tmp(), 'f.db'));
    await store.createRun(run('f'));
    await store.putResult(ok('f', 'right'));
    await store.putResult(ok('f', 'wrong', { correct: false, prediction: 'safe' }));
    await store.putResult(ok('f', 'garbled', { correct: false, prediction: 'unparsed', response: 'Maybe' }));
    await store.putResult({ runId: 'f', sampleId: 'failed', status: 'error', label: 'unsafe', errorKind: 'server', errorMessage: 'HTTP 500', attempts: 6 });
    const ids = async (outcome: 'correct' | 'incorrect' | 'unparsed' | 'error') => (await store.queryResults('f', { outcome }, 0, 10)).rows.map((r) => r.sampleId);
    expect(await ids('correct')).toEqual(['right']);
    expect(await ids('incorrect')).toEqual(['wrong']);
    expect(await ids('unparsed')).toEqual(['garbled']);
    expect(await ids('error')).toEqual(['failed']);
    await store.close();
  });

  it('an unwritable path is a clear error naming it', async () => {
    const notADir = path.join(tmp(), 'plain-file');
    writeFileSync(notADir, 'x');
    const bad = path.join(notADir, 'x.db');
    expect(() => new SqliteStore(bad)).toThrow(`cannot open the database at ${bad}`);
    expect(() => new SqliteStore(bad)).toThrow(/--db/);
    // A postgres:// URL goes to PostgreSQL; an unreachable one names the host, never the password.
    const refused = await openStore('postgres://me:s3cret@127.0.0.1:1/x').then(() => '', (e: Error) => e.message);
    expect(refused).toMatch(/cannot connect to PostgreSQL at postgres:\/\/127\.0\.0\.1:1\/x/);
    expect(refused).not.toContain('s3cret');
  });
});
