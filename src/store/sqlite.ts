import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { GenerateResponse, ResultRow } from '../core/types.ts';
import { StoredRunConfigSchema, type StoredRunConfig } from '../runner/config.ts';
import { COMPLETED_WHERE, RESULT_COLUMNS, RESULT_CONTENT, RESULT_KEY, rowFrom, rowReader, rowValues, SCAN_PAGE, SLIM_COLUMNS, stagedFrom, storableDetails } from './columns.ts';
import { migrateRow, migrateRunConfig, RESULT_COLUMNS_V3, SCHEMA_VERSION } from './migrate.ts';
import { isDeadLocalProcess } from './process.ts';
import { runTimes, statusTimes } from './run-times.ts';
import { answerKey, ENDED_STATUSES, type HumanLabel, type ResultFilter, type RunHolder, type RunLeases, type RunListing, type RunRecord, type ScanOptions, type StagedScore, type Store } from './store.ts';

/**
 * The results table as this version creates it: one row per answer, keyed by run, sample and
 * repeat (schema 4; `--samples K` stores K answers per item).
 */
const resultsTable = (name: string) => `
CREATE TABLE IF NOT EXISTS ${name} (
  run_id TEXT NOT NULL,
  sample_id TEXT NOT NULL,
  repeat INTEGER NOT NULL DEFAULT 0,
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
  ${RESULT_COLUMNS_V3.map(([c, t]) => `${c} ${t}`).join(', ')},
  PRIMARY KEY (run_id, sample_id, repeat)
);`;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS runs (
  id TEXT PRIMARY KEY,
  benchmark TEXT NOT NULL,
  protocol TEXT NOT NULL,
  model TEXT NOT NULL,
  config TEXT NOT NULL,
  total INTEGER NOT NULL,
  created_at TEXT NOT NULL,
  status TEXT NOT NULL,
  started_at TEXT,
  finished_at TEXT
);
${resultsTable('results')}
CREATE TABLE IF NOT EXISTS captions (
  captioner TEXT NOT NULL,
  image_sha256 TEXT NOT NULL,
  caption TEXT NOT NULL,
  PRIMARY KEY (captioner, image_sha256)
);
CREATE TABLE IF NOT EXISTS answer_cache (
  key TEXT PRIMARY KEY,
  model TEXT NOT NULL,
  answer TEXT NOT NULL,
  created_at TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS labels (
  run_id TEXT NOT NULL,
  sample_id TEXT NOT NULL,
  verdict INTEGER NOT NULL,
  updated_at TEXT NOT NULL,
  PRIMARY KEY (run_id, sample_id)
);
`;

/** Schema 3's additions (see migrate.ts); the columns come from RESULT_COLUMNS_V3. */
const SCHEMA_V3 = `
CREATE TABLE IF NOT EXISTS budget_holds (
  run_id TEXT NOT NULL, hold_id TEXT NOT NULL, amount_usd REAL NOT NULL, expires_at INTEGER NOT NULL,
  PRIMARY KEY (run_id, hold_id)
);
CREATE TABLE IF NOT EXISTS staged_scores (
  run_id TEXT NOT NULL, generation TEXT NOT NULL, sample_id TEXT NOT NULL, repeat INTEGER NOT NULL DEFAULT 0, prediction TEXT NOT NULL, correct INTEGER NOT NULL,
  details TEXT, judge_input_tokens INTEGER, judge_output_tokens INTEGER, judge_cost_usd REAL,
  PRIMARY KEY (run_id, generation, sample_id, repeat)
);
`;

const json = { bool: (b: boolean) => (b ? 1 : 0), json: (v: Record<string, unknown>) => JSON.stringify(v) };
const unjson = { bool: (v: unknown) => v === 1, json: (v: unknown) => JSON.parse(String(v)) as Record<string, unknown> };
const toRow = (r: Record<string, unknown>): ResultRow => rowFrom(r, unjson);
const placeholders = RESULT_COLUMNS.map((c) => `@${c}`).join(', ');
const bind = (row: ResultRow, updatedAt: string) => {
  const values = rowValues(row, json);
  return { ...Object.fromEntries(RESULT_COLUMNS.map((c, i) => [c, values[i]])), updated_at: updatedAt };
};

/**
 * The embedded default store. WAL with synchronous=NORMAL: a committed row survives a process
 * crash or kill -9 (only an OS crash can lose the last transactions), and readers never block
 * the writer. busy_timeout lets several processes share one file. It stores what it is given:
 * callers never pass image bytes or API keys.
 */
export class SqliteStore implements Store, RunLeases {
  private readonly db: Database.Database;
  private readonly stmts;

  /** `readOnly`: for commands that only read (runs, report, export); works on a read-only file or file system. */
  constructor(readonly file: string, opts: { readOnly?: boolean } = {}) {
    try {
      const ro = opts.readOnly ? openForReading(file) : undefined;
      if (!ro && file !== ':memory:') mkdirSync(path.dirname(path.resolve(file)), { recursive: true });
      this.db = ro?.db ?? new Database(file);
      this.db.pragma('busy_timeout = 10000');
      if (!ro?.ready) {
        if (!ro) whileBusy(() => this.db.pragma('journal_mode = WAL'));
        this.db.pragma('synchronous = NORMAL');
        // Under the write lock from the start: processes creating one new file at once would
        // otherwise read the schema, find a table missing, and fail to write it (a snapshot
        // another process changed meanwhile is SQLITE_BUSY at once, without waiting).
        this.db.transaction(() => this.db.exec(SCHEMA)).immediate();
        this.migrate();
      }
    } catch (error) {
      const hint = opts.readOnly ? '' : ' (pass a writable path with --db)';
      throw new Error(`cannot open the database at ${file}: ${(error as Error).message}${hint}`);
    }
    this.stmts = {
      insertRun: this.db.prepare(
        'INSERT INTO runs (id, benchmark, protocol, model, config, total, created_at, status, started_at, finished_at) VALUES (@id, @benchmark, @protocol, @model, @config, @total, @createdAt, @status, @startedAt, @finishedAt)',
      ),
      getRun: this.db.prepare('SELECT * FROM runs WHERE id = ?'),
      listRuns: this.db.prepare(`
        SELECT r.*, COALESCE(c.done, 0) AS done, COALESCE(c.errors, 0) AS errors FROM runs r
        LEFT JOIN (SELECT run_id, count(*) AS done, sum(status = 'error') AS errors FROM results GROUP BY run_id) c ON c.run_id = r.id
        ORDER BY r.created_at DESC, r.id`),
      // A late error (a retry that lost a race, a worker whose lease ran out) never replaces an answer.
      putResult: this.db.prepare(`
        INSERT INTO results (${RESULT_COLUMNS.join(', ')}, updated_at) VALUES (${placeholders}, @updated_at)
        ON CONFLICT (${RESULT_KEY.join(', ')}) DO UPDATE SET ${[...RESULT_CONTENT, 'updated_at'].map((c) => `${c} = excluded.${c}`).join(', ')}
        WHERE NOT (results.status = 'ok' AND excluded.status = 'error')`),
      // A content-policy block is the API's final word on a sample (part of the answer), not a failure to retry.
      // A page of ids as an IN list: one index probe each on the primary key, whatever their order.
      completed: this.db.prepare(`SELECT sample_id, repeat FROM results WHERE run_id = ? AND repeat < ? AND sample_id IN (${Array(SCAN_PAGE).fill('?').join(', ')}) AND ${COMPLETED_WHERE}`).raw(),
      results: this.db.prepare('SELECT * FROM results WHERE run_id = ? ORDER BY rowid'),
      scan: scanStatements(this.db, RESULT_COLUMNS),
      scanSlim: scanStatements(this.db, SLIM_COLUMNS),
      result: this.db.prepare('SELECT * FROM results WHERE run_id = ? AND sample_id = ? AND repeat = ?'),
      resultsOf: this.db.prepare('SELECT * FROM results WHERE run_id = ? AND sample_id = ? ORDER BY repeat'),
      stamp: this.db.prepare("SELECT count(*) AS n, sum(status = 'error') AS errors, max(updated_at) AS at FROM results WHERE run_id = ?"),
      putLabel: this.db.prepare(
        'INSERT INTO labels (run_id, sample_id, verdict, updated_at) VALUES (?, ?, ?, ?) ON CONFLICT (run_id, sample_id) DO UPDATE SET verdict = excluded.verdict, updated_at = excluded.updated_at',
      ),
      labels: this.db.prepare('SELECT * FROM labels WHERE run_id = ? ORDER BY rowid'),
      getCaption: this.db.prepare('SELECT caption FROM captions WHERE captioner = ? AND image_sha256 = ?').pluck(),
      putCaption: this.db.prepare('INSERT OR REPLACE INTO captions (captioner, image_sha256, caption) VALUES (?, ?, ?)'),
      getCached: this.db.prepare('SELECT answer FROM answer_cache WHERE key = ?').pluck(),
      putCached: this.db.prepare('INSERT OR REPLACE INTO answer_cache (key, model, answer, created_at) VALUES (?, ?, ?, ?)'),
    };
  }

  /**
   * Brings a database of an older schema up to this one, once, in one write transaction: a second
   * process opening the same file waits and then finds it done.
   */
  private migrate(): void {
    const version = () => this.db.pragma('user_version', { simple: true }) as number;
    if (version() >= SCHEMA_VERSION) return;
    this.db.transaction(() => {
      const from = version();
      if (from >= SCHEMA_VERSION) return;
      if (from < 3) this.migrateToV3();
      if (from < 4) this.migrateToV4();
      if (from < 5) this.migrateToV5();
      this.db.pragma(`user_version = ${SCHEMA_VERSION}`);
    }).immediate();
  }

  private columnsOf(table: string): Set<string> {
    return new Set((this.db.prepare(`PRAGMA table_info(${table})`).all() as { name: string }[]).map((c) => c.name));
  }

  /** Schema 3: what was sent and what it cost in columns of their own (see migrate.ts). */
  private migrateToV3(): void {
    const have = this.columnsOf('results');
    for (const [name, type] of RESULT_COLUMNS_V3) if (!have.has(name)) this.db.exec(`ALTER TABLE results ADD COLUMN ${name} ${type}`);
    if (!this.columnsOf('runs').has('spent_usd')) this.db.exec('ALTER TABLE runs ADD COLUMN spent_usd REAL NOT NULL DEFAULT 0');
    this.db.exec(SCHEMA_V3);
    const rowsOf = this.db.prepare('SELECT sample_id, input_tokens, output_tokens, details FROM results WHERE run_id = ?');
    const update = this.db.prepare(`UPDATE results SET cached_tokens = @cached_tokens, reasoning_tokens = @reasoning_tokens, cost_usd = @cost_usd,
      judge_input_tokens = @judge_input_tokens, judge_output_tokens = @judge_output_tokens, judge_cost_usd = @judge_cost_usd, details = @details
      WHERE run_id = @run_id AND sample_id = @sample_id`);
    const setRun = this.db.prepare('UPDATE runs SET config = ?, spent_usd = ? WHERE id = ?');
    for (const run of this.db.prepare('SELECT id, model, protocol, config FROM runs').all() as { id: string; model: string; protocol: string; config: string }[]) {
      const { config, pricing } = migrateRunConfig({ ...run, config: JSON.parse(run.config) });
      let spent = 0;
      for (const r of rowsOf.all(run.id) as { sample_id: string; input_tokens: number | null; output_tokens: number | null; details: string | null }[]) {
        const m = migrateRow({ ...r, details: r.details ? JSON.parse(r.details) : null }, pricing);
        spent += (m.cost_usd ?? 0) + (m.judge_cost_usd ?? 0);
        update.run({ ...m, run_id: run.id, details: m.details ? JSON.stringify(m.details) : null });
      }
      setRun.run(JSON.stringify(config), spent, run.id);
    }
  }

  /**
   * Schema 4: the repeat index joins the key of results and staged scores (`--samples K`). SQLite
   * cannot change a primary key in place: each table is rebuilt under its name, rows in their
   * order, every old row becoming repeat 0.
   */
  private migrateToV4(): void {
    const rebuild = (table: string, create: string) => {
      if (this.columnsOf(table).has('repeat')) return;
      const columns = [...this.columnsOf(table)].join(', ');
      this.db.exec(`ALTER TABLE ${table} RENAME TO ${table}_v3; ${create}
        INSERT INTO ${table} (${columns}) SELECT ${columns} FROM ${table}_v3 ORDER BY rowid; DROP TABLE ${table}_v3;`);
    };
    rebuild('results', resultsTable('results'));
    rebuild('staged_scores', SCHEMA_V3);
  }

  /** Schema 5: when runs started and ended (see migrate.ts). */
  private migrateToV5(): void {
    const have = this.columnsOf('runs');
    for (const c of ['started_at', 'finished_at']) if (!have.has(c)) this.db.exec(`ALTER TABLE runs ADD COLUMN ${c} TEXT`);
    this.db.exec(`UPDATE runs SET started_at = created_at WHERE started_at IS NULL AND status <> 'queued';
      UPDATE runs SET finished_at = (SELECT max(updated_at) FROM results WHERE run_id = runs.id)
        WHERE finished_at IS NULL AND status IN (${ENDED_STATUSES.map((s) => `'${s}'`).join(', ')})`);
  }

  async createRun(run: RunRecord): Promise<void> {
    this.stmts.insertRun.run({ ...run, config: JSON.stringify(run.config), ...runTimes(run) });
  }

  async getRun(id: string): Promise<RunRecord | undefined> {
    const row = this.stmts.getRun.get(id) as Record<string, unknown> | undefined;
    return row ? toRun(row) : undefined;
  }

  async updateRun(id: string, patch: Partial<Pick<RunRecord, 'status' | 'config' | 'total'>>): Promise<void> {
    const sets: string[] = [];
    const params: Record<string, unknown> = { id };
    if (patch.status !== undefined) {
      sets.push('status = @status', ...statusTimes(patch.status, '@now'));
      Object.assign(params, { status: patch.status, now: new Date().toISOString() });
    }
    if (patch.config !== undefined) (sets.push('config = @config'), (params.config = JSON.stringify(patch.config)));
    if (patch.total !== undefined) (sets.push('total = @total'), (params.total = patch.total));
    if (sets.length) this.db.prepare(`UPDATE runs SET ${sets.join(', ')} WHERE id = @id`).run(params);
  }

  async updateRunConfig(id: string, update: (config: StoredRunConfig) => StoredRunConfig): Promise<void> {
    this.db.transaction(() => {
      const row = this.stmts.getRun.get(id) as Record<string, unknown> | undefined;
      if (row) this.db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify(update(toRun(row).config)), id);
    }).immediate();
  }

  async listRuns(): Promise<RunListing[]> {
    return (this.stmts.listRuns.all() as Record<string, unknown>[]).map((r) => ({ ...toRun(r), done: Number(r.done), errors: Number(r.errors) }));
  }

  async putResult(row: ResultRow): Promise<void> {
    this.stmts.putResult.run(bind(row, new Date().toISOString()));
  }

  async completedAmong(runId: string, sampleIds: readonly string[], repeats = 1): Promise<Set<string>> {
    const out = new Set<string>();
    for (let i = 0; i < sampleIds.length; i += SCAN_PAGE) {
      const page = sampleIds.slice(i, i + SCAN_PAGE);
      // One statement for every page: a short one is padded with its first id (an IN list ignores repeats).
      const ids = page.length < SCAN_PAGE ? page.concat(Array<string>(SCAN_PAGE - page.length).fill(page[0])) : page;
      for (const [id, repeat] of this.stmts.completed.all(runId, repeats, ...ids) as [string, number][]) out.add(answerKey(id, repeat));
    }
    return out;
  }

  async results(runId: string): Promise<ResultRow[]> {
    return (this.stmts.results.all(runId) as Record<string, unknown>[]).map(toRow);
  }

  /**
   * Keyset pages over the primary key: no sort, and the connection is free between pages (an open
   * better-sqlite3 iterator would keep it busy, failing every other statement until it ends).
   */
  async *scanResults(runId: string, opts: ScanOptions = {}): AsyncGenerator<ResultRow> {
    const { first, next, read, sampleAt, repeatAt } = opts.slim ? this.stmts.scanSlim : this.stmts.scan;
    const size = opts.pageSize ?? SCAN_PAGE;
    let page = first.all(runId, size) as unknown[][];
    while (page.length) {
      for (const r of page) yield read(r);
      if (page.length < size) return;
      const last = page[page.length - 1];
      // Between pages the event loop runs (timers, signals, the viewer's other requests).
      await new Promise((resolve) => setImmediate(resolve));
      page = next.all(runId, last[sampleAt], last[repeatAt], size) as unknown[][];
    }
  }

  async result(runId: string, sampleId: string, repeat = 0): Promise<ResultRow | undefined> {
    const r = this.stmts.result.get(runId, sampleId, repeat) as Record<string, unknown> | undefined;
    return r ? toRow(r) : undefined;
  }

  async resultsOf(runId: string, sampleId: string): Promise<ResultRow[]> {
    return (this.stmts.resultsOf.all(runId, sampleId) as Record<string, unknown>[]).map(toRow);
  }

  async resultsStamp(runId: string): Promise<string> {
    const s = this.stmts.stamp.get(runId) as { n: number; errors: number | null; at: string | null };
    return `${s.n}:${s.errors ?? 0}:${s.at ?? ''}`;
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
    const rows = (this.db.prepare(`SELECT * FROM results WHERE ${clause} ORDER BY rowid LIMIT @limit OFFSET @offset`).all(params) as Record<string, unknown>[]).map(toRow);
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

  async getCachedAnswer(key: string): Promise<GenerateResponse | undefined> {
    const answer = this.stmts.getCached.get(key) as string | undefined;
    return answer === undefined ? undefined : (JSON.parse(answer) as GenerateResponse);
  }

  async putCachedAnswer(key: string, model: string, answer: GenerateResponse): Promise<void> {
    this.stmts.putCached.run(key, model, JSON.stringify(answer), new Date().toISOString());
  }

  async clearCache(model?: string): Promise<number> {
    const r = model === undefined ? this.db.prepare('DELETE FROM answer_cache').run() : this.db.prepare('DELETE FROM answer_cache WHERE model = ?').run(model);
    return r.changes;
  }

  async labels(runId: string): Promise<HumanLabel[]> {
    return (this.stmts.labels.all(runId) as { run_id: string; sample_id: string; verdict: number; updated_at: string }[]).map((l) => ({
      runId: l.run_id,
      sampleId: l.sample_id,
      verdict: l.verdict === 1,
      updatedAt: l.updated_at,
    }));
  }

  async reserveBudget(runId: string, holdId: string, amountUsd: number, limitUsd: number, holdMs: number): Promise<boolean> {
    return this.db.transaction(() => {
      const now = Date.now();
      this.db.prepare('DELETE FROM budget_holds WHERE run_id = ? AND expires_at < ?').run(runId, now);
      const { spent, held } = this.db
        .prepare('SELECT (SELECT spent_usd FROM runs WHERE id = @runId) AS spent, (SELECT COALESCE(sum(amount_usd), 0) FROM budget_holds WHERE run_id = @runId) AS held')
        .get({ runId }) as { spent: number | null; held: number };
      if ((spent ?? 0) + held + amountUsd > limitUsd) return false;
      this.db.prepare('INSERT OR REPLACE INTO budget_holds (run_id, hold_id, amount_usd, expires_at) VALUES (?, ?, ?, ?)').run(runId, holdId, amountUsd, now + holdMs);
      return true;
    }).immediate();
  }

  async settleBudget(runId: string, holdId: string, spentUsd: number): Promise<void> {
    this.db.transaction(() => {
      this.db.prepare('DELETE FROM budget_holds WHERE run_id = ? AND hold_id = ?').run(runId, holdId);
      if (spentUsd > 0) this.db.prepare('UPDATE runs SET spent_usd = spent_usd + ? WHERE id = ?').run(spentUsd, runId);
    }).immediate();
  }

  async spentUsd(runId: string): Promise<number> {
    return Number((this.db.prepare('SELECT spent_usd FROM runs WHERE id = ?').pluck().get(runId) as number | undefined) ?? 0);
  }

  async stageScore(runId: string, generation: string, s: StagedScore): Promise<void> {
    this.db
      .prepare(`INSERT OR REPLACE INTO staged_scores (run_id, generation, sample_id, repeat, prediction, correct, details, judge_input_tokens, judge_output_tokens, judge_cost_usd)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
      .run(runId, generation, s.sampleId, s.repeat ?? 0, s.prediction, s.correct ? 1 : 0, s.details ? JSON.stringify(storableDetails(s.details)) : null, s.judgeInputTokens ?? null, s.judgeOutputTokens ?? null, s.judgeCostUsd ?? null);
  }

  async staged(runId: string, generation: string): Promise<StagedScore[]> {
    const rows = this.db.prepare('SELECT * FROM staged_scores WHERE run_id = ? AND generation = ? ORDER BY rowid').all(runId, generation) as Record<string, unknown>[];
    return rows.map((r) => stagedFrom(r, unjson));
  }

  async switchScores(runId: string, generation: string, config: StoredRunConfig): Promise<number> {
    return this.db.transaction(() => {
      const n = this.db
        .prepare(`UPDATE results SET prediction = s.prediction, correct = s.correct, details = s.details, judge_input_tokens = s.judge_input_tokens,
            judge_output_tokens = s.judge_output_tokens, judge_cost_usd = s.judge_cost_usd, updated_at = @now
          FROM staged_scores s WHERE s.run_id = @runId AND s.generation = @generation AND results.run_id = s.run_id AND results.sample_id = s.sample_id AND results.repeat = s.repeat`)
        .run({ runId, generation, now: new Date().toISOString() }).changes;
      this.db.prepare('UPDATE runs SET config = ? WHERE id = ?').run(JSON.stringify(config), runId);
      this.db.prepare('DELETE FROM staged_scores WHERE run_id = ? AND generation = ?').run(runId, generation);
      return n;
    }).immediate();
  }

  async leaseRun(runId: string, me: RunHolder, ttlMs: number): Promise<RunHolder | undefined> {
    // Created on first use: databases written before leases existed get the table when next run.
    this.db.exec('CREATE TABLE IF NOT EXISTS run_leases (run_id TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, since TEXT NOT NULL, expires_at INTEGER NOT NULL)');
    const take = this.db.transaction((): RunHolder | undefined => {
      const now = Date.now();
      const cur = this.db.prepare('SELECT * FROM run_leases WHERE run_id = ?').get(runId) as (RunHolder & { expires_at: number }) | undefined;
      if (cur && cur.holder !== me.holder && cur.expires_at > now && !isDeadLocalProcess(cur.host, cur.pid)) {
        return { holder: cur.holder, host: cur.host, pid: cur.pid, since: cur.since };
      }
      const since = cur?.holder === me.holder ? cur.since : me.since;
      this.db
        .prepare('INSERT INTO run_leases (run_id, holder, host, pid, since, expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (run_id) DO UPDATE SET holder = excluded.holder, host = excluded.host, pid = excluded.pid, since = excluded.since, expires_at = excluded.expires_at')
        .run(runId, me.holder, me.host, me.pid, since, now + ttlMs);
      return undefined;
    });
    return take.immediate();
  }

  async releaseRun(runId: string, holder: string): Promise<void> {
    if (!this.db.open) return;
    this.db.exec('CREATE TABLE IF NOT EXISTS run_leases (run_id TEXT PRIMARY KEY, holder TEXT NOT NULL, host TEXT NOT NULL, pid INTEGER NOT NULL, since TEXT NOT NULL, expires_at INTEGER NOT NULL)');
    this.db.prepare('DELETE FROM run_leases WHERE run_id = ? AND holder = ?').run(runId, holder);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/**
 * A page of a run's rows in key order (sample, repeat), the first or the one after a given key, as
 * arrays (raw mode: no keyed object per row) with the reader that makes them ResultRows.
 */
function scanStatements(db: Database.Database, columns: readonly string[]) {
  const select = `SELECT ${columns.join(', ')} FROM results WHERE run_id = ?`;
  return {
    first: db.prepare(`${select} ORDER BY sample_id, repeat LIMIT ?`).raw(),
    next: db.prepare(`${select} AND (sample_id, repeat) > (?, ?) ORDER BY sample_id, repeat LIMIT ?`).raw(),
    read: rowReader(columns, unjson),
    sampleAt: columns.indexOf('sample_id'),
    repeatAt: columns.indexOf('repeat'),
  };
}

/**
 * Retries a statement SQLite refused with SQLITE_BUSY without calling its busy handler (switching
 * a file to WAL while another process does the same), for up to the busy timeout.
 */
function whileBusy<T>(fn: () => T, ms = 10_000): T {
  const until = Date.now() + ms;
  for (;;) {
    try {
      return fn();
    } catch (error) {
      if (!String((error as { code?: unknown }).code).startsWith('SQLITE_BUSY') || Date.now() > until) throw error;
      Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 20);
    }
  }
}

