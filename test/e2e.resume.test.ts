import { mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it } from 'vitest';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';
import { hasData, mmsafeawareDir } from './helpers/data.ts';

const present = hasData(mmsafeawareDir, 'kill -9 and resume on the real MMSafeAware data');

function storedRows(db: string, runId: string): number {
  try {
    const conn = new Database(db, { readonly: true, fileMustExist: true });
    try {
      return (conn.prepare('SELECT count(*) AS n FROM results WHERE run_id = ?').get(runId) as { n: number }).n;
    } finally {
      conn.close();
    }
  } catch {
    return 0;
  }
}

describe.skipIf(!present)('crash-safe resume', () => {
  const servers: MockServer[] = [];
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });

  it('a run killed with SIGKILL half-way and resumed gives the metrics of an uninterrupted run, each sample stored once', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-resume-'));
    const server = await startMockOpenAI({ latencyMs: 15 });
    servers.push(server);
    const common = ['--benchmark', 'mmsafeaware', '--data', mmsafeawareDir, '--model', 'openai:mock-vlm', '--base-url', server.url, '--concurrency', '8', '--quiet'];

    // Uninterrupted reference run.
    const refDb = path.join(dir, 'ref.db');
    const ref = await runCli(['run', ...common, '--db', refDb, '--run-id', 'ref']).done;
    expect(ref.code, ref.stderr).toBe(0);

    const db = path.join(dir, 'killed.db');
    const first = runCli(['run', ...common, '--db', db, '--run-id', 'killed']);
    const deadline = Date.now() + 60_000;
    while (storedRows(db, 'killed') < 600 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    first.child.kill('SIGKILL');
    const killed = await first.done;
    expect(killed.signal).toBe('SIGKILL');
    const before = storedRows(db, 'killed');
    expect(before).toBeGreaterThan(500);
    expect(before).toBeLessThan(1446);

    const requestsBefore = server.requests;
    const resumed = await runCli(['run', '--resume', 'killed', '--db', db, '--quiet', '--no-preflight']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toContain('(resumed)');
    // Only what was missing was asked again.
    expect(server.requests - requestsBefore).toBe(1446 - before);

    const a = new SqliteStore(refDb);
    const b = new SqliteStore(db);
    try {
      const rows = await b.results('killed');
      expect(rows).toHaveLength(1446);
      expect(new Set(rows.map((r) => r.sampleId)).size).toBe(1446);
      const { run_id: _a, ...refSummary } = await summarizeStoredRun(a, 'ref') as unknown as Record<string, unknown>;
      const { run_id: _b, ...resumedSummary } = await summarizeStoredRun(b, 'killed') as unknown as Record<string, unknown>;
      expect(resumedSummary).toEqual(refSummary);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
