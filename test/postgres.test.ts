import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { summarizeAwarenessRun } from '../src/report/summary.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { displayLocation } from '../src/store/open.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli, type CliResult } from './helpers/cli.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase, type TestDatabase } from './helpers/postgres.ts';
import { storedConfig } from './helpers/run-config.ts';

const db: TestDatabase | undefined = await testDatabase();
if (!db) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

let dir: string;
let data: string;
const N = 480;
const servers: MockServer[] = [];

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pg-test-'));
  await writeDemoBenchmark(dir);
  const lines = Array.from({ length: N }, (_, i) =>
    JSON.stringify({ id: `p${i}`, image: `images/scene-${(i % 16) + 1}.jpg`, prompt: `Pair number ${i} about this scene.`, label: i % 3 === 0 ? 'safe' : 'unsafe', subset: i % 3 === 0 ? 'oversafe' : 'typical' }),
  );
  data = path.join(dir, 'set.jsonl');
  writeFileSync(data, lines.join('\n'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await db?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

async function mock(latencyMs = 0) {
  const s = await startMockOpenAI({ latencyMs });
  servers.push(s);
  return s;
}

const run = (id: string) => ({ id, benchmark: 'custom', protocol: 'awareness', model: 'openai:x', config: storedConfig(), total: 3, createdAt: new Date().toISOString(), status: 'running' as const });
const ok = (runId: string, sampleId: string, extra: Partial<ResultRow> = {}): ResultRow => ({ runId, sampleId, status: 'ok', label: 'unsafe', subset: 'typical', response: 'No.', prediction: 'unsafe', correct: true, attempts: 1, latencyMs: 12, ...extra });

/** The single-process SQLite run every shared-store result must equal. */
async function sqliteReference(server: MockServer) {
  const store = new SqliteStore(path.join(dir, `ref-${Math.random()}.db`));
  try {
    await evaluate({ benchmark: 'custom', data, model: 'openai:m', baseURL: server.url, concurrency: 16 }, { store, runId: 'ref', apiKey: 'x' });
    return (await summarizeAwarenessRun(store, 'ref')).metrics;
  } finally {
    await store.close();
  }
}

describe.skipIf(!db)('PostgreSQL store: the same behaviour as SQLite', () => {
  it('round-trips runs and rows, upserts one row per sample, filters, labels and captions', async () => {
    const store = await PostgresStore.connect(db!.url);
    try {
      await store.createRun(run('r1'));
      await store.putResult({ runId: 'r1', sampleId: '1', status: 'error', label: 'unsafe', errorKind: 'server', errorMessage: 'HTTP 500', attempts: 6 });
      await store.putResult(ok('r1', '2', { details: { rationale: 'because <b>' }, inputTokens: 10, outputTokens: 2, imageSha256: 'ab'.repeat(32), response: 'No, 100% _unsafe_' }));
      expect(await store.completedAmong('r1', ['1', '2'])).toEqual(new Set(['2']));
      expect((await store.listRuns()).find((r) => r.id === 'r1')).toMatchObject({ done: 2, errors: 1, config: { run: { model: 'openai:x' } } });
      await store.putResult(ok('r1', '1', { correct: false, prediction: 'safe', response: 'Yes' }));
      const rows = await store.results('r1');
      expect(rows).toHaveLength(2);
      expect(rows.find((r) => r.sampleId === '2')).toEqual({
        runId: 'r1', sampleId: '2', status: 'ok', label: 'unsafe', subset: 'typical', scenario: undefined, domain: undefined, attack: undefined, category: undefined,
        response: 'No, 100% _unsafe_', prediction: 'unsafe', correct: true, errorKind: undefined, errorMessage: undefined, latencyMs: 12, inputTokens: 10,
        outputTokens: 2, imageSha256: 'ab'.repeat(32), attempts: 1, details: { rationale: 'because <b>' },
      });
      expect((await store.queryResults('r1', { outcome: 'incorrect' }, 0, 10)).rows.map((r) => r.sampleId)).toEqual(['1']);
      // LIKE wildcards in a search are literal, as in SQLite.
      expect((await store.queryResults('r1', { search: '100%' }, 0, 10)).total).toBe(1);
      expect((await store.queryResults('r1', { search: '1_0' }, 0, 10)).total).toBe(0);
      await store.updateRun('r1', { status: 'done' });
      expect((await store.getRun('r1'))?.status).toBe('done');
      await store.putLabel({ runId: 'r1', sampleId: '1', verdict: true });
      await store.putLabel({ runId: 'r1', sampleId: '1', verdict: false });
      expect((await store.labels('r1')).map((l) => [l.sampleId, l.verdict])).toEqual([['1', false]]);
      await store.putCaption('openai:c', 'ff', 'a kitchen');
      expect(await store.getCaption('openai:c', 'ff')).toBe('a kitchen');
    } finally {
      await store.close();
    }
  });

  it('queue: claims are disjoint under contention, leases expire, storing dequeues, a late error never replaces an answer', async () => {
    const a = await PostgresStore.connect(db!.url);
    const b = await PostgresStore.connect(db!.url);
    try {
      await a.createRun(run('q'));
      const ids = Array.from({ length: 100 }, (_, i) => `s${i}`);
      expect(await a.enqueue('q', ids)).toBe(100);
      expect(await a.enqueue('q', ids)).toBe(0);
      const [ca, cb] = await Promise.all([a.claim('A', 60, 60_000, ['q']), b.claim('B', 60, 60_000, ['q'])]);
      expect(ca.length + cb.length).toBe(100);
      expect(new Set([...ca, ...cb].map((c) => c.sampleId)).size).toBe(100);
      expect(await a.claim('C', 10, 60_000, ['q'])).toEqual([]);
      expect(await a.nextRun(['q'])).toBeUndefined();
      // B dies: its leases run out and its samples become claimable again, by someone else.
      await b.renew('B', 1);
      await new Promise((r) => setTimeout(r, 30));
      expect(await a.nextRun(['q'])).toBe('q');
      const again = await a.claim('C', 200, 60_000, ['q']);
      expect(again.map((c) => c.sampleId).sort()).toEqual(cb.map((c) => c.sampleId).sort());
      // Storing a result takes the sample off the queue; an errored one is queued again by enqueue.
      expect(await a.pending(['q'])).toBe(100);
      await a.putResult(ok('q', 's0'));
      await a.putResult({ runId: 'q', sampleId: 's1', status: 'error', label: 'unsafe', errorKind: 'server', errorMessage: 'HTTP 500', attempts: 6 });
      expect(await a.pending(['q'])).toBe(98);
      // A worker whose lease expired stores its error after another stored the answer: the answer stays.
      await a.putResult({ runId: 'q', sampleId: 's0', status: 'error', label: 'unsafe', errorKind: 'timeout', errorMessage: 'late', attempts: 6 });
      expect((await a.result('q', 's0'))?.status).toBe('ok');
      await a.release('A');
      await a.release('C');
      expect(await a.enqueue('q', ['s0', 's1'])).toBe(1);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('mmsafe run --db postgres:// answers a run in one process with the metrics of the SQLite run', async () => {
    const server = await mock();
    const reference = await sqliteReference(server);
    const r = await runCli(['run', '--benchmark', 'custom', '--data', data, '--model', 'openai:m', '--base-url', server.url, '--db', db!.url, '--run-id', 'single', '--quiet', '--concurrency', '16']).done;
    expect(r.code, r.stderr).toBe(0);
    const store = await PostgresStore.connect(db!.url);
    try {
      expect(await store.results('single')).toHaveLength(N);
      expect((await summarizeAwarenessRun(store, 'single')).metrics).toEqual(reference);
      expect((await store.getRun('single'))?.status).toBe('done');
      expect(await store.pending(['single'])).toBe(0);
    } finally {
      await store.close();
    }
    const runs = await runCli(['runs', '--db', db!.url]).done;
    expect(runs.stdout).toContain('single');
  });
});

describe.skipIf(!db)('cooperative workers on one shared run', () => {
  it('4 workers over 3 endpoints, 2 killed with SIGKILL mid-run: every sample stored exactly once, metrics equal a single SQLite run', async () => {
    const endpoints = [await mock(40), await mock(40), await mock(40)];
    const reference = await sqliteReference(await mock());
    const baseUrl = endpoints.map((e) => e.url).join(',');
    const enq = await runCli(['run', '--benchmark', 'custom', '--data', data, '--model', 'openai:m', '--base-url', baseUrl, '--db', db!.url, '--run-id', 'coop', '--concurrency', '4', '--enqueue']).done;
    expect(enq.code, enq.stderr).toBe(0);
    expect(enq.stdout).toContain(`${N} samples queued`);
    const store = await PostgresStore.connect(db!.url);
    try {
      expect((await store.getRun('coop'))?.status).toBe('queued');
      expect(await store.pending(['coop'])).toBe(N);
      expect(endpoints.reduce((a, e) => a + e.requests, 0)).toBe(0);

      const workers = Array.from({ length: 4 }, (_, i) => runCli(['worker', '--db', db!.url, '--runs', 'coop', '--lease', '1.5', '--worker-id', `w${i}`, '--quiet'], { OPENAI_API_KEY: 'sk-test-pg' }));
      const stored = async () => (await store.results('coop')).length;
      const deadline = Date.now() + 60_000;
      while ((await stored()) < N / 4 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
      workers[0].child.kill('SIGKILL');
      workers[1].child.kill('SIGKILL');
      const killed = await Promise.all([workers[0].done, workers[1].done]);
      expect(killed.map((k) => k.signal)).toEqual(['SIGKILL', 'SIGKILL']);
      const atKill = await stored();
      expect(atKill).toBeLessThan(N);

      const survivors: CliResult[] = await Promise.all([workers[2].done, workers[3].done]);
      for (const s of survivors) expect(s.code, s.stderr).toBe(0);
      const rows = await store.results('coop');
      expect(rows).toHaveLength(N);
      expect(new Set(rows.map((r) => r.sampleId)).size).toBe(N);
      expect(rows.every((r) => r.status === 'ok')).toBe(true);
      expect(await store.pending(['coop'])).toBe(0);
      expect((await store.getRun('coop'))?.status).toBe('done');
      expect((await summarizeAwarenessRun(store, 'coop')).metrics).toEqual(reference);

      // The killed workers' claims were answered by the survivors, at most once more each.
      const requests = endpoints.map((e) => e.requests);
      const total = requests.reduce((a, b) => a + b, 0);
      expect(total).toBeGreaterThanOrEqual(N);
      expect(total).toBeLessThan(N + 2 * 2 * 4 + 8);
      // Least-outstanding spreading: each replica gets a fair share.
      for (const n of requests) expect(n).toBeGreaterThan(total * 0.2);
      for (const s of survivors) expect(s.stderr).not.toContain('sk-test-pg');
    } finally {
      await store.close();
    }
  });

  it('an enqueued run can be finished by `mmsafe run --resume` alone, and errored samples are queued again', async () => {
    const server = await mock();
    const dead = await startMockOpenAI();
    const deadUrl = dead.url;
    await dead.close();
    const args = ['--benchmark', 'custom', '--data', data, '--model', 'openai:m', '--db', db!.url, '--limit', '60', '--quiet', '--max-attempts', '1'];
    expect((await runCli(['run', ...args, '--base-url', deadUrl, '--run-id', 'res', '--enqueue']).done).code).toBe(0);
    // Every request fails against a server that is down (past the preflight): stored as errors, taken off the queue.
    const down = await runCli(['run', '--resume', 'res', '--db', db!.url, '--quiet', '--no-preflight']).done;
    expect(down.code).toBe(1);
    expect(down.stderr).toMatch(/every sample failed \(60\)/);
    const store = await PostgresStore.connect(db!.url);
    try {
      expect(await store.pending(['res'])).toBe(0);
      expect((await store.results('res')).every((r) => r.status === 'error')).toBe(true);
      const up = await runCli(['run', '--resume', 'res', '--db', db!.url, '--base-url', server.url, '--quiet']).done;
      expect(up.code, up.stderr).toBe(0);
      const rows = await store.results('res');
      expect(rows).toHaveLength(60);
      expect(rows.every((r) => r.status === 'ok')).toBe(true);
      expect((await store.getRun('res'))?.status).toBe('done');
    } finally {
      await store.close();
    }
  });

  it('a worker with nothing queued exits at once; --runs resolves names like every command; --enqueue on SQLite is refused before anything is stored', async () => {
    const store = await PostgresStore.connect(db!.url);
    try {
      await store.createRun({ ...run('idle-finished-run'), status: 'done' });
    } finally {
      await store.close();
    }
    // A unique prefix names the run; nothing of it is queued, so the worker is done at once.
    const idle = await runCli(['worker', '--db', db!.url, '--runs', 'idle-fin', '--quiet']).done;
    expect(idle.code, idle.stderr).toBe(0);
    expect(idle.stderr).toMatch(/\(runs idle-finished-run\)/);
    expect(idle.stderr).toMatch(/stored 0 samples/);
    const typo = await runCli(['worker', '--db', db!.url, '--runs', 'idle-finishd-run', '--quiet']).done;
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no run named "idle-finishd-run".*did you mean idle-finished-run\?/);
    const sqlite = path.join(dir, 'not-shared.db');
    const refused = await runCli(['run', '--benchmark', 'custom', '--data', data, '--model', 'baseline:always-unsafe', '--db', sqlite, '--enqueue']).done;
    expect(refused.code).toBe(2);
    expect(refused.stderr).toMatch(/--enqueue needs a shared store/);
  });
});

describe('worker usage errors (no server needed)', () => {
  it('a PostgreSQL URL is printed without its password', () => {
    expect(displayLocation('postgres://me:s3cret@db.internal:5432/evals')).toBe('postgres://db.internal:5432/evals');
    expect(displayLocation('./mmsafe.db')).toBe('./mmsafe.db');
  });

  it('mmsafe worker without a postgres:// URL is a one-line usage error', async () => {
    const r = await runCli(['worker', '--db', path.join(os.tmpdir(), 'x.db')]).done;
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/needs a shared store/);
  });
});
