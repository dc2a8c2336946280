import { createHash } from 'node:crypto';
import type { RunRecord, Store } from '../store/store.ts';
import { OneAtATime } from './params.ts';

/** What `HeavyPages.compute` returns when the gate is full: the page answers 503 with Retry-After. */
export const BUSY = Symbol('busy');

/** A map that forgets its least recently used entries beyond `max`. */
class Lru<V> {
  private readonly map = new Map<string, V>();
  constructor(private readonly max: number) {}

  get(key: string): V | undefined {
    if (!this.map.has(key)) return undefined;
    const v = this.map.get(key)!;
    this.map.delete(key);
    this.map.set(key, v);
    return v;
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  set(key: string, v: V): void {
    this.map.delete(key);
    this.map.set(key, v);
    for (const old of this.map.keys()) {
      if (this.map.size <= this.max) break;
      this.map.delete(old);
    }
  }
}

const turn = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * The store as heavy work reads it: before every call the event loop serves whatever arrived
 * meanwhile (a sample page, an image). A store call answers synchronously on SQLite, so without
 * this a leaderboard of twenty runs is one block of seconds nothing else gets into.
 */
export function yieldingStore(store: Store): Store {
  return new Proxy(store, {
    get(target, key) {
      const v = Reflect.get(target, key, target) as unknown;
      if (typeof v !== 'function') return v;
      // A scan already yields between its pages; it is an iterator, not a promise to wait for.
      if (key === 'scanResults') return v.bind(target);
      return async (...args: unknown[]) => {
        await turn();
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

/**
 * Pages that summarise whole runs (the runs list, a run's page, comparisons): what they compute is
 * kept under the runs' stamps (the run record and `Store.resultsStamp`), so it is computed again
 * exactly when a run's rows, status or configuration change: a finished run's page is served from
 * memory, a running run's is always current. Identical requests in flight share one computation;
 * different ones take turns through one gate (a few wait, beyond that BUSY), and read the store
 * through `yieldingStore`, so every other page keeps answering while they work.
 */
export class HeavyPages {
  readonly reader: Store;
  private readonly gate: OneAtATime;
  private readonly summaries = new Lru<unknown>(2000);
  private readonly pages = new Lru<unknown>(24);
  private readonly inFlight = new Map<string, Promise<unknown>>();

  constructor(private readonly store: Store, maxWaiting = 4) {
    this.reader = yieldingStore(store);
    this.gate = new OneAtATime(maxWaiting);
  }

  /** The key of what is computed from these runs: changes when a run's record or rows change. */
  async stampOf(runs: RunRecord[]): Promise<string> {
    const parts = await Promise.all(
      runs.map(async (r) => [r.id, r.status, r.finishedAt ?? '', r.total, r.config, await this.store.resultsStamp(r.id)]),
    );
    return createHash('sha256').update(JSON.stringify(parts)).digest('base64url');
  }

  /** A per-run value (a summary) kept for the runs list; `undefined` when not computed or forgotten. */
  summary<T>(key: string): T | undefined {
    return this.summaries.get(key) as T | undefined;
  }

  rememberSummary(key: string, value: unknown): void {
    this.summaries.set(key, value);
  }

  hasSummary(key: string): boolean {
    return this.summaries.has(key);
  }

  /**
   * The value of `key`: kept, being computed for another request, or computed now by `work` when
   * the gate lets it (BUSY when too many others wait). Failures are not kept.
   */
  async compute<T>(key: string, work: (reader: Store) => Promise<T>, keep: 'page' | 'none' = 'page'): Promise<T | typeof BUSY> {
    if (this.pages.has(key)) return this.pages.get(key) as T;
    const running = this.inFlight.get(key);
    if (running) return (await running) as T | typeof BUSY;
    const job = this.gate.run(() => work(this.reader)).then((v) => {
      if (v === undefined) return BUSY;
      if (keep === 'page') this.pages.set(key, v);
      return v;
    });
    this.inFlight.set(key, job);
    try {
      return (await job) as T | typeof BUSY;
    } finally {
      this.inFlight.delete(key);
    }
  }
}
