import type { Store } from './store.ts';

/** A claimed piece of work: one sample of one run, leased to one worker until it is stored. */
export interface ClaimedSample {
  runId: string;
  sampleId: string;
  /** Which of the item's `--samples K` answers is to be asked (0: the first). */
  repeat: number;
}

/**
 * A shared store that is also the work queue of many processes on many machines. Storing a
 * sample's result takes it off the queue in the same transaction, so nothing is done twice on
 * purpose; a lease that runs out (its worker died) makes the sample claimable again.
 */
export interface WorkQueue extends Store {
  /**
   * Queues samples of a run, each `repeats` times (`--samples K`: one entry per answer); those already
   * queued or answered are left alone. Returns how many were added.
   */
  enqueue(runId: string, sampleIds: string[], repeats?: number): Promise<number>;
  /** A run with claimable work (unleased or with an expired lease), among `runIds` if given. */
  nextRun(runIds?: string[]): Promise<string | undefined>;
  /** Leases up to `limit` claimable samples to `worker` for `leaseMs`. */
  claim(worker: string, limit: number, leaseMs: number, runIds?: string[]): Promise<ClaimedSample[]>;
  /** Extends every lease `worker` holds: it is alive and still working. */
  renew(worker: string, leaseMs: number): Promise<void>;
  /** Gives back a stopping worker's leases at once, so others need not wait for them to expire. */
  release(worker: string): Promise<void>;
  /** Samples still queued, leased or not; with `exceptWorker`, those not leased to that worker. */
  pending(runIds?: string[], exceptWorker?: string): Promise<number>;
}

export function isWorkQueue(store: Store): store is WorkQueue {
  return typeof (store as Partial<WorkQueue>).claim === 'function' && typeof (store as Partial<WorkQueue>).enqueue === 'function';
}
