import type { ResultRow } from '../core/types.ts';

/** A run's identity and its resolved configuration (never an API key). */
export interface RunRecord {
  id: string;
  benchmark: string;
  protocol: string;
  model: string;
  /** Resolved config as given to the runner: data dir, extraction mode, options, dataset problems. */
  config: Record<string, unknown>;
  /** Items in the dataset selection (evaluated or not). */
  total: number;
  createdAt: string;
  /** queued: stored and waiting for workers (`mmsafe run --enqueue`). */
  status: 'queued' | 'running' | 'done' | 'stopped';
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
  /** Inserts or replaces the row of (runId, sampleId): a retried error is overwritten by its answer. */
  putResult(row: ResultRow): Promise<void>;
  /** Sample ids already answered successfully (resume skips them; errored samples are retried). */
  completedIds(runId: string): Promise<Set<string>>;
  results(runId: string): Promise<ResultRow[]>;
  /** One page of filtered rows, and how many match in all. */
  queryResults(runId: string, filter: ResultFilter, offset: number, limit: number): Promise<{ rows: ResultRow[]; total: number }>;
  result(runId: string, sampleId: string): Promise<ResultRow | undefined>;
  putLabel(label: HumanLabel): Promise<void>;
  /** Captions for the caption ablation, by captioner and image content, reused across runs. */
  getCaption(captioner: string, imageSha256: string): Promise<string | undefined>;
  putCaption(captioner: string, imageSha256: string, caption: string): Promise<void>;
  labels(runId: string): Promise<HumanLabel[]>;
  close(): Promise<void>;
}
