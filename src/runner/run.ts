import { setMaxListeners } from 'node:events';
import { ProviderError, type GenerateResponse, type PreparedImage, type Provider, type ResultRow, type Sample } from '../core/types.ts';
import type { ImageCache } from '../images/cache.ts';
import type { Protocol } from '../protocols/protocol.ts';
import type { RequestTransform } from '../methods/transform.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_RETRY, isRetryable, retryDelayMs, sleep, type RetryPolicy } from './backoff.ts';
import { AdaptiveLimiter } from './limiter.ts';
import { sentImage, type SentImage } from '../images/sent.ts';
import { questionOf } from '../methods/transform.ts';
import { costOf, judgementCost, type RunPricing } from '../providers/pricing.ts';
import type { RunBudget } from './budget.ts';
import { CACHED_ANSWER } from './answer-cache.ts';

export interface RunProgress {
  total: number;
  /** Samples stored in this or an earlier process (ok or error). */
  done: number;
  /** Samples already stored when this process started (resume). */
  skipped: number;
  errors: number;
  retries: number;
  /** Dollars spent in this process; undefined while any price is unknown. */
  costUsd?: number;
  /** Per-endpoint counts when the model is served by several replicas. */
  endpoints?: { url: string; requests: number; errors: number; healthy: boolean }[];
  rateLimits: number;
  inFlight: number;
  concurrency: number;
  startedAt: number;
}

export interface ExecuteOptions {
  runId: string;
  /**
   * The samples to answer: a list (answered ones in the store are skipped), or a stream of
   * samples known to be pending, pulled as capacity frees up (a work queue's claims).
   */
  samples: Sample[] | AsyncIterable<Sample>;
  /** For a stream: the run's size and what was already stored, so progress shows the whole run. */
  streamProgress?: { total: number; done: number };
  store: Store;
  provider: Provider;
  protocol: Protocol;
  /** Shared per run so an image used by many samples is prepared once. */
  images: ImageCache;
  concurrency: number;
  retry?: RetryPolicy;
  signal?: AbortSignal;
  onProgress?: (p: RunProgress) => void;
  /** Called when the first request is about to be sent (benchmarks time it). */
  onFirstRequest?: () => void;
  /** Methods and ablations, applied in order to each request the protocol builds. */
  transforms?: RequestTransform[];
  /** Prices each answer and judgement as it arrives (stored with the row). */
  pricing?: RunPricing;
  /** --max-cost: the run's budget on the store; a request it cannot afford stops the run cleanly (resumable). */
  budget?: RunBudget;
  /** Dollars the run had spent before this process started (resume, other workers). */
  spentUsd?: number;
}

export interface ExecuteResult {
  progress: RunProgress;
  /** Distinct images prepared, and samples that reused one. */
  images?: { prepared: number; hits: number };
  /** Set when the run stopped early: a fatal error (bad key) or the caller's abort. */
  stopped?: { reason: string; fatal: boolean; budget?: boolean };
}

/** A failure that makes every further request pointless (bad key, unknown model). */
export class FatalRunError extends Error {}

// Every later request would fail the same way: stop, and let the user fix it and resume.
const FATAL_KINDS = new Set(['auth', 'not_found', 'quota']);

/**
 * Streams samples through protocol and provider, storing each result as soon as it arrives.
 * Samples already answered in the store are skipped, so calling this again resumes a run.
 */
