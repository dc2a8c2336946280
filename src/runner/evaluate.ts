import type { LoadedDataset, Provider } from '../core/types.ts';
import type { Store } from '../store/store.ts';
import { isWorkQueue } from '../store/queue.ts';
import { repeatsOf, type RunConfigInput } from './config.ts';
import type { RunEstimate } from './estimate.ts';
import type { ExecuteResult, RunProgress } from './run.ts';
import { countStored, emptyProgress, openRun, RunSetupError } from './session.ts';
import { everySampleFailed, markFailed } from '../store/run-status.ts';
import { recordEndpointStats, workOnQueuedRun } from './worker.ts';
import { holdRun, RunHeldError } from './run-lease.ts';

export { createJudge, openRun, protocolFor, RunSetupError, shardOf, type RunSession } from './session.ts';

export interface EvaluateOptions {
  store: Store;
  /** Name of the run; generated when absent. With `resume`, the run to finish. */
  runId?: string;
  resume?: boolean;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** `pending` counts answers: `repeats` (`--samples`) per item. */
  onStart?: (info: { runId: string; dataset: LoadedDataset; pending: number; resumed: boolean; repeats: number }) => void;
  onFirstRequest?: () => void;
  /** Tests and the demo inject providers (and keys) here instead of through the environment. */
  provider?: Provider;
  judge?: Provider;
  /** Load and estimate only: no run is stored, no request is sent. */
  dryRun?: boolean;
  apiKey?: string;
  /** Store the run and queue its samples for workers (shared store only); answer nothing here. */
  enqueueOnly?: boolean;
  /** On a work-queue store: this process's name in the leases, and how long a lease lasts. */
  workerId?: string;
  leaseMs?: number;
  /** Prove key, endpoint and model with one short request before the run (the CLI's default). */
  preflight?: boolean;
}

export interface EvaluateResult extends ExecuteResult {
  runId: string;
  dataset: LoadedDataset;
  /** Set on a dry run: nothing was stored or sent. */
  estimate?: RunEstimate;
  /** Set by --enqueue: samples put on the shared queue. */
  enqueued?: number;
}

/**
 * Runs an evaluation in this process: loads the data, stores the run, answers every pending sample.
 * On a work-queue store (PostgreSQL) the samples go through the shared queue instead, so workers on
 * other machines can join the same run and nothing is answered twice.
 */
export async function evaluate(input: RunConfigInput | undefined, opts: EvaluateOptions): Promise<EvaluateResult> {
  if (opts.enqueueOnly && !isWorkQueue(opts.store)) throw new RunSetupError('--enqueue needs a shared store for workers to take the samples from: --db postgres://...');
  const opened = await openRun(input, { ...opts, mode: opts.resume ? 'resume' : 'create', status: opts.enqueueOnly ? 'queued' : 'running' });
  if ('dryRun' in opened) return opened.dryRun;
  const session = opened;
  const { runId, dataset } = session;
  const queue = isWorkQueue(opts.store) ? opts.store : undefined;
  // One process at a time works on a run outside a work queue (a queue leases each sample instead).
  const lease = queue ? undefined : await holdRun(opts.store, runId).catch((error) => {
    throw error instanceof RunHeldError ? new RunSetupError(error.message) : error;
  });
  try {
    const repeats = repeatsOf(session.config);
    const answers = dataset.samples.length * repeats;
    if (queue) await queue.enqueue(runId, dataset.samples.map((s) => s.id), repeats);
    const pending = answers - await countStored(opts.store, runId, dataset, repeats);
    opts.onStart?.({ runId, dataset, pending, resumed: session.resumed, repeats });
    if (opts.enqueueOnly) {
      return { runId, dataset, progress: { ...emptyProgress(dataset), total: answers, done: answers - pending, skipped: answers - pending }, enqueued: pending };
    }
    const extra = { signal: opts.signal, onProgress: opts.onProgress, onFirstRequest: opts.onFirstRequest };
    const result = queue
      ? await workOnQueuedRun(queue, session, { ...extra, workerId: opts.workerId, leaseMs: opts.leaseMs })
      : await session.execute(dataset.samples, extra);
    // Per-endpoint counts of this process, kept with the run for the summary (added to the workers' on a queue).
    const stats = session.endpointStats();
    if (queue) await recordEndpointStats(queue, runId, session);
    const finished = queue ? (await queue.pending([runId])) === 0 : !result.stopped;
    const status = result.stopped ? 'stopped' : finished ? 'done' : 'running';
    if (stats && !queue) await opts.store.updateRunConfig(runId, (c) => ({ ...c, endpoint_stats: stats }));
    await opts.store.updateRun(runId, { status });
    // Only a run where this process answered nothing can have failed every sample: no reading back
    // every stored row after each run (memory would grow with the run).
    const failure = result.stopped?.fatal ? result.stopped.reason : finished && answeredHere(result) === 0 ? await everySampleFailed(opts.store, runId) : undefined;
    if (failure) await markFailed(opts.store, runId, failure);
    return { ...result, runId, dataset };
  } finally {
    await lease?.release();
  }
}

/** Samples this process stored as answers. */
function answeredHere(result: ExecuteResult): number {
  const p = result.progress;
  return p.done - p.skipped - p.errors;
}
