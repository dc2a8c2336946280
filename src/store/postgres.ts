import type { Pool, PoolClient } from 'pg';
import type { GenerateResponse, ResultRow } from '../core/types.ts';
import { StoredRunConfigSchema, type StoredRunConfig } from '../runner/config.ts';
import { COMPLETED_WHERE, RESULT_COLUMNS, RESULT_CONTENT, RESULT_KEY, rowFrom, rowValues, SCAN_PAGE, SLIM_COLUMNS, stagedFrom, storableDetails } from './columns.ts';
import { migrateRow, migrateRunConfig, RESULT_COLUMNS_V3, SCHEMA_VERSION } from './migrate.ts';
import type { ClaimedSample, WorkQueue } from './queue.ts';
import { runTimes, statusTimes } from './run-times.ts';
import { answerKey, ENDED_STATUSES, type HumanLabel, type ResultFilter, type RunListing, type RunRecord, type ScanOptions, type StagedScore } from './store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, protocol TEXT NOT NULL, model TEXT NOT NULL,
  config JSONB NOT NULL, total INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL, started_at TEXT, finished_at TEXT);
CREATE TABLE IF NOT EXISTS results (
  run_id TEXT NOT NULL, sample_id TEXT NOT NULL, repeat INTEGER NOT NULL DEFAULT 0, status TEXT NOT NULL, label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT, response TEXT, prediction TEXT,
  correct BOOLEAN, error_kind TEXT, error_message TEXT, latency_ms INTEGER, input_tokens INTEGER,
  output_tokens INTEGER, image_sha256 TEXT, attempts INTEGER NOT NULL, details JSONB,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), seq BIGSERIAL, PRIMARY KEY (run_id, sample_id, repeat));
CREATE TABLE IF NOT EXISTS labels (
  run_id TEXT NOT NULL, sample_id TEXT NOT NULL, verdict BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, sample_id));
CREATE TABLE IF NOT EXISTS captions (captioner TEXT NOT NULL, image_sha256 TEXT NOT NULL, caption TEXT NOT NULL, PRIMARY KEY (captioner, image_sha256));
CREATE TABLE IF NOT EXISTS answer_cache (key TEXT PRIMARY KEY, model TEXT NOT NULL, answer JSONB NOT NULL, created_at TIMESTAMPTZ NOT NULL DEFAULT now());
CREATE TABLE IF NOT EXISTS queue (
  run_id TEXT NOT NULL, sample_id TEXT NOT NULL, repeat INTEGER NOT NULL DEFAULT 0, lease_until TIMESTAMPTZ, worker TEXT, PRIMARY KEY (run_id, sample_id, repeat));
CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL);
`;

/** Schema 3's additions (see migrate.ts); the result columns come from RESULT_COLUMNS_V3. */
const SCHEMA_V3 = `
ALTER TABLE runs ADD COLUMN IF NOT EXISTS spent_usd DOUBLE PRECISION NOT NULL DEFAULT 0;
${RESULT_COLUMNS_V3.map(([name, , type]) => `ALTER TABLE results ADD COLUMN IF NOT EXISTS ${name} ${type};`).join('\n')}
CREATE TABLE IF NOT EXISTS budget_holds (
  run_id TEXT NOT NULL, hold_id TEXT NOT NULL, amount_usd DOUBLE PRECISION NOT NULL, expires_at TIMESTAMPTZ NOT NULL,
  PRIMARY KEY (run_id, hold_id));
CREATE TABLE IF NOT EXISTS staged_scores (
  run_id TEXT NOT NULL, generation TEXT NOT NULL, sample_id TEXT NOT NULL, repeat INTEGER NOT NULL DEFAULT 0, prediction TEXT NOT NULL, correct BOOLEAN NOT NULL,
  details JSONB, judge_input_tokens INTEGER, judge_output_tokens INTEGER, judge_cost_usd DOUBLE PRECISION, seq BIGSERIAL,
  PRIMARY KEY (run_id, generation, sample_id, repeat));
