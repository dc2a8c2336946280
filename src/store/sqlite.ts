import { mkdirSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { ResultRow } from '../core/types.ts';
import type { HumanLabel, ResultFilter, RunListing, RunRecord, Store } from './store.ts';

const SCHEMA_VERSION = 2;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  benchmark TEXT NOT NULL,
  protocol TEXT NOT NULL,
  model TEXT NOT NULL,
  config TEXT NOT NULL,
  total INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  status TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
  run_id TEXT NOT NULL,
  sample_id TEXT NOT NULL,
  status TEXT NOT NULL,
  label TEXT NOT NULL,
  subset TEXT, scenario TEXT, domain TEXT, attack TEXT, category TEXT,
  response TEXT,
  prediction TEXT,
  correct INTEGER,
  error_kind TEXT,
  error_message TEXT,
  latency_ms INTEGER,
  input_tokens INTEGER,
  output_tokens INTEGER,
  image_sha256 TEXT,
  attempts INTEGER NOT NULL,
  details TEXT,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (run_id, sample_id)
);
CREATE TABLE IF NOT EXISTS captions (
  captioner TEXT NOT NULL,
  image_sha256 TEXT NOT NULL,
  caption TEXT NOT NULL,
  PRIMARY KEY (captioner, image_sha256)
);
CREATE TABLE IF NOT EXISTS labels (
  run_id TEXT NOT NULL,
  sample_id TEXT NOT NULL,
  verdict INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (run_id, sample_id)
);
`;

interface ResultDbRow {
  run_id: string; sample_id: string; status: 'ok' | 'error'; label: 'safe' | 'unsafe';
  subset: string | null; scenario: string | null; domain: string | null; attack: string | null; category: string | null;
  response: string | null; prediction: ResultRow['prediction'] | null; correct: number | null;
  error_kind: string | null; error_message: string | null; latency_ms: number | null;
  input_tokens: number | null; output_tokens: number | null; image_sha256: string | null;
  attempts: number; details: string | null;
}

const orUndef = <T>(v: T | null): T | undefined => (v === null ? undefined : v);

/**
 * The embedded default store. WAL with synchronous=NORMAL: a committed row survives a process
 * crash or kill -9 (only an OS crash can lose the last transactions), and readers never block
 * the writer. busy_timeout lets several processes share one file. It stores what it is given:
 * callers never pass image bytes or API keys.
 */
export class SqliteStore implements Store {
  private readonly db: Database.Database;
  private readonly stmts;

  constructor(readonly file: string) {
    try {
      if (file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = new Database(file);
      this.db.pragma('journal_mode = WAL');
      this.db.pragma('synchronous = NORMAL');
      this.db.pragma('busy_timeout = 10000');
      this.db.exec(SCHEMA);
      if ((this.db.pragma('user_version', { simple: true }) as number) < SCHEMA_VERSION) this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    } catch (error) {
      throw new Error(`cannot open the database at ${file}: ${(error as Error).message} (pass a writable path with --db)`);
    }
    this.stmts = {
      insertRun: this.db.prepare(
        'INSERT INTO runs (id, benchmark, protocol, model, config, total, created_at, status) VALUES (@id, @benchmark, @protocol, @model, @config, @total, @createdAt, @status)',
      ),
      getRun: this.db.prepare('SELECT * FROM runs WHERE id = ?'),
      listRuns: this.db.prepare(`
        SELECT r.*, COALESCE(c.done, 0) AS done, COALESCE(c.errors, 0) AS errors FROM runs r
        LEFT JOIN (SELECT run_id, count(*) AS done, sum(status = 'error') AS errors FROM results GROUP BY run_id) c ON c.run_id = r.id
        ORDER BY r.created_at DESC, r.id`),
      putResult: this.db.prepare(`
        INSERT INTO results (run_id, sample_id, status, label, subset, scenario, domain, attack, category, response, prediction, correct,
          error_kind, error_message, latency_ms, input_tokens, output_tokens, image_sha256, attempts, details, updated_at)
        VALUES (@runId, @sampleId, @status, @label, @subset, @scenario, @domain, @attack, @category, @response, @prediction, @correct,
          @errorKind, @errorMessage, @latencyMs, @inputTokens, @outputTokens, @imageSha256, @attempts, @details, @updatedAt)
        ON CONFLICT (run_id, sample_id) DO UPDATE SET status = excluded.status, label = excluded.label, subset = excluded.subset,
          scenario = excluded.scenario, domain = excluded.domain, attack = excluded.attack, category = excluded.category,
          response = excluded.response, prediction = excluded.prediction, correct = excluded.correct, error_kind = excluded.error_kind,
          error_message = excluded.error_message, latency_ms = excluded.latency_ms, input_tokens = excluded.input_tokens,
          output_tokens = excluded.output_tokens, image_sha256 = excluded.image_sha256, attempts = excluded.attempts,
          details = excluded.details, updated_at = excluded.updated_at`),
      // A content-policy block is the API's final word on a sample (part of the answer), not a failure to retry.
      completed: this.db.prepare("SELECT sample_id FROM results WHERE run_id = ? AND (status = 'ok' OR error_kind = 'content_policy')").pluck(),
      results: this.db.prepare('SELECT * FROM results WHERE run_id = ? ORDER BY rowid'),
      result: this.db.prepare('SELECT * FROM results WHERE run_id = ? AND sample_id = ?'),
      putLabel: this.db.prepare(
        'INSERT INTO labels (run_id, sample_id, verdict, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, sample_id) DO UPDATE SET verdict = excluded.verdict, updated_at = excluded.updated_at',
      ),
      labels: this.db.prepare('SELECT * FROM labels WHERE run_id = ? ORDER BY rowid'),
      getCaption: this.db.prepare('SELECT caption FROM captions WHERE captioner = ? AND image_sha256 = ?').pluck(),
      putCaption: this.db.prepare('INSERT OR REPLACE INTO captions (captioner, image_sha256, caption) VALUES (?, ?, ?)'),
    };
  }

  async createRun(run: RunRecord): Promise<void> {
    this.stmts.insertRun.run({ ...run, config: JSON.stringify(run.config) });
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.stmts.getRun.get(id) as Record<string, unknown> | undefined;
    return row ? toRun(row) : undefined;
  }

  async updateRun(id: string, patch: Partial<Pick<RunRecord, 'status' | 'config' | 'total'>>): Promise<void> {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id };
    if (patch.status !== undefined) (sets.push('status = @status'), (params.status = patch.status));
    if (patch.config !== undefined) (sets.push('config = @config'), (params.config = JSON.stringify(patch.config)));
    if (patch.total !== undefined) (sets.push('total = @total'), (params.total = patch.total));
    if (sets.length) this.db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = @id`).run(params);
  }

  async listRuns(): Promise<RunListing[]> {
    return (this.stmts.listRuns.all() as Record<string, unknown>[]).map((r) => ({ ...toRun(r), done: Number(r.done), errors: Number(r.errors) }));
  }

  async putResult(row: ResultRow): Promise<void> {
    this.stmts.putResult.run({
      runId: row.runId, sampleId: row.sampleId, status: row.status, label: row.label,
      subset: row.subset ?? null, scenario: row.scenario ?? null, domain: row.domain ?? null, attack: row.attack ?? null, category: row.category ?? null,
      response: row.response ?? null, prediction: row.prediction ?? null, correct: row.correct === undefined ? null : row.correct ? 1 : 0,
      errorKind: row.errorKind ?? null, errorMessage: row.errorMessage ?? null, latencyMs: row.latencyMs ?? null,
      inputTokens: row.inputTokens ?? null, outputTokens: row.outputTokens ?? null, imageSha256: row.imageSha256 ?? null,
      attempts: row.attempts, details: row.details ? JSON.stringify(row.details) : null, updatedAt: new Date().toISOString(),
    });
  }

  async completedIds(runId: string): Promise<Set<string>> {
    return new Set(this.stmts.completed.all(runId) as string[]);
  }

  async results(runId: string): Promise<ResultRow[]> {
    return (this.stmts.results.all(runId) as ResultDbRow[]).map(toRow);
  }

  async result(runId: string, sampleId: string): Promise<ResultRow | undefined> {
    const r = this.stmts.result.get(runId, sampleId) as ResultDbRow | undefined;
    return r ? toRow(r) : undefined;
  }

  async queryResults(runId: string, filter: ResultFilter, offset: number, limit: number): Promise<{ rows: ResultRow[]; total: number }> {
    const where = ['run_id = @runId'];
    const params: Record<string, unknown> = { runId, offset, limit };
    for (const key of ['subset', 'scenario', 'category'] as const) {
      if (filter[key]) (where.push(`${key} = @${key}`), (params[key] = filter[key]));
    }
    const outcome = {
      correct: "status = 'ok' AND correct = 1",
      // Unparsed answers and judge errors have a filter of their own.
      incorrect: "status = 'ok' AND correct = 0 AND prediction NOT IN ('unparsed', 'judge_error')",
      unparsed: "status = 'ok' AND prediction IN ('unparsed', 'judge_error')",
      error: "status = 'error'",
    } as const;
    if (filter.outcome) where.push(outcome[filter.outcome]);
    if (filter.search) {
      where.push("(response LIKE @search ESCAPE '\\' OR sample_id LIKE @search ESCAPE '\\')");
      params.search = `%${filter.search.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
    }
    const clause = where.join(' AND ');
    const total = (this.db.prepare(`SELECT count(*) AS n FROM results WHERE ${clause}`).get(params) as { n: number }).n;
    const rows = (this.db.prepare(`SELECT * FROM results WHERE ${clause} ORDER BY rowid LIMIT @limit OFFSET @offset`).all(params) as ResultDbRow[]).map(toRow);
    return { rows, total };
  }

  async putLabel(label: HumanLabel): Promise<void> {
    this.stmts.putLabel.run(label.runId, label.sampleId, label.verdict ? 1 : 0, new Date().toISOString());
  }

  async getCaption(captioner: string, imageSha256: string): Promise<string | undefined> {
    return this.stmts.getCaption.get(captioner, imageSha256) as string | undefined;
  }

  async putCaption(captioner: string, imageSha256: string, caption: string): Promise<void> {
    this.stmts.putCaption.run(captioner, imageSha256, caption);
  }

  async labels(runId: string): Promise<HumanLabel[]> {
    return (this.stmts.labels.all(runId) as { run_id: string; sample_id: string; verdict: number; updated_at: string }[]).map((l) => ({
      runId: l.run_id,
      sampleId: l.sample_id,
      verdict: l.verdict === 1,
      updatedAt: l.updated_at,
    }));
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

function toRow(r: ResultDbRow): ResultRow {
  return {
    runId: r.run_id, sampleId: r.sample_id, status: r.status, label: r.label,
    subset: orUndef(r.subset), scenario: orUndef(r.scenario), domain: orUndef(r.domain), attack: orUndef(r.attack), category: orUndef(r.category),
    response: orUndef(r.response), prediction: orUndef(r.prediction), correct: r.correct === null ? undefined : r.correct === 1,
    errorKind: orUndef(r.error_kind), errorMessage: orUndef(r.error_message), latencyMs: orUndef(r.latency_ms),
    inputTokens: orUndef(r.input_tokens), outputTokens: orUndef(r.output_tokens), imageSha256: orUndef(r.image_sha256),
    attempts: r.attempts, details: r.details ? JSON.parse(r.details) : undefined,
  };
}

function toRun(r: Record<string, unknown>): RunRecord {
  return {
    id: String(r.id), benchmark: String(r.benchmark), protocol: String(r.protocol), model: String(r.model),
    config: JSON.parse(String(r.config)), total: Number(r.total), createdAt: String(r.created_at), status: r.status as RunRecord['status'],
  };
}
