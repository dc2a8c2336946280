import type { Pool, PoolClient } from 'pg';
import type { ResultRow } from '../core/types.ts';
import type { ClaimedSample, WorkQueue } from './queue.ts';
import type { HumanLabel, ResultFilter, RunListing, RunRecord } from './store.ts';

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY, benchmark TEXT NOT NULL, protocol TEXT NOT NULL, model TEXT NOT NULL,
  config JSONB NOT NULL, total INTEGER NOT NULL, created_at TEXT NOT NULL, status TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS results (
  run_id TEXT NOT NULL, sample_id TEXT NOT NULL, status TEXT NOT NULL, label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT, response TEXT, prediction TEXT,
  correct BOOLEAN, error_kind TEXT, error_message TEXT, latency_ms INTEGER, input_tokens INTEGER,
  output_tokens INTEGER, image_sha256 TEXT, attempts INTEGER NOT NULL, details JSONB,
  updated_at TIMESTAMPTZ NOT NULL DEFAULT now(), seq BIGSERIAL, PRIMARY KEY (run_id, sample_id));
CREATE TABLE IF NOT EXISTS labels (
  run_id TEXT NOT NULL, sample_id TEXT NOT NULL, verdict BOOLEAN NOT NULL, updated_at TIMESTAMPTZ NOT NULL DEFAULT now(),
  PRIMARY KEY (run_id, sample_id));
CREATE TABLE IF NOT EXISTS captions (captioner TEXT NOT NULL, image_sha256 TEXT NOT NULL, caption TEXT NOT NULL, PRIMARY KEY (captioner, image_sha256));
CREATE TABLE IF NOT EXISTS queue (
  run_id TEXT NOT NULL, sample_id TEXT NOT NULL, lease_until TIMESTAMPTZ, worker TEXT, PRIMARY KEY (run_id, sample_id));