`;

/**
 * Schema 4: the repeat index joins the key of results, queue entries and staged scores
 * (`--samples K`); rows written before are repeat 0.
 */
const V4_KEYS = [
  ['results', 'run_id, sample_id, repeat'],
  ['queue', 'run_id, sample_id, repeat'],
  ['staged_scores', 'run_id, generation, sample_id, repeat'],
] as const;

/** Serialises schema creation when many workers start at once (CREATE IF NOT EXISTS can still race). */
const SCHEMA_LOCK = 0x6d6d7361;

const pgCodec = { bool: (b: boolean) => b, json: (v: Record<string, unknown>) => JSON.stringify(v) };
const pgDecode = { bool: (v: unknown) => v === true, json: (v: unknown) => v as Record<string, unknown> };
const toRow = (r: Record<string, unknown>): ResultRow => rowFrom(r, pgDecode);
const toRun = (r: Record<string, unknown>): RunRecord => ({
  id: String(r.id), benchmark: String(r.benchmark), protocol: String(r.protocol), model: String(r.model), config: StoredRunConfigSchema.parse(r.config),
  total: Number(r.total), createdAt: String(r.created_at), status: r.status as RunRecord['status'],
  ...(r.started_at ? { startedAt: String(r.started_at) } : {}),
  ...(r.finished_at ? { finishedAt: String(r.finished_at) } : {}),
});

/**
 * PostgreSQL as the shared store and the work queue of many processes on many machines: the
 * same rows as SQLite, plus a queue table from which workers claim samples with leases
 * (SELECT ... FOR UPDATE SKIP LOCKED). Storing a sample's result removes it from the queue in the
 * same transaction, so a sample is stored once; a lease that runs out (its worker died) makes the
 * sample claimable again.
 */
export class PostgresStore implements WorkQueue {
  private constructor(private readonly pool: Pool) {}

  static async connect(url: string): Promise<PostgresStore> {
    const { default: pg } = await import('pg');
    const pool = new pg.Pool({ connectionString: url, max: 8 });
    // An idle pooled connection the server ends (a restart, an idle timeout, DROP DATABASE ... FORCE,
    // or the race of pool.end() with the server) is dropped by the pool and replaced on next use;
    // without a listener its error would be an uncaught exception that ends the process.
    pool.on('error', () => undefined);
    let client: PoolClient;
    try {
      client = await pool.connect();
    } catch (error) {
      await pool.end().catch(() => undefined);
      // The URL may hold a password: name only the host.
      throw new Error(`cannot connect to PostgreSQL at ${safeUrl(url)}: ${(error as Error).message}`);
    }
    try {
      await client.query('SELECT pg_advisory_lock($1)', [SCHEMA_LOCK]);
      await client.query(SCHEMA);
      await migrate(client);
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]).catch(() => undefined);
      client.release();
    }
    return new PostgresStore(pool);
  }

  async createRun(run: RunRecord): Promise<void> {
    const { startedAt, finishedAt } = runTimes(run);
    await this.pool.query('INSERT INTO runs (id, benchmark, protocol, model, config, total, created_at, status, started_at, finished_at) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10)', [
      run.id, run.benchmark, run.protocol, run.model, JSON.stringify(run.config), run.total, run.createdAt, run.status, startedAt, finishedAt,
    ]);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const r = await this.pool.query('SELECT * FROM runs WHERE id = $1', [id]);
    return r.rows[0] ? toRun(r.rows[0]) : undefined;
  }

  async updateRun(id: string, patch: Partial<Pick<RunRecord, 'status' | 'config' | 'total'>>): Promise<void> {
    const times = patch.status ? statusTimes(patch.status, '$5') : [];
    await this.pool.query(`UPDATE runs SET ${['status = COALESCE($2, status)', 'config = COALESCE($3::jsonb, config)', 'total = COALESCE($4, total)', ...times].join(', ')} WHERE id = $1`, [
      id, patch.status ?? null, patch.config ? JSON.stringify(patch.config) : null, patch.total ?? null, ...(times.length ? [new Date().toISOString()] : []),
    ]);
  }

  async listRuns(): Promise<RunListing[]> {
    const r = await this.pool.query(`SELECT r.*, COALESCE(c.done, 0) AS done, COALESCE(c.errors, 0) AS errors FROM runs r
      LEFT JOIN (SELECT run_id, count(*) AS done, count(*) FILTER (WHERE status = 'error') AS errors FROM results GROUP BY run_id) c ON c.run_id = r.id
      ORDER BY r.created_at DESC, r.id`);
    return r.rows.map((x) => ({ ...toRun(x), done: Number(x.done), errors: Number(x.errors) }));
  }

  async putResult(row: ResultRow): Promise<void> {
    // One statement, so one round trip and one transaction: the row is stored and its queue entry
    // gone together. A late error from a worker whose lease expired never replaces an answer.
    await this.pool.query(
      `WITH dequeued AS (DELETE FROM queue WHERE run_id = $1 AND sample_id = $2 AND repeat = $3)
       INSERT INTO results (${RESULT_COLUMNS.join(', ')}) VALUES (${RESULT_COLUMNS.map((_, i) => `$${i + 1}`).join(',')})
       ON CONFLICT (${RESULT_KEY.join(', ')}) DO UPDATE SET ${RESULT_CONTENT.map((c) => `${c} = EXCLUDED.${c}`).join(', ')}, updated_at = now()
       WHERE NOT (results.status = 'ok' AND EXCLUDED.status = 'error')`,
      rowValues(row, pgCodec),
    );
  }

  async updateRunConfig(id: string, update: (config: StoredRunConfig) => StoredRunConfig): Promise<void> {
    await this.transaction(async (c) => {
      const r = await c.query('SELECT * FROM runs WHERE id = $1 FOR UPDATE', [id]);
      if (r.rows[0]) await c.query('UPDATE runs SET config = $2 WHERE id = $1', [id, JSON.stringify(update(toRun(r.rows[0]).config))]);
    });
  }

  async reserveBudget(runId: string, holdId: string, amountUsd: number, limitUsd: number, holdMs: number): Promise<boolean> {
    return this.transaction(async (c) => {
      // The run's row is the lock every process reserving on this run queues behind.
      const run = await c.query('SELECT spent_usd FROM runs WHERE id = $1 FOR UPDATE', [runId]);
      await c.query('DELETE FROM budget_holds WHERE run_id = $1 AND expires_at < now()', [runId]);
      const held = Number((await c.query('SELECT COALESCE(sum(amount_usd), 0) AS held FROM budget_holds WHERE run_id = $1', [runId])).rows[0].held);
      if (Number(run.rows[0]?.spent_usd ?? 0) + held + amountUsd > limitUsd) return false;
      await c.query(
        `INSERT INTO budget_holds (run_id, hold_id, amount_usd, expires_at) VALUES ($1, $2, $3, now() + make_interval(secs => $4::double precision / 1000))
         ON CONFLICT (run_id, hold_id) DO UPDATE SET amount_usd = EXCLUDED.amount_usd, expires_at = EXCLUDED.expires_at`,
        [runId, holdId, amountUsd, holdMs],
      );
      return true;
    });
  }

  async settleBudget(runId: string, holdId: string, spentUsd: number): Promise<void> {
    await this.transaction(async (c) => {
      await c.query('DELETE FROM budget_holds WHERE run_id = $1 AND hold_id = $2', [runId, holdId]);
      if (spentUsd > 0) await c.query('UPDATE runs SET spent_usd = spent_usd + $2 WHERE id = $1', [runId, spentUsd]);
    });
  }

  async spentUsd(runId: string): Promise<number> {
    const r = await this.pool.query('SELECT spent_usd FROM runs WHERE id = $1', [runId]);
    return Number(r.rows[0]?.spent_usd ?? 0);
  }

  async stageScore(runId: string, generation: string, s: StagedScore): Promise<void> {
    await this.pool.query(
      `INSERT INTO staged_scores (run_id, generation, sample_id, prediction, correct, details, judge_input_tokens, judge_output_tokens, judge_cost_usd, repeat)
       VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10) ON CONFLICT (run_id, generation, sample_id, repeat) DO UPDATE SET prediction = EXCLUDED.prediction,
       correct = EXCLUDED.correct, details = EXCLUDED.details, judge_input_tokens = EXCLUDED.judge_input_tokens,
       judge_output_tokens = EXCLUDED.judge_output_tokens, judge_cost_usd = EXCLUDED.judge_cost_usd`,
      [runId, generation, s.sampleId, s.prediction, s.correct, s.details ? JSON.stringify(storableDetails(s.details)) : null, s.judgeInputTokens ?? null, s.judgeOutputTokens ?? null, s.judgeCostUsd ?? null, s.repeat ?? 0],
    );
  }

  async staged(runId: string, generation: string): Promise<StagedScore[]> {
    const r = await this.pool.query('SELECT * FROM staged_scores WHERE run_id = $1 AND generation = $2 ORDER BY seq', [runId, generation]);
    return r.rows.map((x) => stagedFrom(x, pgDecode));
  }

  async switchScores(runId: string, generation: string, config: StoredRunConfig): Promise<number> {
    return this.transaction(async (c) => {
      const r = await c.query(
        `UPDATE results SET prediction = s.prediction, correct = s.correct, details = s.details, judge_input_tokens = s.judge_input_tokens,
           judge_output_tokens = s.judge_output_tokens, judge_cost_usd = s.judge_cost_usd, updated_at = now()
         FROM staged_scores s WHERE s.run_id = $1 AND s.generation = $2 AND results.run_id = s.run_id AND results.sample_id = s.sample_id AND results.repeat = s.repeat`,
        [runId, generation],
      );
      await c.query('UPDATE runs SET config = $2 WHERE id = $1', [runId, JSON.stringify(config)]);
      await c.query('DELETE FROM staged_scores WHERE run_id = $1 AND generation = $2', [runId, generation]);
      return r.rowCount ?? 0;
    });
  }

  private async transaction<T>(work: (client: PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const out = await work(client);
      await client.query('COMMIT');
      return out;
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }

  async completedAmong(runId: string, sampleIds: readonly string[], repeats = 1): Promise<Set<string>> {
    // An index probe on the primary key per id; rows as arrays, no keyed object each.
    const r = await this.pool.query<[string, number]>({
      text: `SELECT sample_id, repeat FROM results WHERE run_id = $1 AND sample_id = ANY($2::text[]) AND repeat < $3 AND ${COMPLETED_WHERE}`,
      values: [runId, sampleIds, repeats],
      rowMode: 'array',
    });
    return new Set(r.rows.map(([id, repeat]) => answerKey(id, Number(repeat))));
  }

  async results(runId: string): Promise<ResultRow[]> {
    const r = await this.pool.query('SELECT * FROM results WHERE run_id = $1 ORDER BY seq', [runId]);
    return r.rows.map(toRow);
  }

  /** Keyset pages over the primary key (sample, repeat): each page is an index range, and no transaction stays open. */
  async *scanResults(runId: string, opts: ScanOptions = {}): AsyncGenerator<ResultRow> {
    const select = `SELECT ${(opts.slim ? SLIM_COLUMNS : RESULT_COLUMNS).join(', ')} FROM results WHERE run_id = $1`;
    const size = Math.floor(opts.pageSize ?? SCAN_PAGE);
    let page = (await this.pool.query(`${select} ORDER BY sample_id, repeat LIMIT ${size}`, [runId])).rows;
    while (page.length) {
      for (const r of page) yield toRow(r);
      if (page.length < size) return;
      const last = page[page.length - 1];
      page = (await this.pool.query(`${select} AND (sample_id, repeat) > ($2, $3) ORDER BY sample_id, repeat LIMIT ${size}`, [runId, last.sample_id, last.repeat])).rows;
    }
  }

  async result(runId: string, sampleId: string, repeat = 0): Promise<ResultRow | undefined> {
    const r = await this.pool.query('SELECT * FROM results WHERE run_id = $1 AND sample_id = $2 AND repeat = $3', [runId, sampleId, repeat]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
  }

  async resultsOf(runId: string, sampleId: string): Promise<ResultRow[]> {
    const r = await this.pool.query('SELECT * FROM results WHERE run_id = $1 AND sample_id = $2 ORDER BY repeat', [runId, sampleId]);
    return r.rows.map(toRow);
  }

  async resultsStamp(runId: string): Promise<string> {
    const r = await this.pool.query("SELECT count(*) AS n, count(*) FILTER (WHERE status = 'error') AS errors, max(updated_at)::text AS at FROM results WHERE run_id = $1", [runId]);
    // As text: to the microsecond (a Date would round writes within one millisecond together).
    const s = r.rows[0];
    return `${s.n}:${s.errors}:${s.at ?? ''}`;
  }

  async queryResults(runId: string, filter: ResultFilter, offset: number, limit: number): Promise<{ rows: ResultRow[]; total: number }> {
    const where = ['run_id = $1'];
    const params: unknown[] = [runId];
    for (const key of ['subset', 'scenario', 'category'] as const) {
      if (filter[key]) {
        params.push(filter[key]);
        where.push(`${key} = $${params.length}`);
      }
    }
    const outcome = { correct: "status = 'ok' AND correct", incorrect: "status = 'ok' AND NOT correct AND prediction NOT IN ('unparsed', 'judge_error')", unparsed: "status = 'ok' AND prediction IN ('unparsed', 'judge_error')", error: "status = 'error'" } as const;
    if (filter.outcome) where.push(outcome[filter.outcome]);
    if (filter.search) {
      params.push(`%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`);
      where.push(`(response ILIKE $${params.length} OR sample_id ILIKE $${params.length})`);
    }
    const clause = where.join(' AND ');
    const total = Number((await this.pool.query(`SELECT count(*) AS n FROM results WHERE ${clause}`, params)).rows[0].n);
    const rows = (await this.pool.query(`SELECT * FROM results WHERE ${clause} ORDER BY seq LIMIT ${Math.floor(limit)} OFFSET ${Math.floor(offset)}`, params)).rows.map(toRow);
    return { rows, total };
  }

  async putLabel(label: HumanLabel): Promise<void> {
    await this.pool.query('INSERT INTO labels (run_id, sample_id, verdict) VALUES ($1,$2,$3) ON CONFLICT (run_id, sample_id) DO UPDATE SET verdict = EXCLUDED.verdict, updated_at = now()', [label.runId, label.sampleId, label.verdict]);
  }

  async labels(runId: string): Promise<HumanLabel[]> {
    const r = await this.pool.query('SELECT * FROM labels WHERE run_id = $1 ORDER BY updated_at', [runId]);
    return r.rows.map((l) => ({ runId: l.run_id, sampleId: l.sample_id, verdict: l.verdict, updatedAt: new Date(l.updated_at).toISOString() }));
  }

  async getCaption(captioner: string, imageSha256: string): Promise<string | undefined> {
    const r = await this.pool.query('SELECT caption FROM captions WHERE captioner = $1 AND image_sha256 = $2', [captioner, imageSha256]);
    return r.rows[0]?.caption;
  }

  async putCaption(captioner: string, imageSha256: string, caption: string): Promise<void> {
    await this.pool.query('INSERT INTO captions VALUES ($1,$2,$3) ON CONFLICT (captioner, image_sha256) DO UPDATE SET caption = EXCLUDED.caption', [captioner, imageSha256, caption]);
  }

  async getCachedAnswer(key: string): Promise<GenerateResponse | undefined> {
    const r = await this.pool.query('SELECT answer FROM answer_cache WHERE key = $1', [key]);
    return r.rows[0]?.answer as GenerateResponse | undefined;
  }

  async putCachedAnswer(key: string, model: string, answer: GenerateResponse): Promise<void> {
    await this.pool.query('INSERT INTO answer_cache (key, model, answer) VALUES ($1,$2,$3) ON CONFLICT (key) DO UPDATE SET answer = EXCLUDED.answer, created_at = now()', [key, model, JSON.stringify(answer)]);
  }

  async clearCache(model?: string): Promise<number> {
    const r = await this.pool.query('DELETE FROM answer_cache WHERE $1::text IS NULL OR model = $1', [model ?? null]);
    return r.rowCount ?? 0;
  }

  /** Puts samples of a run on the queue, each `repeats` times (those already queued or stored are left alone). */
  async enqueue(runId: string, sampleIds: string[], repeats = 1): Promise<number> {
    let added = 0;
    for (let i = 0; i < sampleIds.length; i += 1000) {
      const chunk = sampleIds.slice(i, i + 1000);
      const r = await this.pool.query(
        `INSERT INTO queue (run_id, sample_id, repeat) SELECT $1, s, k FROM unnest($2::text[]) AS s CROSS JOIN generate_series(0, $3::int - 1) AS k
         WHERE NOT EXISTS (SELECT 1 FROM results WHERE run_id = $1 AND sample_id = s AND repeat = k AND ${COMPLETED_WHERE})
         ORDER BY s, k ON CONFLICT DO NOTHING`,
        [runId, chunk, repeats],
      );
      added += r.rowCount ?? 0;
    }
    return added;
  }

  async nextRun(runIds?: string[]): Promise<string | undefined> {
    const r = await this.pool.query(
      `SELECT run_id FROM queue WHERE ($1::text[] IS NULL OR run_id = ANY($1)) AND (lease_until IS NULL OR lease_until < now())
       ORDER BY run_id LIMIT 1`,
      [runIds ?? null],
    );
    return r.rows[0]?.run_id;
  }

  /** Leases up to `limit` unclaimed (or expired) samples to `worker`. */
  async claim(worker: string, limit: number, leaseMs: number, runIds?: string[]): Promise<ClaimedSample[]> {
    const r = await this.pool.query(
      `WITH picked AS (
         SELECT run_id, sample_id, repeat FROM queue
         WHERE ($1::text[] IS NULL OR run_id = ANY($1)) AND (lease_until IS NULL OR lease_until < now())
         ORDER BY run_id, sample_id, repeat LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE queue q SET lease_until = now() + make_interval(secs => $3::double precision / 1000), worker = $4
       FROM picked WHERE q.run_id = picked.run_id AND q.sample_id = picked.sample_id AND q.repeat = picked.repeat
       RETURNING q.run_id, q.sample_id, q.repeat`,
      [runIds ?? null, limit, leaseMs, worker],
    );
    return r.rows.map((x) => ({ runId: x.run_id, sampleId: x.sample_id, repeat: Number(x.repeat) }));
  }

  /** Extends the leases a live worker holds. */
  async renew(worker: string, leaseMs: number): Promise<void> {
    await this.pool.query('UPDATE queue SET lease_until = now() + make_interval(secs => $2::double precision / 1000) WHERE worker = $1', [worker, leaseMs]);
  }

  /** Gives back leased samples a worker will not finish (it is stopping). */
  async release(worker: string): Promise<void> {
    await this.pool.query('UPDATE queue SET lease_until = NULL, worker = NULL WHERE worker = $1', [worker]);
  }

  async pending(runIds?: string[], exceptWorker?: string): Promise<number> {
    const r = await this.pool.query(
      'SELECT count(*) AS n FROM queue WHERE ($1::text[] IS NULL OR run_id = ANY($1)) AND ($2::text IS NULL OR worker IS DISTINCT FROM $2)',
      [runIds ?? null, exceptWorker ?? null],
    );
    return Number(r.rows[0].n);
  }

  async close(): Promise<void> {
    await this.pool.end();
  }
}

/** Brings a database of an older schema up to this one, in one transaction (under the schema lock). */
async function migrate(client: PoolClient): Promise<void> {
  const current = Number((await client.query('SELECT max(version) AS v FROM schema_version')).rows[0]?.v ?? 0);
  if (current >= SCHEMA_VERSION) return;
  await client.query('BEGIN');
  try {
    if (current < 3) await migrateToV3(client);
    await migrateToV4(client);
    await migrateToV5(client);
    await client.query('DELETE FROM schema_version');
    await client.query('INSERT INTO schema_version (version) VALUES ($1)', [SCHEMA_VERSION]);
    await client.query('COMMIT');
  } catch (error) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw error;
  }
}

/** Schema 4: the repeat index joins the keys (tables created by this version have it already). */
async function migrateToV4(client: PoolClient): Promise<void> {
  for (const [table, key] of V4_KEYS) {
    const has = await client.query("SELECT 1 FROM information_schema.columns WHERE table_schema = current_schema() AND table_name = $1 AND column_name = 'repeat'", [table]);
    if (has.rowCount) continue;
    await client.query(`ALTER TABLE ${table} ADD COLUMN repeat INTEGER NOT NULL DEFAULT 0`);
    await client.query(`ALTER TABLE ${table} DROP CONSTRAINT IF EXISTS ${table}_pkey`);
    await client.query(`ALTER TABLE ${table} ADD PRIMARY KEY (${key})`);
  }
}

/** Schema 5: when runs started and ended (see migrate.ts); results.updated_at is a timestamptz here. */
async function migrateToV5(client: PoolClient): Promise<void> {
  await client.query('ALTER TABLE runs ADD COLUMN IF NOT EXISTS started_at TEXT, ADD COLUMN IF NOT EXISTS finished_at TEXT');
  await client.query("UPDATE runs SET started_at = created_at WHERE started_at IS NULL AND status <> 'queued'");
  await client.query(
    `UPDATE runs SET finished_at = (SELECT to_char(max(updated_at) AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"') FROM results WHERE run_id = runs.id)
      WHERE finished_at IS NULL AND status = ANY($1)`,
    [ENDED_STATUSES],
  );
}

/** Schema 3: what was sent and what it cost in columns of their own (see migrate.ts). */
async function migrateToV3(client: PoolClient): Promise<void> {
  await client.query(SCHEMA_V3);
  for (const run of (await client.query('SELECT id, model, protocol, config FROM runs')).rows) {
    const { config, pricing } = migrateRunConfig(run);
    let spent = 0;
    for (const r of (await client.query('SELECT sample_id, input_tokens, output_tokens, details FROM results WHERE run_id = $1', [run.id])).rows) {
      const m = migrateRow(r, pricing);
      spent += (m.cost_usd ?? 0) + (m.judge_cost_usd ?? 0);
      await client.query(
        `UPDATE results SET cached_tokens = $3, reasoning_tokens = $4, cost_usd = $5, judge_input_tokens = $6, judge_output_tokens = $7,
           judge_cost_usd = $8, details = $9 WHERE run_id = $1 AND sample_id = $2`,
        [run.id, m.sample_id, m.cached_tokens, m.reasoning_tokens, m.cost_usd, m.judge_input_tokens, m.judge_output_tokens, m.judge_cost_usd, m.details ? JSON.stringify(m.details) : null],
      );
    }
    await client.query('UPDATE runs SET config = $2, spent_usd = $3 WHERE id = $1', [run.id, JSON.stringify(config), spent]);
  }
}

export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the given URL';
  }
}
