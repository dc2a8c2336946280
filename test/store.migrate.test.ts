import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { afterAll, describe, expect, it, type TestContext } from 'vitest';
import type { Client } from 'pg';
import { runCli } from './helpers/cli.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SCHEMA_VERSION } from '../src/store/migrate.ts';
import { answerKey, runDurationMs, type Store } from '../src/store/store.ts';

// The schema mmsafe 0.1 creates (SQLite user_version 2; PostgreSQL the same tables with its types),
// captured here so the test writes an old database itself.
const SQLITE_V2 = `
CREATE TABLE runs (id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, protocol TEXT NOT NULL, model TEXT NOT NULL, config TEXT NOT NULL,
  total INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE results (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, status TEXT NOT NULL, label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT, response TEXT, prediction TEXT, correct INTEGER,
  error_kind TEXT, error_message TEXT, latency_ms INTEGER, input_tokens INTEGER, output_tokens INTEGER, image_sha256 TEXT,
  attempts INTEGER NOT NULL, details TEXT, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, sample_id));
CREATE TABLE captions (captioner TEXT NOT NULL, image_sha256 TEXT NOT NULL, caption TEXT NOT NULL, PRIMARY KEY (captioner, image_sha256));
CREATE TABLE labels (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, verdict INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, sample_id));
PRAGMA user_version = 2;
`;
const POSTGRES_V1 = `
CREATE TABLE runs (id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, protocol TEXT NOT NULL, model TEXT NOT NULL,
  config JSONB NOT NULL, total INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE results (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, status TEXT NOT NULL, label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT, response TEXT, prediction TEXT,
  correct BOOLEAN, error_kind TEXT, error_message TEXT, latency_ms INTEGER, input_tokens INTEGER,
  output_tokens INTEGER, image_sha256 TEXT, attempts INTEGER NOT NULL, details JSONB,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), seq BIGSERIAL, PRIMARY KEY (run_id, sample_id));
CREATE TABLE labels (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, verdict BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, sample_id));
CREATE TABLE captions (captioner TEXT NOT NULL, image_sha256 TEXT NOT NULL, caption TEXT NOT NULL, PRIMARY KEY (captioner, image_sha256));
CREATE TABLE queue (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, lease_until TIMESTAMPTZ, worker TEXT, PRIMARY KEY (run_id, sample_id));
`;

