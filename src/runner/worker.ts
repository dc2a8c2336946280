import os from 'node:os';
import { randomBytes } from 'node:crypto';
import type { WorkQueue } from '../store/queue.ts';
import type { RunConfigInput } from './config.ts';
import { countStored, openRun, type RunSession } from './session.ts';
import { repeatsOf } from './config.ts';
import { sleep } from './backoff.ts';
import type { ExecuteOptions, ExecuteResult, RunProgress, Unit } from './run.ts';
import { everySampleFailed, markFailed } from '../store/run-status.ts';

/** How a process takes part in a shared queue. */
export interface QueueOptions extends Pick<ExecuteOptions, 'signal' | 'onProgress' | 'onFirstRequest'> {
  /** This process's name in the leases (default: host, pid and a random suffix). */
  workerId?: string;
  /** How long a claim lasts without renewal; a dead worker's samples return to the queue after it. */
  leaseMs?: number;
  /** How often to look again when the remaining samples are leased by others. */
  pollMs?: number;
}

export const DEFAULT_LEASE_MS = 60_000;

export function defaultWorkerId(): string {
  return `${os.hostname()}-${process.pid}-${randomBytes(2).toString('hex')}`;
}

/**
 * Answers one run's samples through the shared queue: claims a batch, answers it while claiming
 * the next, and renews its leases while it works. With `untilEmpty`, it also waits for samples other
 * workers hold (their leases may expire and come back), so the run is complete when it returns.
 */
export async function workOnQueuedRun(
  queue: WorkQueue,
  session: RunSession,
  opts: QueueOptions & { untilEmpty?: boolean },
): Promise<ExecuteResult> {
  const worker = opts.workerId ?? defaultWorkerId();
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const pollMs = opts.pollMs ?? Math.min(2000, Math.max(100, leaseMs / 10));
  const { runId, dataset } = session;
  const byId = new Map(dataset.samples.map((s) => [s.id, s]));
  const batch = Math.max(1, session.config.concurrency);
  const untilEmpty = opts.untilEmpty ?? true;
  const repeats = repeatsOf(session.config);
  const done = await countStored(queue, runId, dataset, repeats);

  async function* claims(): AsyncGenerator<Unit> {
    for (;;) {
      if (opts.signal?.aborted) return;
      const got = await queue.claim(worker, batch, leaseMs, [runId]);
      if (got.length === 0) {
        // What this worker holds is in flight here and will be stored; wait only for others' claims.
        if (!untilEmpty || (await queue.pending([runId], worker)) === 0) return;
        await sleep(pollMs, opts.signal).catch(() => undefined);
        continue;
      }
      for (const c of got) {
        const sample = byId.get(c.sampleId);
        if (sample) yield { sample, repeat: c.repeat };
        // The creator's dataset had it and this machine's does not: say so on the sample, where the
        // run's owner will see it, and take it off the queue (a resume queues it again).
        else await queue.putResult({ runId, sampleId: c.sampleId, ...(c.repeat ? { repeat: c.repeat } : {}), status: 'error', label: 'unsafe', errorKind: 'dataset', errorMessage: `sample ${c.sampleId} is not in the dataset at ${dataset.source} on worker ${worker}`, attempts: 0 });
      }
    }
  }

  // Renewal is what tells the queue this worker is alive; a missed one is retried on the next tick.
  const renewal = setInterval(() => void queue.renew(worker, leaseMs).catch(() => undefined), Math.max(50, leaseMs / 3));
  renewal.unref();
  try {
    return await session.execute(claims(), { ...opts, streamProgress: { total: dataset.samples.length * repeats, done } });
  } finally {
    clearInterval(renewal);
    await queue.release(worker).catch(() => undefined);
  }
}

export interface WorkerOptions extends QueueOptions {
  queue: WorkQueue;
  /** Only these runs (default: any run with queued samples). */
  runIds?: string[];
  /** Keep polling for new work when the queue is empty, instead of exiting. */
  wait?: boolean;
  /** Settings this machine may change: concurrency, its own replicas of the model (base URL, endpoints), data path. */
  overrides?: RunConfigInput | Partial<RunConfigInput>;
  apiKey?: string;
  /** Called when the worker turns to a run. */
  onRun?: (runId: string, session: RunSession) => void;
  onRunDone?: (runId: string, result: ExecuteResult) => void;
}