function toRun(r: Record<string, unknown>): RunRecord {
  return {
    id: String(r.id), benchmark: String(r.benchmark), protocol: String(r.protocol), model: String(r.model),
    config: StoredRunConfigSchema.parse(JSON.parse(String(r.config))), total: Number(r.total), createdAt: String(r.created_at), status: r.status as RunRecord['status'],
    ...(r.started_at ? { startedAt: String(r.started_at) } : {}),
    ...(r.finished_at ? { finishedAt: String(r.finished_at) } : {}),
  };
}

/**
 * A database opened only to read, with nothing written beside it (no -wal or -shm file, no
 * migration on disk), so `runs`, `report` and `export` work on a read-only file or file system.
 * `ready`: the file itself, current and opened read-only. Otherwise an in-memory copy that the
 * caller sets up as usual: for a missing file (an empty store), a database of an older schema
 * (migrated in memory only), or a WAL database SQLite cannot open read-only because its -shm file
 * cannot be created (a copy whose header says rollback journal, as it has no WAL to read).
 */
function openForReading(file: string): { db: Database.Database; ready: boolean } {
  if (file === ':memory:' || !existsSync(file)) return { db: new Database(':memory:'), ready: false };
  let image: Buffer;
  try {
    const db = new Database(file, { readonly: true, fileMustExist: true });
    if ((db.pragma('user_version', { simple: true }) as number) >= SCHEMA_VERSION) return { db, ready: true };
    image = db.serialize();
    db.close();
  } catch {
    image = readFileSync(file);
  }
  if (image[18] === 2 && image[19] === 2) image.fill(1, 18, 20);
  return { db: new Database(image), ready: false };
}