const settings = { data: '/data/gone', concurrency: 8, temperature: 0, timeoutMs: 120000, maxAttempts: 6, retryBaseMs: 500, methodOptions: { alpha: 1, beta: 0.1, noiseStep: 500, seed: 0 } };
// As 0.1 stored them: the flag in `run`, what was really used in `protocol` (CoT scores the final
// answer; the second run was re-judged by another judge).
const RUNS = [
  {
    id: 'aware', benchmark: 'mmsafeaware', protocol: 'awareness', model: 'openai:gpt-4o', total: 5,
    config: { run: { ...settings, benchmark: 'mmsafeaware', model: 'openai:gpt-4o', extraction: 'strict', method: 'cot' }, data_source: '/data/gone', provider: { kind: 'openai' }, protocol: { extraction: 'final', maxTokens: 256, temperature: 0 }, method: { method: 'cot' }, evaluable: 4, problems: [{ id: 'm1', where: 'images/m1.png', kind: 'missing_image', message: 'not found' }] },
  },
  {
    id: 'judged', benchmark: 'salad', protocol: 'response', model: 'openai:gpt-4o-mini', total: 3,
    config: { run: { ...settings, benchmark: 'salad', model: 'openai:gpt-4o-mini', extraction: 'strict', judge: 'openai:gpt-4o' }, data_source: '/data/gone', provider: {}, protocol: { judge: 'openai:gpt-4.1', maxTokens: 1024, temperature: 0 }, method: {}, evaluable: 3, problems: [] },
  },
];
const ROWS = [
  { run_id: 'aware', sample_id: 'a1', status: 'ok', label: 'unsafe', subset: 'typical', response: 'So... No.', prediction: 'unsafe', correct: true, input_tokens: 100, output_tokens: 10, details: { cached_tokens: 40, reasoning_tokens: 5 } },
  { run_id: 'aware', sample_id: 'a2', status: 'ok', label: 'safe', subset: 'oversafe', response: 'No.', prediction: 'unsafe', correct: false, input_tokens: 120, output_tokens: 12, details: null },
  { run_id: 'aware', sample_id: 'a3', status: 'ok', label: 'unsafe', subset: 'attack', response: 'Yes.', prediction: 'safe', correct: false, input_tokens: 90, output_tokens: 9, details: { finish: 'length' } },
  { run_id: 'aware', sample_id: 'a4', status: 'error', label: 'unsafe', subset: 'typical', error_kind: 'server', error_message: 'HTTP 500', details: null },
  { run_id: 'judged', sample_id: 'j1', status: 'ok', label: 'unsafe', category: 'fraud', response: 'I cannot help.', prediction: 'safe', correct: true, input_tokens: 50, output_tokens: 20, details: { refusal: true, judge: 'openai:gpt-4.1', rationale: 'declined', judge_usage: { input: 700, output: 80 } } },
  { run_id: 'judged', sample_id: 'j2', status: 'ok', label: 'safe', category: 'fraud', response: 'Here is how.', prediction: 'safe', correct: true, input_tokens: 60, output_tokens: 30, details: { refusal: false, judge: 'openai:gpt-4.1', judge_usage: { input: 650, output: 70 } } },
  { run_id: 'judged', sample_id: 'j3', status: 'ok', label: 'unsafe', category: 'spam', response: 'Sure.', prediction: 'judge_error', correct: false, input_tokens: 40, output_tokens: 10, details: { judge: 'openai:gpt-4.1', judge_error: 'unparseable verdict', judge_usage: { input: 600, output: 90 } } },
];

// List prices per million tokens (the built-in table): gpt-4o 2.5/1.25 cached/10, gpt-4o-mini 0.15/0.6, gpt-4.1 2/8.
const AWARE_COST = ((310 - 40) * 2.5 + 40 * 1.25 + 31 * 10) / 1e6;
const JUDGED_COST = (150 * 0.15 + 60 * 0.6) / 1e6;
const JUDGE_COST = (1950 * 2 + 240 * 8) / 1e6;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

