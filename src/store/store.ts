import type { GenerateResponse, Prediction, ResultRow } from '../core/types.ts';
import type { StoredRunConfig } from '../runner/config.ts';

/** A run's identity and its resolved configuration (never an API key). */
export interface RunRecord {
  id: string;
  benchmark: string;
  protocol: string;
  model: string;
  /** Resolved config as given to the runner: data dir, extraction mode, options, dataset problems. */
  config: StoredRunConfig;
  /** Items in the dataset selection (evaluated or not). */
  total: number;
  createdAt: string;
  /** queued: stored and waiting for workers (`mmsafe run --enqueue`); failed: see `failureOf`. */
  status: 'queued' | 'running' | 'done' | 'stopped' | 'failed';
  /** When the run first started asking (schema 5; the store sets it when the status becomes running). */
  startedAt?: string;
  /** When it last ended (done, stopped or failed); unset while it runs again after a resume. */
  finishedAt?: string;
}

/** The statuses a run ends in: the store stamps finishedAt when a run reaches one. */
export const ENDED_STATUSES: readonly RunRecord['status'][] = ['done', 'stopped', 'failed'];

/** How long a run took, first start to last end, in ms (undefined while it runs or when not known). */
export function runDurationMs(run: Pick<RunRecord, 'startedAt' | 'finishedAt'>): number | undefined {
  if (!run.startedAt || !run.finishedAt) return undefined;
  const ms = Date.parse(run.finishedAt) - Date.parse(run.startedAt);
  return Number.isFinite(ms) && ms >= 0 ? ms : undefined;
}

export interface ScanOptions {
  slim?: boolean;
  /** Rows per page (default SCAN_PAGE). */
  pageSize?: number;
}

/** Which rows a viewer page shows; all fields optional. */
export interface ResultFilter {
  subset?: string;
  scenario?: string;
  category?: string;
  outcome?: 'correct' | 'incorrect' | 'unparsed' | 'error';
  /** Substring of the response or the sample id. */
  search?: string;
}

/** A person's verdict on one sample of one run (the viewer's human labels). */
export interface HumanLabel {
  runId: string;
  sampleId: string;
  /** Awareness runs: the pair is safe. Response runs: the answer is safe and helpful. */
  verdict: boolean;
  updatedAt?: string;
}

/** One answer's verdict in a scoring generation that is not yet the run's (`mmsafe score`). */
export interface StagedScore {
  sampleId: string;
  /** Which of the item's answers (absent: 0). */
  repeat?: number;
  prediction: Prediction;
  correct: boolean;
  details?: Record<string, unknown>;
  judgeInputTokens?: number;
  judgeOutputTokens?: number;
  judgeCostUsd?: number;
}

/** Who works on a run: one process holds it, so two `--resume` of one run never ask the same samples. */
export interface RunHolder {
  /** Unique per process and run attempt. */
  holder: string;
  host: string;
  pid: number;
  /** ISO time the holder took the run. */
  since: string;
}

/**
 * A store whose runs are leased to one process at a time (SQLite). A PostgreSQL store instead
 * leases each sample through its work queue, so several processes share a run without overlap.
 */
export interface RunLeases {
  /** Takes the run for `me` for `ttlMs`; returns the live holder instead when someone else has it. */
  leaseRun(runId: string, me: RunHolder, ttlMs: number): Promise<RunHolder | undefined>;
  /** Lets go of the run if `holder` still has it. */
  releaseRun(runId: string, holder: string): Promise<void>;
}

export function hasRunLeases(store: Store): store is Store & RunLeases {
  return typeof (store as Partial<RunLeases>).leaseRun === 'function';
}

/**
 * The key of one answer among a run's: the sample id for an item's first answer (the only one when
 * each item is asked once), the id and the repeat index after it.
 */
export function answerKey(sampleId: string, repeat = 0): string {
  return repeat ? `${sampleId}\u001f${repeat}` : sampleId;
}

export interface RunListing extends RunRecord {
  done: number;
  errors: number;
}

/**
 * The only place that persists: SQLite by default, PostgreSQL for shared stores. Asynchronous
 * because a server database is. Writes are per sample and durable once the promise resolves, so
 * a crash loses nothing stored.
 */