`;

/** Serialises schema creation when many workers start at once (CREATE IF NOT EXISTS can still race). */
const SCHEMA_LOCK = 0x6d6d7361;

const COLUMNS = 'run_id, sample_id, status, label, subset, scenario, domain, attack, category, response, prediction, correct, error_kind, error_message, latency_ms, input_tokens, output_tokens, image_sha256, attempts, details';

interface Row {
  run_id: string; sample_id: string; status: 'ok' | 'error'; label: 'safe' | 'unsafe'; subset: string | null; scenario: string | null;
  domain: string | null; attack: string | null; category: string | null; response: string | null; prediction: ResultRow['prediction'] | null;
  correct: boolean | null; error_kind: string | null; error_message: string | null; latency_ms: number | null; input_tokens: number | null;
  output_tokens: number | null; image_sha256: string | null; attempts: number; details: Record<string, unknown> | null;
}

const u = <T>(v: T | null): T | undefined => (v === null ? undefined : v);
const toRow = (r: Row): ResultRow => ({
  runId: r.run_id, sampleId: r.sample_id, status: r.status, label: r.label, subset: u(r.subset), scenario: u(r.scenario), domain: u(r.domain),
  attack: u(r.attack), category: u(r.category), response: u(r.response), prediction: u(r.prediction), correct: u(r.correct),
  errorKind: u(r.error_kind), errorMessage: u(r.error_message), latencyMs: u(r.latency_ms), inputTokens: u(r.input_tokens),
  outputTokens: u(r.output_tokens), imageSha256: u(r.image_sha256), attempts: r.attempts, details: u(r.details),
});
const toRun = (r: Record<string, unknown>): RunRecord => ({
  id: String(r.id), benchmark: String(r.benchmark), protocol: String(r.protocol), model: String(r.model), config: r.config as Record<string, unknown>,
  total: Number(r.total), createdAt: String(r.created_at), status: r.status as RunRecord['status'],
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
    } finally {
      await client.query('SELECT pg_advisory_unlock($1)', [SCHEMA_LOCK]).catch(() => undefined);
      client.release();
    }
    return new PostgresStore(pool);
  }

  async createRun(run: RunRecord): Promise<void> {
    await this.pool.query('INSERT INTO runs (id, benchmark, protocol, model, config, total, created_at, status) VALUES ($1,$2,$3,$4,$5,$6,$7,$8)', [
      run.id, run.benchmark, run.protocol, run.model, JSON.stringify(run.config), run.total, run.createdAt, run.status,
    ]);
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const r = await this.pool.query('SELECT * FROM runs WHERE id = $1', [id]);
    return r.rows[0] ? toRun(r.rows[0]) : undefined;
  }

  async updateRun(id: string, patch: Partial<Pick<RunRecord, 'status' | 'config' | 'total'>>): Promise<void> {
    await this.pool.query('UPDATE runs SET status = COALESCE($2, status), config = COALESCE($3::jsonb, config), total = COALESCE($4, total) WHERE id = $1', [
      id, patch.status ?? null, patch.config ? JSON.stringify(patch.config) : null, patch.total ?? null,
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
      `WITH dequeued AS (DELETE FROM queue WHERE run_id = $1 AND sample_id = $2)
       INSERT INTO results (${COLUMNS}) VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$14,$15,$16,$17,$18,$19,$20)
       ON CONFLICT (run_id, sample_id) DO UPDATE SET status = EXCLUDED.status, label = EXCLUDED.label, subset = EXCLUDED.subset,
         scenario = EXCLUDED.scenario, domain = EXCLUDED.domain, attack = EXCLUDED.attack, category = EXCLUDED.category,
         response = EXCLUDED.response, prediction = EXCLUDED.prediction, correct = EXCLUDED.correct, error_kind = EXCLUDED.error_kind,
         error_message = EXCLUDED.error_message, latency_ms = EXCLUDED.latency_ms, input_tokens = EXCLUDED.input_tokens,
         output_tokens = EXCLUDED.output_tokens, image_sha256 = EXCLUDED.image_sha256, attempts = EXCLUDED.attempts,
         details = EXCLUDED.details, updated_at = now()
       WHERE NOT (results.status = 'ok' AND EXCLUDED.status = 'error')`,
      [
        row.runId, row.sampleId, row.status, row.label, row.subset ?? null, row.scenario ?? null, row.domain ?? null, row.attack ?? null,
        row.category ?? null, row.response ?? null, row.prediction ?? null, row.correct ?? null, row.errorKind ?? null, row.errorMessage ?? null,
        row.latencyMs ?? null, row.inputTokens ?? null, row.outputTokens ?? null, row.imageSha256 ?? null, row.attempts,
        row.details ? JSON.stringify(row.details) : null,
      ],
    );
  }

  async completedIds(runId: string): Promise<Set<string>> {
    // A content-policy block is the API's final word on a sample (part of the answer), not a failure to retry.
    const r = await this.pool.query("SELECT sample_id FROM results WHERE run_id = $1 AND (status = 'ok' OR error_kind = 'content_policy')", [runId]);
    return new Set(r.rows.map((x) => x.sample_id as string));
  }

  async results(runId: string): Promise<ResultRow[]> {
    const r = await this.pool.query('SELECT * FROM results WHERE run_id = $1 ORDER BY seq', [runId]);
    return r.rows.map(toRow);
  }

  async result(runId: string, sampleId: string): Promise<ResultRow | undefined> {
    const r = await this.pool.query('SELECT * FROM results WHERE run_id = $1 AND sample_id = $2', [runId, sampleId]);
    return r.rows[0] ? toRow(r.rows[0]) : undefined;
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

  /** Puts samples of a run on the queue (those already queued or stored are left alone). */
  async enqueue(runId: string, sampleIds: string[]): Promise<number> {
    let added = 0;
    for (let i = 0; i < sampleIds.length; i += 1000) {
      const chunk = sampleIds.slice(i, i + 1000);
      const r = await this.pool.query(
        `INSERT INTO queue (run_id, sample_id) SELECT $1, s FROM unnest($2::text[]) AS s
         WHERE NOT EXISTS (SELECT 1 FROM results WHERE run_id = $1 AND sample_id = s AND (status = 'ok' OR error_kind = 'content_policy')) ON CONFLICT DO NOTHING`,
        [runId, chunk],
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
         SELECT run_id, sample_id FROM queue
         WHERE ($1::text[] IS NULL OR run_id = ANY($1)) AND (lease_until IS NULL OR lease_until < now())
         ORDER BY run_id, sample_id LIMIT $2 FOR UPDATE SKIP LOCKED)
       UPDATE queue q SET lease_until = now() + make_interval(secs => $3::double precision / 1000), worker = $4
       FROM picked WHERE q.run_id = picked.run_id AND q.sample_id = picked.sample_id
       RETURNING q.run_id, q.sample_id`,
      [runIds ?? null, limit, leaseMs, worker],
    );
    return r.rows.map((x) => ({ runId: x.run_id, sampleId: x.sample_id }));
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

export function safeUrl(url: string): string {
  try {
    const u = new URL(url);
    return `${u.protocol}//${u.hostname}${u.port ? `:${u.port}` : ''}${u.pathname}`;
  } catch {
    return 'the given URL';
  }
}