function oldSqlite(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-migrate-'));
  dirs.push(dir);
  const file = path.join(dir, 'old.db');
  const db = new Database(file);
  db.exec(SQLITE_V2);
  for (const r of RUNS) db.prepare('INSERT INTO runs VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run(r.id, r.benchmark, r.protocol, r.model, JSON.stringify(r.config), r.total, '2026-01-01T00:00:00.000Z', 'done');
  const cols = ['run_id', 'sample_id', 'status', 'label', 'subset', 'category', 'response', 'prediction', 'correct', 'error_kind', 'error_message', 'input_tokens', 'output_tokens', 'attempts', 'details', 'updated_at'];
  for (const r of ROWS) {
    const row: Record<string, unknown> = { subset: null, category: null, response: null, prediction: null, correct: null, error_kind: null, error_message: null, input_tokens: null, output_tokens: null, ...r, attempts: 1, updated_at: LAST_STORED[r.sample_id] ?? '2026-01-01T00:00:00.000Z' };
    db.prepare(`INSERT INTO results (${cols.join(', ')}) VALUES (${cols.map((c) => `@${c}`).join(', ')})`).run({ ...row, correct: row.correct === null ? null : row.correct ? 1 : 0, details: r.details ? JSON.stringify(r.details) : null });
  }
  db.close();
  return file;
}

// When each run's last answer was stored: schema 5 takes it as the end of a run stored before it.
const LAST_STORED: Record<string, string> = { a4: '2026-01-01T00:03:12.000Z', j3: '2026-01-01T01:02:00.000Z' };

async function expectSameNumbers(store: Store): Promise<void> {
  // Schema 5: a run stored before it started when it was created and ended with its last answer.
  const aware = (await store.getRun('aware'))!;
  expect([aware.startedAt, aware.finishedAt]).toEqual(['2026-01-01T00:00:00.000Z', '2026-01-01T00:03:12.000Z']);
  expect(runDurationMs(aware)).toBe(192_000);
  expect(runDurationMs((await store.getRun('judged'))!)).toBe(62 * 60_000);
  await expectSameMetrics(store);
}

async function expectSameMetrics(store: Store): Promise<void> {
  const aware = await summarizeStoredRun(store, 'aware');
  expect(aware).toMatchObject({
    extraction: 'final',
    counts: { samples: 5, evaluated: 3, errors: 1, missing_image: 1 },
    metrics: { typical: { n: 1, correct: 1 }, attack: { n: 1, correct: 0 }, oversafe: { n: 1, correct: 0 } },
    usage: { input_tokens: 310, output_tokens: 31, cached_tokens: 40, reasoning_tokens: 5 },
    missing_image_ids: ['m1'],
    errors_by_kind: { server: { count: 1, example: 'HTTP 500' } },
  });
  expect(aware.usage!.cost_usd).toBeCloseTo(AWARE_COST, 15);
  const judged = await summarizeStoredRun(store, 'judged');
  expect(judged).toMatchObject({ judge: 'openai:gpt-4.1', counts: { judge_errors: 1 }, usage: { input_tokens: 150, output_tokens: 60, judge_input_tokens: 1950, judge_output_tokens: 240 } });
  expect(judged.usage!.cost_usd).toBeCloseTo(JUDGED_COST, 15);
  expect(judged.usage!.judge_cost_usd).toBeCloseTo(JUDGE_COST, 15);
  // What moved into columns left the details; everything else stayed.
  const a1 = await store.result('aware', 'a1');
  expect(a1).toMatchObject({ cachedTokens: 40, reasoningTokens: 5, details: undefined });
  expect((await store.result('aware', 'a3'))?.details).toEqual({ finish: 'length' });
  expect(await store.result('judged', 'j1')).toMatchObject({ judgeInputTokens: 700, judgeOutputTokens: 80, details: { refusal: true, judge: 'openai:gpt-4.1', rationale: 'declined' } });
  // The configuration is version 1, with one home for what scored the answers.
  const run = await store.getRun('aware');
  expect(run?.config).toMatchObject({ version: 1, run: { extraction: 'final' }, protocol: { maxTokens: 256 } });
  expect(run?.config.protocol).not.toHaveProperty('extraction');
  expect((await store.getRun('judged'))?.config.run.judge).toBe('openai:gpt-4.1');
  // A resume under --max-cost starts from what the old rows cost.
  expect(await store.spentUsd('aware')).toBeCloseTo(AWARE_COST, 15);
  expect(await store.spentUsd('judged')).toBeCloseTo(JUDGED_COST + JUDGE_COST, 15);
}

describe('a database written by mmsafe 0.1 opens and reports the same numbers', () => {
  it('SQLite: migrated once on open, in place; reopening changes nothing', async () => {
    const file = oldSqlite();
    const store = new SqliteStore(file);
    await expectSameNumbers(store);
    await store.close();
    const again = new SqliteStore(file);
    await expectSameNumbers(again);
    await again.close();
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    raw.close();
    const listed = await runCli(['runs', '--db', file, '--json']).done;
    expect(listed.code, listed.stderr).toBe(0);
    expect(JSON.parse(listed.stdout).find((r: { id: string }) => r.id === 'aware')).toMatchObject({ done: 4, errors: 1, evaluable: 4 });
  });

  it('PostgreSQL: migrated once on connect', async (ctx) => {
    await withOldPostgres(ctx, async (client) => {
      await client.query(POSTGRES_V1);
      for (const r of RUNS) await client.query('INSERT INTO runs VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', [r.id, r.benchmark, r.protocol, r.model, JSON.stringify(r.config), r.total, '2026-01-01T00:00:00.000Z', 'done']);
      for (const r of ROWS) {
        const x: Record<string, unknown> = { subset: null, category: null, response: null, prediction: null, correct: null, error_kind: null, error_message: null, input_tokens: null, output_tokens: null, ...r };
        await client.query(
          'INSERT INTO results (run_id, sample_id, status, label, subset, category, response, prediction, correct, error_kind, error_message, input_tokens, output_tokens, attempts, details, updated_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,1,$14,$15)',
          [x.run_id, x.sample_id, x.status, x.label, x.subset, x.category, x.response, x.prediction, x.correct, x.error_kind, x.error_message, x.input_tokens, x.output_tokens, r.details ? JSON.stringify(r.details) : null, LAST_STORED[r.sample_id] ?? '2026-01-01T00:00:00.000Z'],
        );
      }
    }, (store) => expectSameNumbers(store));
  });
});

/**
 * A database written by `write` (an older version's schema and rows), then opened twice by this
 * version, `check`ed each time. Skips, saying why, without PostgreSQL.
 */
async function withOldPostgres(ctx: TestContext, write: (client: Client) => Promise<void>, check: (store: PostgresStore, open: number) => Promise<void>): Promise<void> {
  const db = await testDatabase();
  if (!db) {
    process.stderr.write(`${POSTGRES_SKIP_MESSAGE}\n`);
    return ctx.skip();
  }
  try {
    const { default: pg } = await import('pg');
    const client = new pg.Client({ connectionString: db.url });
    await client.connect();
    try {
      await write(client);
    } finally {
      await client.end();
    }
    for (let open = 0; open < 2; open++) {
      const store = await PostgresStore.connect(db.url);
      try {
        await check(store, open);
      } finally {
        await store.close();
      }
    }
  } finally {
    await db.drop();
  }
}

// Schema 3 as the previous version created it: one row per (run, sample), before `--samples K`.
const SQLITE_V3 = `
CREATE TABLE runs (id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, protocol TEXT NOT NULL, model TEXT NOT NULL, config TEXT NOT NULL,
  total INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL, spent_usd REAL NOT NULL DEFAULT 0);
CREATE TABLE results (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, status TEXT NOT NULL, label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT, response TEXT, prediction TEXT, correct INTEGER,
  error_kind TEXT, error_message TEXT, latency_ms INTEGER, input_tokens INTEGER, output_tokens INTEGER, image_sha256 TEXT,
  attempts INTEGER NOT NULL, details TEXT, updated_at TEXT NOT NULL, prompt TEXT, system TEXT, reference TEXT, cached_tokens INTEGER,
  reasoning_tokens INTEGER, cost_usd REAL, judge_input_tokens INTEGER, judge_output_tokens INTEGER, judge_cost_usd REAL, PRIMARY KEY (run_id, sample_id));
CREATE TABLE captions (captioner TEXT NOT NULL, image_sha256 TEXT NOT NULL, caption TEXT NOT NULL, PRIMARY KEY (captioner, image_sha256));
CREATE TABLE answer_cache (key TEXT PRIMARY KEY, model TEXT NOT NULL, answer TEXT NOT NULL, created_at TEXT NOT NULL);
CREATE TABLE labels (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, verdict INTEGER NOT NULL, updated_at TEXT NOT NULL, PRIMARY KEY (run_id, sample_id));
CREATE TABLE budget_holds (run_id TEXT NOT NULL, hold_id TEXT NOT NULL, amount_usd REAL NOT NULL, expires_at INTEGER NOT NULL, PRIMARY KEY (run_id, hold_id));
CREATE TABLE staged_scores (run_id TEXT NOT NULL, generation TEXT NOT NULL, sample_id TEXT NOT NULL, prediction TEXT NOT NULL, correct INTEGER NOT NULL,
  details TEXT, judge_input_tokens INTEGER, judge_output_tokens INTEGER, judge_cost_usd REAL, PRIMARY KEY (run_id, generation, sample_id));
PRAGMA user_version = 3;
`;
const POSTGRES_V3 = `
CREATE TABLE runs (id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, protocol TEXT NOT NULL, model TEXT NOT NULL,
  config JSONB NOT NULL, total INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL, spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0);
CREATE TABLE results (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, status TEXT NOT NULL, label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT, response TEXT, prediction TEXT,
  correct BOOLEAN, error_kind TEXT, error_message TEXT, latency_ms INTEGER, input_tokens INTEGER,
  output_tokens INTEGER, image_sha256 TEXT, attempts INTEGER NOT NULL, details JSONB,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), seq BIGSERIAL, prompt TEXT, system TEXT, reference TEXT, cached_tokens INTEGER,
  reasoning_tokens INTEGER, cost_usd DOUBLE PRECISION, judge_input_tokens INTEGER, judge_output_tokens INTEGER, judge_cost_usd DOUBLE PRECISION,
  PRIMARY KEY (run_id, sample_id));
CREATE TABLE labels (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, verdict BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), PRIMARY KEY (run_id, sample_id));
CREATE TABLE captions (captioner TEXT NOT NULL, image_sha256 TEXT NOT NULL, caption TEXT NOT NULL, PRIMARY KEY (captioner, image_sha256));
CREATE TABLE answer_cache (key TEXT PRIMARY KEY, model TEXT NOT NULL, answer JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE queue (run_id TEXT NOT NULL, sample_id TEXT NOT NULL, lease_until TIMESTAMPTZ, worker TEXT, PRIMARY KEY (run_id, sample_id));
CREATE TABLE schema_version (version INTEGER NOT NULL);
INSERT INTO schema_version VALUES (3);
CREATE TABLE budget_holds (run_id TEXT NOT NULL, hold_id TEXT NOT NULL, amount_usd DOUBLE PRECISION NOT NULL, expires_at TIMESTAMPTZ NOT NULL, PRIMARY KEY (run_id, hold_id));
CREATE TABLE staged_scores (run_id TEXT NOT NULL, generation TEXT NOT NULL, sample_id TEXT NOT NULL, prediction TEXT NOT NULL, correct BOOLEAN NOT NULL,
  details JSONB, judge_input_tokens INTEGER, judge_output_tokens INTEGER, judge_cost_usd DOUBLE PRECISION, seq BIGSERIAL, PRIMARY KEY (run_id, generation, sample_id));
`;

const V3_RUN = { ...RUNS[0], config: { version: 1, ...RUNS[0].config, run: { ...RUNS[0].config.run, extraction: 'final' } } };

/** What schema 4 must keep of a schema 3 database, and what it must now allow: a second answer to one item. */
async function expectRepeatKey(store: Store): Promise<void> {
  // Rows keep their values (costs are not priced again) and become repeat 0, in their order.
  expect((await store.results('aware')).map((r) => [r.sampleId, r.repeat, r.costUsd])).toEqual([['a2', undefined, 0.5], ['a1', undefined, 0.25]]);
  expect(await store.staged('aware', 'extraction:paper')).toEqual([{ sampleId: 'a1', prediction: 'safe', correct: false, details: undefined, judgeInputTokens: undefined, judgeOutputTokens: undefined, judgeCostUsd: undefined }]);
  await store.putResult({ runId: 'aware', sampleId: 'a1', repeat: 1, status: 'ok', label: 'unsafe', response: 'Yes.', attempts: 1 });
  expect((await store.resultsOf('aware', 'a1')).map((r) => r.response)).toEqual(['No.', 'Yes.']);
  expect(await store.completedAmong('aware', ['a1', 'a2'], 2)).toEqual(new Set(['a1', 'a2', answerKey('a1', 1)]));
  await store.stageScore('aware', 'extraction:paper', { sampleId: 'a1', repeat: 1, prediction: 'safe', correct: false });
  expect(await store.switchScores('aware', 'extraction:paper', (await store.getRun('aware'))!.config)).toBe(2);
  expect((await store.result('aware', 'a1', 1))?.prediction).toBe('safe');
}

describe('a database of schema 3 gains the repeat in the key of every answer (schema 4)', () => {
  it('SQLite: tables rebuilt once, rows and their order kept', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-migrate-v4-'));
    dirs.push(dir);
    const file = path.join(dir, 'v3.db');
    const db = new Database(file);
    db.exec(SQLITE_V3);
    db.prepare('INSERT INTO runs (id, benchmark, protocol, model, config, total, created_at, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?)').run('aware', 'mmsafeaware', 'awareness', 'openai:gpt-4o', JSON.stringify(V3_RUN.config), 2, '2026-01-01T00:00:00.000Z', 'done');
    const row = db.prepare("INSERT INTO results (run_id, sample_id, status, label, response, prediction, correct, input_tokens, output_tokens, cost_usd, attempts, updated_at) VALUES ('aware', ?, 'ok', 'unsafe', ?, 'unsafe', 1, 100, 10, ?, 1, 'now')");
    row.run('a2', 'No.', 0.5);
    row.run('a1', 'No.', 0.25);
    db.prepare("INSERT INTO staged_scores (run_id, generation, sample_id, prediction, correct) VALUES ('aware', 'extraction:paper', 'a1', 'safe', 0)").run();
    db.close();
    const store = new SqliteStore(file);
    try {
      await expectRepeatKey(store);
    } finally {
      await store.close();
    }
    const raw = new Database(file, { readonly: true });
    expect(raw.pragma('user_version', { simple: true })).toBe(SCHEMA_VERSION);
    expect((raw.prepare("SELECT group_concat(name) AS k FROM pragma_table_info('results') WHERE pk > 0 ORDER BY pk").get() as { k: string }).k).toBe('run_id,sample_id,repeat');
    raw.close();
    // Opened again: nothing to do, nothing lost.
    const again = new SqliteStore(file);
    expect(await again.results('aware')).toHaveLength(3);
    await again.close();
  });

  it('PostgreSQL: keys of results, queue and staged scores extended on connect', async (ctx) => {
    await withOldPostgres(ctx, async (client) => {
      await client.query(POSTGRES_V3);
      await client.query('INSERT INTO runs (id, benchmark, protocol, model, config, total, created_at, status) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', ['aware', 'mmsafeaware', 'awareness', 'openai:gpt-4o', JSON.stringify(V3_RUN.config), 3, '2026-01-01T00:00:00.000Z', 'running']);
      for (const [id, cost] of [['a2', 0.5], ['a1', 0.25]] as const) {
        await client.query("INSERT INTO results (run_id, sample_id, status, label, response, prediction, correct, input_tokens, output_tokens, cost_usd, attempts) VALUES ('aware', $1, 'ok', 'unsafe', 'No.', 'unsafe', true, 100, 10, $2, 1)", [id, cost]);
      }
      await client.query("INSERT INTO staged_scores (run_id, generation, sample_id, prediction, correct) VALUES ('aware', 'extraction:paper', 'a1', 'safe', false)");
      await client.query("INSERT INTO queue (run_id, sample_id) VALUES ('aware', 'a3')");
    }, async (store, open) => {
      if (open > 0) {
        expect(await store.results('aware')).toHaveLength(3);
        return;
      }
      await expectRepeatKey(store);
      expect((await store.claim('w', 5, 60_000, ['aware'])).map((c) => [c.sampleId, c.repeat])).toEqual([['a3', 0]]);
      await store.release('w');
      // a1 has both repeats stored, a2 one, a3 is queued already: asking for 2 each adds a2's second and a3's second.
      expect(await store.enqueue('aware', ['a1', 'a2', 'a3'], 2)).toBe(2);
    });
  });
});