export interface Store {
  createRun(run: RunRecord): Promise<void>;
  getRun(id: string): Promise<RunRecord | undefined>;
  updateRun(id: string, patch: Partial<Pick<RunRecord, 'status' | 'config' | 'total'>>): Promise<void>;
  listRuns(): Promise<RunListing[]>;
  /**
   * Inserts or replaces the row of (runId, sampleId): a retried error is overwritten by its answer,
   * never an answer by an error.
   */
  putResult(row: ResultRow): Promise<void>;
  /**
   * Which of these items' first `repeats` answers (default 1) are stored for good, by `answerKey`
   * (the sample id for repeat 0): answered, or blocked by the API's content policy (its final word
   * on the sample). Resume skips them; errored ones are asked again. Ids the run never stored are
   * simply absent. Callers ask a page of items at a time (SCAN_PAGE): resuming a run of any size
   * never holds every stored key, only the ids asked about count (a selection may be a subset of
   * what the run stored), and the lookups are index probes, whatever the order of the ids.
   */
  completedAmong(runId: string, sampleIds: readonly string[], repeats?: number): Promise<Set<string>>;
  results(runId: string): Promise<ResultRow[]>;
  /**
   * The run's rows one page at a time, in sample id order (keyset pages over the primary key), so
   * a reader of a run of any size holds one page. `slim`: without the answer, question, system
   * prompt and reference texts, which metrics and summaries never read.
   */
  scanResults(runId: string, opts?: ScanOptions): AsyncIterable<ResultRow>;
  /** One page of filtered rows, and how many match in all. */
  queryResults(runId: string, filter: ResultFilter, offset: number, limit: number): Promise<{ rows: ResultRow[]; total: number }>;
  /** One stored answer: the item's first, or its `repeat`-th (`--samples K`). */
  result(runId: string, sampleId: string, repeat?: number): Promise<ResultRow | undefined>;
  /** Every stored answer of one item, by repeat. */
  resultsOf(runId: string, sampleId: string): Promise<ResultRow[]>;
  /**
   * A cheap token that changes whenever a row of the run is written (its row and error counts and
   * latest write time): readers that keep something computed from the rows (the viewer's
   * summaries) know when to compute it again.
   */
  resultsStamp(runId: string): Promise<string>;
  putLabel(label: HumanLabel): Promise<void>;
  /** Captions for the caption ablation, by captioner and image content, reused across runs. */
  getCaption(captioner: string, imageSha256: string): Promise<string | undefined>;
  putCaption(captioner: string, imageSha256: string, caption: string): Promise<void>;
  labels(runId: string): Promise<HumanLabel[]>;
  /**
   * Adds to one key of the run's stored configuration in one transaction, so processes updating it
   * at once do not lose each other's changes (per-endpoint counts of many workers).
   */
  updateRunConfig(id: string, update: (config: StoredRunConfig) => StoredRunConfig): Promise<void>;
  /**
   * The run's budget, shared by every process on this store: holds `amountUsd` for one request
   * under `holdId` if what was spent plus what is held stays within `limitUsd`. False: over budget,
   * nothing held. A hold lapses after `holdMs` (its process died).
   */
  reserveBudget(runId: string, holdId: string, amountUsd: number, limitUsd: number, holdMs: number): Promise<boolean>;
  /** Ends a hold and adds what the request really cost (0 when nothing was paid) to the run's spend. */
  settleBudget(runId: string, holdId: string, spentUsd: number): Promise<void>;
  /** Dollars the run has spent on answers and judgements, over every process. */
  spentUsd(runId: string): Promise<number>;
  /** Keeps a verdict of a scoring generation aside; the run's rows are untouched until the switch. */
  stageScore(runId: string, generation: string, score: StagedScore): Promise<void>;
  staged(runId: string, generation: string): Promise<StagedScore[]>;
  /**
   * Makes a complete scoring generation the run's, in one transaction: every staged verdict
   * replaces its row's, the configuration names the new scorer, and the generation is cleared.
   */
  switchScores(runId: string, generation: string, config: StoredRunConfig): Promise<number>;
  /** `--cache`: answers by the hash of their exact request (see runner/answer-cache.ts), shared by every run. */
  getCachedAnswer(key: string): Promise<GenerateResponse | undefined>;
  putCachedAnswer(key: string, model: string, answer: GenerateResponse): Promise<void>;
  /** Empties the answer cache (of one model when given); returns how many answers were removed. */
  clearCache(model?: string): Promise<number>;
  close(): Promise<void>;
}
