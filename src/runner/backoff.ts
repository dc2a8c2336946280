import { ProviderError, type ProviderErrorKind } from '../core/types.ts';

export interface RetryPolicy {
  /** Attempts in all, first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY: RetryPolicy = { maxAttempts: 6, baseDelayMs: 500, maxDelayMs: 30_000 };

/**
 * Failures every later request would share, whoever sends it (the model, the judge, the captioner):
 * a rejected key, an unknown model, a spent quota. The run stops on the first; the user fixes it and
 * resumes.
 */
export const FATAL_KINDS: ReadonlySet<ProviderErrorKind> = new Set(['auth', 'not_found', 'quota']);

export function isFatal(error: unknown): error is ProviderError {
  return error instanceof ProviderError && FATAL_KINDS.has(error.kind);
}

/**
 * Exponential back-off with full jitter (anywhere between 0 and the doubling ceiling), so many
 * workers hit by the same 429 burst do not retry in lockstep, and a sample unlucky several times in
 * a row on a server that answers everyone else waits half as long on average as with the ceiling's
 * upper half (the samples that set a faulty run's end). A server's Retry-After wins over our own
 * guess (capped, so a hostile value cannot stall).
 */
export function retryDelayMs(error: unknown, attempt: number, policy: RetryPolicy, random: () => number = Math.random): number {
  if (error instanceof ProviderError && error.retryAfterMs !== undefined) {
    return Math.min(policy.maxDelayMs, Math.max(0, error.retryAfterMs));
  }
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** Math.min(attempt - 1, 30));
  return Math.round(ceiling * random());
}

export function isRetryable(error: unknown): boolean {
  return error instanceof ProviderError ? error.retryable : false;
}

export interface RetryOptions {
  signal?: AbortSignal;
  /** The number of the first attempt: a sample asked again later continues its back-off. */
  firstAttempt?: number;
  /** Called on every failed attempt, retried or not (counting rate limits, say). */
  onFailure?: (error: unknown, attempt: number) => void;
  /** Called before waiting for the next attempt. */
  onRetry?: (error: unknown, attempt: number, delayMs: number) => void;
  /** Runs the wait before the next attempt (the runner gives up its concurrency slot meanwhile). */
  whileWaiting?: (error: unknown, wait: () => Promise<void>) => Promise<void>;
}

/**
 * The one retry loop: calls `call` (with the attempt's number) until it succeeds, fails with an
 * error that is not retryable, runs out of the policy's attempts, or the signal aborts. Throws the
 * last error. `policy.maxAttempts` counts from `firstAttempt`.
 */
export async function withRetry<T>(call: (attempt: number) => Promise<T>, policy: RetryPolicy, opts: RetryOptions = {}): Promise<T> {
  const first = opts.firstAttempt ?? 1;
  for (let attempt = first; ; attempt++) {
    try {
      return await call(attempt);
    } catch (error) {
      opts.onFailure?.(error, attempt);
      if (opts.signal?.aborted || !isRetryable(error) || attempt - first + 1 >= policy.maxAttempts) throw error;
      const delay = retryDelayMs(error, attempt, policy);
      opts.onRetry?.(error, attempt, delay);
      const wait = () => sleep(delay, opts.signal);
      await (opts.whileWaiting ? opts.whileWaiting(error, wait) : wait());
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal?.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * Runs `fn` with a signal of its own that follows `parent`, and unlinks it afterwards. SDKs add an
 * abort listener to the signal they are given and never remove it; given the run's own signal, one
 * listener per request piles up for the whole run (time and memory growing with every request).
 */
export async function withChildSignal<T>(parent: AbortSignal, fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const child = new AbortController();
  if (parent.aborted) child.abort(parent.reason);
  const onAbort = () => child.abort(parent.reason);
  parent.addEventListener('abort', onAbort, { once: true });
  try {
    return await fn(child.signal);
  } finally {
    parent.removeEventListener('abort', onAbort);
  }
}