export async function executeRun(opts: ExecuteOptions): Promise<ExecuteResult> {
  const retry = opts.retry ?? DEFAULT_RETRY;
  let pending: Iterable<Sample> | AsyncIterable<Sample>;
  let total: number;
  let already: number;
  if (Array.isArray(opts.samples)) {
    const completed = await opts.store.completedIds(opts.runId);
    const list = opts.samples.filter((s) => !completed.has(s.id));
    pending = list;
    total = opts.samples.length;
    already = total - list.length;
  } else {
    pending = opts.samples;
    total = opts.streamProgress?.total ?? 0;
    already = opts.streamProgress?.done ?? 0;
  }
  const limiter = new AdaptiveLimiter(Math.max(1, opts.concurrency));
  const internal = new AbortController();
  const onOuterAbort = () => internal.abort(opts.signal?.reason ?? new Error('stopped'));
  opts.signal?.addEventListener('abort', onOuterAbort, { once: true });
  if (opts.signal?.aborted) onOuterAbort();
  const signal = internal.signal;
  // Every request in flight listens on this signal; hundreds at once are expected, not a leak.
  setMaxListeners(0, signal);

  const progress: RunProgress = {
    total,
    done: already,
    skipped: already,
    errors: 0,
    retries: 0,
    rateLimits: 0,
    inFlight: 0,
    concurrency: limiter.current,
    startedAt: Date.now(),
    costUsd: opts.pricing ? (opts.spentUsd ?? 0) : undefined,
  };
  let budgetStop = false;
  const stopForBudget = () => {
    if (budgetStop) return;
    budgetStop = true;
    internal.abort(new Error('max cost reached'));
  };
  // A resumed run whose budget is already spent sends nothing.
  if (opts.budget && (opts.spentUsd ?? 0) >= opts.budget.limitUsd) stopForBudget();
  let fatal: FatalRunError | undefined;
  let firstRequestSeen = false;
  // A server that is down would otherwise cost every remaining sample its full retry schedule
  // (minutes each). After this many samples in a row fail to connect with no answer between them,
  // the rest are stored as errors at once, unsent; resume asks them when the server is back.
  const unreachableAfter = Math.max(8, 2 * opts.concurrency);
  let connectFailuresInARow = 0;
  let unreachable: string | undefined;
  const report = () => {
    progress.inFlight = limiter.active;
    progress.concurrency = limiter.current;
    opts.onProgress?.(progress);
  };

  const base = (sample: Sample): Omit<ResultRow, 'status' | 'attempts'> => ({
    runId: opts.runId,
    sampleId: sample.id,
    label: sample.label,
    subset: sample.subset,
    scenario: sample.scenario,
    domain: sample.domain,
    attack: sample.attack,
    category: sample.category,
  });

  /** Tokens and dollars of an answer, as the row's columns; adds the dollars to the progress. */
  function charge(usage: GenerateResponse['usage'], judgeUsage?: { input: number; output: number }) {
    const costUsd = opts.pricing ? costOf(opts.pricing.model ?? undefined, usage ?? {}) : undefined;
    const judgeCostUsd = judgeUsage && opts.pricing ? judgementCost(opts.pricing.judge, judgeUsage) : undefined;
    if (progress.costUsd !== undefined) progress.costUsd = costUsd === undefined || (judgeUsage && judgeCostUsd === undefined) ? undefined : progress.costUsd + costUsd + (judgeCostUsd ?? 0);
    return {
      inputTokens: usage?.inputTokens, outputTokens: usage?.outputTokens, cachedTokens: usage?.cachedTokens, reasoningTokens: usage?.reasoningTokens, costUsd,
      judgeInputTokens: judgeUsage?.input, judgeOutputTokens: judgeUsage?.output, judgeCostUsd,
    };
  }

  async function prepare(sample: Sample): Promise<PreparedImage | undefined> {
    if (!opts.provider.needsImages || !sample.image) return undefined;
    if (!sample.image.path) throw new ProviderError('image', `sample ${sample.id}: image has no local path`);
    return opts.images.get(sample.image.path);
  }

  async function answer(sample: Sample): Promise<void> {
    const spend: { hold?: string; paid: number } = { paid: 0 };
    try {
      await answerAndStore(sample, spend);
    } finally {
      // After the row is stored: what it cost now counts for every process sharing the budget
      // (and for a later --max-cost, when this run has none).
      if (spend.hold) await opts.budget!.settle(spend.hold, spend.paid);
      else if (spend.paid > 0) await opts.store.settleBudget(opts.runId, 'unreserved', spend.paid);
    }
  }

  async function answerAndStore(sample: Sample, spend: { hold?: string; paid: number }): Promise<void> {
    let attempts = 0;
    let epoch = limiter.epoch;
    let image: PreparedImage | undefined;
    let sent: SentImage | undefined;
    let asked: Pick<ResultRow, 'prompt' | 'system' | 'reference'> = {};
    const started = performance.now();
    try {
      if (unreachable) throw new ProviderError('network', unreachable);
      image = await prepare(sample);
      let request = opts.protocol.buildRequest(sample, image);
      for (const transform of opts.transforms ?? []) request = await transform(request, sample, signal);
      // Ablations may replace the prepared image: the store records what actually went out.
      sent = sentImage(request);
      asked = { prompt: questionOf(request), system: request.system, reference: sample.reference };
      if (opts.budget && !(spend.hold = await opts.budget.reserve(request))) return stopForBudget();
      for (;;) {
        attempts++;
        try {
          if (!firstRequestSeen) {
            firstRequestSeen = true;
            opts.onFirstRequest?.();
          }
          const callStart = performance.now();
          epoch = limiter.epoch;
          const response = await opts.provider.generate(request, { signal });
          const latencyMs = Math.round(performance.now() - callStart);
          let verdict;
          try {
            verdict = await opts.protocol.score(sample, response, signal, image);
          } catch (error) {
            if (!signal.aborted) throw error;
            // Paid for, but the run stopped while it was judged: keep the answer and count its cost.
            const usage = charge(response.usage);
            spend.paid += usage.costUsd ?? 0;
            await opts.store.putResult({ ...base(sample), ...asked, status: 'error', errorKind: 'cancelled', errorMessage: 'answered but not judged: the run stopped first (resume asks it again)', response: response.text, latencyMs, ...usage, imageSha256: sent?.sha256 ?? image?.sha256, attempts });
            return;
          }
          const { judge_usage: judgeUsage, ...verdictDetails } = verdict.details ?? {};
          const usage = charge(response.usage, judgeUsage as { input: number; output: number } | undefined);
          spend.paid += (usage.costUsd ?? 0) + (usage.judgeCostUsd ?? 0);
          await opts.store.putResult({
            ...base(sample),
            ...asked,
            status: 'ok',
            response: response.text,
            prediction: verdict.prediction,
            correct: verdict.correct,
            // An answer from the cache took no time to think: its latency would skew every latency figure.
            latencyMs: response.details?.[CACHED_ANSWER] ? undefined : latencyMs,
            ...usage,
            imageSha256: sent?.sha256 ?? image?.sha256,
            attempts,
            details: detailsOf(verdict.rationale, { ...(sample.fields ? { fields: sample.fields } : {}), ...request.meta, ...response.details, ...verdictDetails, ...(sent ? { image_bytes: sent.bytes } : {}) }, response.finishReason),
          });
          limiter.onSuccess();
          connectFailuresInARow = 0;
          progress.done++;
          return;
        } catch (error) {
          if (signal.aborted) throw error;
          if (error instanceof ProviderError && error.kind === 'rate_limit') {
            progress.rateLimits++;
            limiter.onRateLimit(epoch);
          }
          if (!isRetryable(error) || attempts >= retry.maxAttempts) throw error;
          progress.retries++;
          report();
          await sleep(retryDelayMs(error, attempts, retry), signal);
        }
      }
    } catch (error) {
      // A cancelled request is left unstored: resume asks it again.
      if (signal.aborted) return;
      const e = error instanceof ProviderError ? error : undefined;
      if (e && FATAL_KINDS.has(e.kind) && !fatal) {
        fatal = new FatalRunError(e.message);
        internal.abort(fatal);
        return;
      }
      progress.errors++;
      if (e?.kind === 'network' && attempts > 0 && !unreachable && ++connectFailuresInARow >= unreachableAfter) {
        unreachable = `not sent: ${connectFailuresInARow} samples in a row could not reach the API (last: ${e.message}); resume the run when it is up`;
      }
      await opts.store.putResult({
        ...base(sample),
        ...asked,
        status: 'error',
        errorKind: e?.kind ?? 'internal',
        errorMessage: error instanceof Error ? error.message : String(error),
        latencyMs: Math.round(performance.now() - started),
        imageSha256: sent?.sha256 ?? image?.sha256,
        attempts,
      });
    }
    progress.done++;
  }

  const inFlight = new Set<Promise<void>>();
  for await (const sample of pending) {
    await limiter.acquire();
    if (signal.aborted) {
      limiter.release();
      break;
    }
    const task = answer(sample)
      .catch((error) => {
          // answer() records its own failures; anything reaching here is a bug worth surfacing.
          if (!fatal) fatal = new FatalRunError(`internal error on sample ${sample.id}: ${String(error)}`);
          internal.abort(fatal);
      })
      .finally(() => {
        limiter.release();
        inFlight.delete(task);
        report();
      });
    inFlight.add(task);
  }
  await Promise.all(inFlight);
  opts.signal?.removeEventListener('abort', onOuterAbort);
  report();

  const images = { ...opts.images.stats };
  if (fatal) return { progress, images, stopped: { reason: fatal.message, fatal: true } };
  if (budgetStop) return { progress, images, stopped: { reason: `--max-cost reached ($${progress.costUsd?.toFixed(4)} spent)`, fatal: false, budget: true } };
  if (signal.aborted) return { progress, images, stopped: { reason: 'interrupted', fatal: false } };
  return { progress, images };
}

const NORMAL_FINISH = new Set(['stop', 'end_turn', 'STOP', 'tool_use']);

/** Only what is worth its bytes: most rows store no details at all (the store grows per sample). */
function detailsOf(rationale: string | undefined, details: Record<string, unknown> | undefined, finish: string | undefined) {
  const out: Record<string, unknown> = { ...(rationale ? { rationale } : {}), ...(details ?? {}) };
  if (finish && !NORMAL_FINISH.has(finish)) out.finish = finish;
  return Object.keys(out).length ? out : undefined;
}
