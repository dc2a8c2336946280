import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate, RunSetupError } from '../src/runner/evaluate.ts';
import type { RunConfigInput } from '../src/runner/config.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { Store } from '../src/store/store.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

const N = 24;
let dir: string;
let data: string;
const servers: MockServer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-lease-'));
  await writeDemoBenchmark(dir);
  data = path.join(dir, 'set.jsonl');
  writeFileSync(data, Array.from({ length: N }, (_, i) => JSON.stringify({ id: `s${i}`, image: `images/scene-${(i % 8) + 1}.jpg`, prompt: `Item ${i}?`, label: 'safe' })).join('\n'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await pg?.drop();
  rmSync(dir, { recursive: true, force: true });
});

async function mock(opts: Parameters<typeof startMockOpenAI>[0] = {}) {
  const s = await startMockOpenAI(opts);
  servers.push(s);
  return s;
}

const KINDS = [
  { kind: 'sqlite', skip: false, open: (name: string): Promise<Store> => Promise.resolve(new SqliteStore(path.join(dir, `${name}.db`))) },
  { kind: 'postgres', skip: !pg, open: (): Promise<Store> => PostgresStore.connect(pg!.url) },
];

const config = (baseURL: string) => ({ benchmark: 'custom', data, model: 'openai:m', baseURL, concurrency: 4, maxAttempts: 1 });

describe.each(KINDS)('$kind: one run, several processes', ({ kind, skip, open }) => {
  it.skipIf(skip)('two --resume at once never ask one sample twice', async () => {
    const runId = `resume-${kind}`;
    const [a, b] = [await open(runId), await open(runId)];
    try {
      // Every sample ends in a (final) error: all of them are pending for a resume.
      const down = await mock({ faults: () => '400' });
      await evaluate(config(down.url), { store: a, runId, apiKey: 'x' });
      const up = await mock({ latencyMs: 30 });
      const outcomes = await Promise.allSettled([
        evaluate({ baseURL: up.url } as RunConfigInput, { store: a, runId, resume: true, apiKey: 'x' }),
        evaluate({ baseURL: up.url } as RunConfigInput, { store: b, runId, resume: true, apiKey: 'x' }),
      ]);
      expect(up.requests).toBe(N);
      expect((await a.results(runId)).filter((r) => r.status === 'ok')).toHaveLength(N);
      const refused = outcomes.filter((o) => o.status === 'rejected');
      if (kind === 'sqlite') {
        // The second process is told who has the run.
        expect(refused).toHaveLength(1);
        const reason = (refused[0] as PromiseRejectedResult).reason;
        expect(reason).toBeInstanceOf(RunSetupError);
        expect(reason.message).toMatch(new RegExp(`being worked on by another mmsafe process \\(pid ${process.pid} on ${os.hostname()}`));
      } else {
        // PostgreSQL: both work, each on the samples the other does not hold.
        expect(refused).toHaveLength(0);
      }
    } finally {
      await a.close();
      await b.close();
    }
  });

  it.skipIf(skip)('two runs started at once with the same --run-id: the loser gets the usual usage error', async () => {
    const runId = `same-id-${kind}`;
    const [a, b] = [await open(runId), await open(runId)];
    try {
      const up = await mock();
      const outcomes = await Promise.allSettled([evaluate(config(up.url), { store: a, runId, apiKey: 'x' }), evaluate(config(up.url), { store: b, runId, apiKey: 'x' })]);
      const refused = outcomes.filter((o) => o.status === 'rejected') as PromiseRejectedResult[];
      expect(refused).toHaveLength(1);
      expect(refused[0].reason).toBeInstanceOf(RunSetupError);
      expect(refused[0].reason.message).toMatch(/a run named "same-id-\w+" already exists/);
    } finally {
      await a.close();
      await b.close();
    }
  });
});

describe('SQLite run leases', () => {
  it('a lease whose holder died (same host) or stopped renewing (other host) is taken over; a live one is not', async () => {
    const store = new SqliteStore(path.join(dir, 'stale.db'));
    try {
      const up = await mock();
      await evaluate(config(up.url), { store, runId: 'stale', apiKey: 'x', signal: AbortSignal.abort() });
      const dead = spawnSync(process.execPath, ['-e', '']).pid!;
      const since = new Date().toISOString();
      expect(await store.leaseRun('stale', { holder: 'gone', host: os.hostname(), pid: dead, since }, 60_000)).toBeUndefined();
      expect(await store.leaseRun('stale', { holder: 'far', host: 'elsewhere', pid: 1, since }, 60_000)).toBeUndefined();
      // A live holder on another host keeps the run until its lease runs out.
      await expect(evaluate(undefined, { store, runId: 'stale', resume: true, apiKey: 'x' })).rejects.toThrow(/pid 1 on elsewhere/);
      expect(await store.leaseRun('stale', { holder: 'far', host: 'elsewhere', pid: 1, since }, -1)).toBeUndefined();
      const r = await evaluate(undefined, { store, runId: 'stale', resume: true, apiKey: 'x' });
      expect(r.stopped).toBeUndefined();
      expect((await store.results('stale')).filter((x) => x.status === 'ok')).toHaveLength(N);
      // Released at the end: the next resume is not refused.
      await evaluate(undefined, { store, runId: 'stale', resume: true, apiKey: 'x' });
    } finally {
      await store.close();
    }
  });
});