export interface WorkerResult {
  /** Samples this worker stored, per run. */
  answered: Record<string, number>;
  /** Set when a run could not go on here (a rejected key, an interrupt). */
  stopped?: ExecuteResult['stopped'] & { runId: string };
}

/**
 * `mmsafe worker`: takes runs with queued samples one after another and answers them until no
 * work is left (or, with `wait`, until stopped). Each run is set up once per worker, from the
 * settings its creator stored.
 */
export async function runWorker(opts: WorkerOptions): Promise<WorkerResult> {
  const worker = opts.workerId ?? defaultWorkerId();
  const leaseMs = opts.leaseMs ?? DEFAULT_LEASE_MS;
  const pollMs = opts.pollMs ?? Math.min(2000, Math.max(100, leaseMs / 10));
  const sessions = new Map<string, RunSession>();
  const answered: Record<string, number> = {};
  try {
    return await workLoop();
  } finally {
    for (const [runId, session] of sessions) await recordEndpointStats(opts.queue, runId, session).catch(() => undefined);
  }

  async function workLoop(): Promise<WorkerResult> {
    while (!opts.signal?.aborted) {
      const runId = await opts.queue.nextRun(opts.runIds);
      if (!runId) {
        if (!opts.wait && (await opts.queue.pending(opts.runIds)) === 0) break;
        // What is left is leased by live workers, or nothing is queued yet: look again shortly.
        await sleep(pollMs, opts.signal).catch(() => undefined);
        continue;
      }
      let session = sessions.get(runId);
      if (!session) {
        const opened = await openRun(opts.overrides as RunConfigInput | undefined, { store: opts.queue, runId, mode: 'attach', apiKey: opts.apiKey });
        if ('dryRun' in opened) throw new Error('unreachable: a worker never dry-runs');
        session = opened;
        sessions.set(runId, session);
      }
      opts.onRun?.(runId, session);
      const result = await workOnQueuedRun(opts.queue, session, { ...opts, workerId: worker, leaseMs, pollMs, untilEmpty: false });
      answered[runId] = (answered[runId] ?? 0) + (result.progress.done - result.progress.skipped);
      opts.onRunDone?.(runId, result);
      if (result.stopped) {
        if (result.stopped.fatal) await markFailed(opts.queue, runId, result.stopped.reason);
        return { answered, stopped: { ...result.stopped, runId } };
      }
      if ((await opts.queue.pending([runId])) === 0) {
        const run = await opts.queue.getRun(runId);
        // A worker that answered something knows not every sample failed: no reading back every row.
        const answeredHere = result.progress.done - result.progress.skipped - result.progress.errors;
        const failure = run && run.status !== 'done' && answeredHere === 0 ? await everySampleFailed(opts.queue, runId) : undefined;
        if (failure) await markFailed(opts.queue, runId, failure);
        else if (run && run.status !== 'done') await opts.queue.updateRun(runId, { status: 'done' });
      }
    }
    return { answered };
  }
}

/**
 * Adds this worker's per-endpoint counts to the run's, so the summary shows every replica's share.
 * In one store transaction: workers finishing at once must not overwrite each other's counts.
 */
export async function recordEndpointStats(queue: WorkQueue, runId: string, session: RunSession): Promise<void> {
  const mine = session.endpointStats();
  if (!mine) return;
  await queue.updateRunConfig(runId, (config) => {
    const merged = new Map((config.endpoint_stats ?? []).map((e) => [e.url, { ...e }]));
    for (const e of mine) {
      const m = merged.get(e.url);
      if (m) Object.assign(m, { requests: m.requests + e.requests, errors: m.errors + e.errors });
      else merged.set(e.url, { ...e });
    }
    return { ...config, endpoint_stats: [...merged.values()] };
  });
}
