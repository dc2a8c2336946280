import { setMaxListeners } from 'node:events';
import { ProviderError, type GenerateRequest, type GenerateResponse, type PreparedImage, type Provider, type ResultRow, type Sample } from '../core/types.ts';
import type { ImageCache } from '../images/cache.ts';
import type { Protocol } from '../protocols/protocol.ts';
import type { RequestTransform } from '../methods/transform.ts';
import type { Store } from '../store/store.ts';
import { DEFAULT_RETRY, isFatal, isRetryable, withChildSignal, withRetry, type RetryPolicy } from './backoff.ts';
import { AdaptiveLimiter } from './limiter.ts';
import { sentImage, type SentImage } from '../images/sent.ts';
import { questionOf } from '../methods/transform.ts';
import { costOf, judgementCost, type RunPricing } from '../providers/pricing.ts';
import type { RunBudget } from './budget.ts';
import { CACHED_ANSWER } from './answer-cache.ts';
import { answerKey } from '../store/store.ts';
import { SCAN_PAGE } from '../store/columns.ts';

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

type JudgeUsage = { input: number; output: number };

/** One answer to ask for: an item, and which of its `--samples K` answers (0 for the first). */
export interface Unit {
  sample: Sample;
  repeat: number;
}

export interface ExecuteOptions {
  runId: string;
  /**
   * The samples to answer: a list, each asked `repeats` times (answers already in the store are
   * skipped), or a stream of answers known to be pending, pulled as capacity frees up (a work
   * queue's claims).
   */
  samples: Sample[] | AsyncIterable<Unit>;
  /** `--samples K`: answers per item of a list (default 1). */
  repeats?: number;
  /** For a stream: the run's size and what was already stored (in answers), so progress shows the whole run. */
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

/**
 * How often a sample whose retries ran out goes round again (at the end of the queue, its back-off
 * continuing), as long as other samples are answered meanwhile: a flaky API then costs time, not
 * samples. A server that answers nothing ends samples as errors, without further passes.
 */
const MAX_PASSES = 4;

/** Where a sample stands between passes. */
interface Pass {
  number: number;
  /** Attempts made in earlier passes. */
  attempts: number;
  /**
   * The sample goes round again only once the run has more answers than this: the server works for
   * others. The count when the pass before the failed one began (for a failed first pass: when it
   * began), so the last sample of a run, alone in flight, gets more than one further pass.
   */
  answeredAt: number;
}

/** A sample whose pass failed with a retryable error, waiting for its next pass. */
interface Waiting {
  unit: Unit;
  next: Pass;
  failure: Failure;
}

/** What a failed sample's error row records. */
interface Failure {
  error: unknown;
  columns: Pick<ResultRow, 'prompt' | 'system' | 'reference'>;
  attempts: number;
  imageSha256?: string;
  latencyMs: number;
}

/**
 * Streams samples through protocol and provider, storing each result as soon as it arrives.
 * Samples already answered in the store are skipped, so calling this again resumes a run.
 */
export async function executeRun(opts: ExecuteOptions): Promise<ExecuteResult> {
  const { pending, total, already } = await pendingUnits(opts);
  const run = new RunControl(opts, total, already);
  try {
    await dispatch(pending, run, (unit, pass) => answerSample(run, unit, pass));
  } finally {
    run.close();
  }
  return run.result();
}

async function pendingUnits(opts: ExecuteOptions): Promise<{ pending: Iterable<Unit> | AsyncIterable<Unit>; total: number; already: number }> {
  if (!Array.isArray(opts.samples)) {
    return { pending: opts.samples, total: opts.streamProgress?.total ?? 0, already: opts.streamProgress?.done ?? 0 };
  }
  const repeats = opts.repeats ?? 1;
  const total = opts.samples.length * repeats;
  const already = await countCompleted(opts.store, opts.runId, opts.samples, repeats);
  // Nothing stored yet (a new run), or everything: no need to ask the store again, page by page.
  const pending = already === 0 ? unitsOf(opts.samples, repeats) : already === total ? [] : pendingOf(opts.store, opts.runId, opts.samples, repeats);
  return { pending, total, already };
}

/** Every answer of the samples, item by item (an item's repeats one after another, so they finish close together). */
export function* unitsOf(samples: readonly Sample[], repeats: number): Generator<Unit> {
  for (const sample of samples) for (let repeat = 0; repeat < repeats; repeat++) yield { sample, repeat };
}

/**
 * The items a page at a time (SCAN_PAGE), each page with which of its answers the store holds for
 * good: what a resume skips is looked up as it goes, and never held for the whole run.
 */
async function* storedPages(store: Store, runId: string, samples: readonly Sample[], repeats: number): AsyncGenerator<{ page: readonly Sample[]; stored: Set<string> }> {
  for (let i = 0; i < samples.length; i += SCAN_PAGE) {
    const page = samples.slice(i, i + SCAN_PAGE);
    yield { page, stored: await store.completedAmong(runId, page.map((s) => s.id), repeats) };
  }
}

/** How many of the items' first `repeats` answers the store holds for good (answered or blocked). */
export async function countCompleted(store: Store, runId: string, samples: readonly Sample[], repeats = 1): Promise<number> {
  let n = 0;
  for await (const { stored } of storedPages(store, runId, samples, repeats)) n += stored.size;
  return n;
}

/** The answers still to ask, in asking order (as `unitsOf`), without those the store holds for good. */
async function* pendingOf(store: Store, runId: string, samples: readonly Sample[], repeats: number): AsyncGenerator<Unit> {
  for await (const { page, stored } of storedPages(store, runId, samples, repeats)) {
    for (const unit of unitsOf(page, repeats)) if (!stored.has(answerKey(unit.sample.id, unit.repeat))) yield unit;
  }
}

/**
 * Sends samples as the limiter admits them; a sample that asks for another pass goes to the end of
 * the queue, after every sample not yet sent.
 */
async function dispatch(
  pending: Iterable<Unit> | AsyncIterable<Unit>,
  run: RunControl,
  answer: (unit: Unit, pass: Pass) => Promise<Waiting | undefined>,
): Promise<void> {
  const inFlight = new Set<Promise<void>>();
  const waiting: Waiting[] = [];
  const launch = async (unit: Unit, pass: Pass): Promise<boolean> => {
    await run.limiter.acquire();
    if (run.signal.aborted) {
      run.limiter.release();
      return false;
    }
    const task: Promise<void> = answer(unit, pass)
      .then((w) => void (w && waiting.push(w)))
      // answer() records its own failures; anything reaching here is a bug worth surfacing.
      .catch((error) => run.stop(new FatalRunError(`internal error on sample ${unit.sample.id}: ${String(error)}`)))
      .finally(() => {
        run.limiter.release();
        inFlight.delete(task);
        run.report();
      });
    inFlight.add(task);
    return true;
  };
  for await (const unit of pending) if (!(await launch(unit, { number: 1, attempts: 0, answeredAt: run.answered }))) break;
  while (!run.signal.aborted) {
    const i = waiting.findIndex((w) => run.answered > w.next.answeredAt);
    if (i >= 0) {
      const [w] = waiting.splice(i, 1);
      if (!(await launch(w.unit, w.next))) break;
    } else if (inFlight.size > 0) await Promise.race(inFlight);
    else {
      // Nothing answered since these samples last went round, and nothing left in flight that
      // could be: the server is not answering. They end as errors (resume asks them again).
      for (const w of waiting.splice(0)) await run.fail(w.unit, w.failure);
      break;
    }
  }
  // Samples still waiting when the run stops stay unstored: resume asks them again.
  await Promise.all(inFlight);
}

/**
 * The state of one run in this process: progress, the concurrency limiter, and the reasons to stop
 * (a fatal error, the budget, the caller's abort, an unreachable server).
 */
class RunControl {
  readonly retry: RetryPolicy;
  readonly limiter: AdaptiveLimiter;
  readonly progress: RunProgress;
  /** Answers stored by this process: a sample may go round again only while this grows. */
  answered = 0;
  /** When the last of them was stored (performance.now()). */
  lastAnsweredAt = -Infinity;
  unreachable?: string;
  private readonly internal = new AbortController();
  private fatal?: FatalRunError;
  private budgetStop = false;
  private firstRequestSeen = false;
  // A server that is down would otherwise cost every remaining sample its full retry schedule
  // (minutes each). After this many samples in a row fail to connect with no answer between them,
  // the rest are stored as errors at once, unsent; resume asks them when the server is back.
  private readonly unreachableAfter: number;
  private connectFailuresInARow = 0;
  private readonly onOuterAbort = () => this.internal.abort(this.opts.signal?.reason ?? new Error('stopped'));

  constructor(
    readonly opts: ExecuteOptions,
    total: number,
    already: number,
  ) {
    this.retry = opts.retry ?? DEFAULT_RETRY;
    this.limiter = new AdaptiveLimiter(Math.max(1, opts.concurrency));
    this.unreachableAfter = Math.max(8, 2 * opts.concurrency);
    opts.signal?.addEventListener('abort', this.onOuterAbort, { once: true });
    if (opts.signal?.aborted) this.onOuterAbort();
    // Every sample in flight links its own signal to this one: dozens at once are expected, not a leak.
    setMaxListeners(0, this.internal.signal);
    this.progress = {
      total,
      done: already,
      skipped: already,
      errors: 0,
      retries: 0,
      rateLimits: 0,
      inFlight: 0,
      concurrency: this.limiter.current,
      startedAt: Date.now(),
      costUsd: opts.pricing ? (opts.spentUsd ?? 0) : undefined,
    };
    // A resumed run whose budget is already spent sends nothing.
    if (opts.budget && (opts.spentUsd ?? 0) >= opts.budget.limitUsd) this.stopForBudget();
  }

  get signal(): AbortSignal {
    return this.internal.signal;
  }

  report(): void {
    this.progress.inFlight = this.limiter.active;
    this.progress.concurrency = this.limiter.current;
    this.opts.onProgress?.(this.progress);
  }

  firstRequest(): void {
    if (this.firstRequestSeen) return;
    this.firstRequestSeen = true;
    this.opts.onFirstRequest?.();
  }

  stop(error: FatalRunError): void {
    if (!this.fatal) this.fatal = error;
    this.internal.abort(this.fatal);
  }

  /** Tokens and dollars of an answer, as the row's columns; adds the dollars to the progress. */
  charge(usage: GenerateResponse['usage'], judgeUsage?: JudgeUsage) {
    const { pricing } = this.opts;
    const costUsd = pricing ? costOf(pricing.model ?? undefined, usage ?? {}) : undefined;
    const judgeCostUsd = judgeUsage && pricing ? judgementCost(pricing.judge, judgeUsage) : undefined;
    const { progress } = this;
    if (progress.costUsd !== undefined) progress.costUsd = costUsd === undefined || (judgeUsage && judgeCostUsd === undefined) ? undefined : progress.costUsd + costUsd + (judgeCostUsd ?? 0);
    return {
      inputTokens: usage?.inputTokens, outputTokens: usage?.outputTokens, cachedTokens: usage?.cachedTokens, reasoningTokens: usage?.reasoningTokens, costUsd,
      judgeInputTokens: judgeUsage?.input, judgeOutputTokens: judgeUsage?.output, judgeCostUsd,
    };
  }

  stopForBudget(): void {
    if (this.budgetStop) return;
    this.budgetStop = true;
    this.internal.abort(new Error('max cost reached'));
  }

  onAnswered(): void {
    this.limiter.onSuccess();
    this.connectFailuresInARow = 0;
    this.answered++;
    this.lastAnsweredAt = performance.now();
    this.progress.done++;
  }

  /** A pass of a sample failed: connection failures in a row mean the server is down. */
  onPassFailed(error: unknown, attempts: number): void {
    if (!(error instanceof ProviderError) || error.kind !== 'network' || attempts === 0 || this.unreachable) return;
    if (++this.connectFailuresInARow >= this.unreachableAfter) {
      this.unreachable = `not sent: ${this.connectFailuresInARow} samples in a row could not reach the API (last: ${error.message}); resume the run when it is up`;
    }
  }

  /** Stores a sample's failure as its result. */
  async fail(unit: Unit, failure: Failure): Promise<void> {
    this.progress.errors++;
    this.progress.done++;
    const { error } = failure;
    await this.opts.store.putResult({
      ...rowBase(this.opts.runId, unit),
      ...failure.columns,
      // The item's own fields (a cluster key) stay with it: a blocked answer still counts.
      ...(unit.sample.fields ? { details: { fields: unit.sample.fields } } : {}),
      status: 'error',
      errorKind: error instanceof ProviderError ? error.kind : 'internal',
      errorMessage: error instanceof Error ? error.message : String(error),
      latencyMs: failure.latencyMs,
      imageSha256: failure.imageSha256,
      attempts: failure.attempts,
    });
  }

  close(): void {
    this.opts.signal?.removeEventListener('abort', this.onOuterAbort);
    this.report();
  }

  result(): ExecuteResult {
    const { progress } = this;
    const images = { ...this.opts.images.stats };
    if (this.fatal) return { progress, images, stopped: { reason: this.fatal.message, fatal: true } };
    if (this.budgetStop) return { progress, images, stopped: { reason: `--max-cost reached ($${progress.costUsd?.toFixed(4)} spent)`, fatal: false, budget: true } };
    if (this.signal.aborted) return { progress, images, stopped: { reason: 'interrupted', fatal: false } };
    return { progress, images };
  }
}

/** What one sample's request became, for the stored row. */
interface Asked {
  image?: PreparedImage;
  sent?: SentImage;
  /** What was asked, as the row stores it. */
  columns: Pick<ResultRow, 'prompt' | 'system' | 'reference'>;
  attempts: number;
  /** The budget held for this pass (--max-cost), and what it turned out to cost. */
  hold?: string;
  paid: number;
}

/**
 * Answers, scores and stores one sample. A sample whose retries ran out on a retryable error is
 * returned, to wait for another pass; anything else ends here (stored, or left to resume).
 */
async function answerSample(run: RunControl, unit: Unit, pass: Pass): Promise<Waiting | undefined> {
  const started = performance.now();
  const answeredAtStart = run.answered;
  const asked: Asked = { attempts: pass.attempts, columns: {}, paid: 0 };
  try {
    if (run.unreachable) throw new ProviderError('network', run.unreachable);
    // A signal of the sample's own: the SDKs' listeners on it go away with the sample.
    if (await withChildSignal(run.signal, (signal) => askAndStore(run, unit, pass, asked, signal))) run.onAnswered();
    return undefined;
  } catch (error) {
    // A cancelled request is left unstored: resume asks it again.
    if (run.signal.aborted) return undefined;
    if (isFatal(error)) {
      run.stop(new FatalRunError(error.message));
      return undefined;
    }
    run.onPassFailed(error, asked.attempts - pass.attempts);
    const failure: Failure = { error, attempts: asked.attempts, imageSha256: asked.sent?.sha256 ?? asked.image?.sha256, latencyMs: Math.round(performance.now() - started), columns: asked.columns };
    if (isRetryable(error) && pass.number < MAX_PASSES) {
      return { unit, failure, next: { number: pass.number + 1, attempts: asked.attempts, answeredAt: pass.number === 1 ? answeredAtStart : pass.answeredAt } };
    }
    await run.fail(unit, failure);
    return undefined;
  } finally {
    // After the row is stored: what it cost now counts for every process sharing the budget
    // (and for a later --max-cost, when this run has none).
    if (asked.hold) await run.opts.budget!.settle(asked.hold, asked.paid);
    else if (asked.paid > 0) await run.opts.store.settleBudget(run.opts.runId, 'unreserved', asked.paid);
  }
}

/** Asks until answered, scores and stores the answer; false when the run stopped it (budget, abort). */
async function askAndStore(run: RunControl, unit: Unit, pass: Pass, asked: Asked, signal: AbortSignal): Promise<boolean> {
  const { opts } = run;
  const { sample } = unit;
  const request = await buildRequest(opts, unit, asked, signal);
  if (opts.budget && !(asked.hold = await opts.budget.reserve(request))) {
    run.stopForBudget();
    return false;
  }
  const { response, latencyMs } = await withRetry(
    async (attempt) => {
      asked.attempts = attempt;
      return send(run, request, signal);
    },
    run.retry,
    {
      signal,
      firstAttempt: pass.attempts + 1,
      onRetry: () => (run.progress.retries++, run.report()),
      whileWaiting: (error, wait) => (givesSlotAway(run, error) ? run.limiter.awayWhile(wait) : wait()),
    },
  );
  // An answer from the cache took no time to think: its latency would skew every latency figure.
  const base = { ...rowBase(opts.runId, unit), ...asked.columns, response: response.text, latencyMs: response.details?.[CACHED_ANSWER] ? undefined : latencyMs, imageSha256: asked.sent?.sha256 ?? asked.image?.sha256, attempts: asked.attempts };
  let verdict;
  try {
    verdict = await opts.protocol.score(sample, response, signal, asked.image);
  } catch (error) {
    if (!signal.aborted) throw error;
    // Paid for, but the run stopped while it was judged: keep the answer and count its cost.
    const usage = run.charge(response.usage);
    asked.paid += usage.costUsd ?? 0;
    await opts.store.putResult({ ...base, ...usage, status: 'error', errorKind: 'cancelled', errorMessage: 'answered but not judged: the run stopped first (resume asks it again)' });
    return false;
  }
  const { judge_usage: judgeUsage, ...verdictDetails } = verdict.details ?? {};
  const usage = run.charge(response.usage, judgeUsage as JudgeUsage | undefined);
  asked.paid += (usage.costUsd ?? 0) + (usage.judgeCostUsd ?? 0);
  await opts.store.putResult({
    ...base,
    ...usage,
    status: 'ok',
    prediction: verdict.prediction,
    correct: verdict.correct,
    details: detailsOf(verdict.rationale, { ...(sample.fields ? { fields: sample.fields } : {}), ...request.meta, ...response.details, ...verdictDetails, ...(asked.sent ? { image_bytes: asked.sent.bytes } : {}) }, response.finishReason),
  });
  return true;
}

/** How recent an answer must be for the server to count as answering others. */
const ANSWERING_WITHIN_MS = 1000;

/**
 * Whether a sample backing off gives its concurrency slot to another sample meanwhile. Not when the
 * server asked for the wait (a rate limit, Retry-After): waiting in the slot slows the sender by
 * what was asked. Not unless the server answered someone in the last second: one that is down gets
 * no more samples at once, and is found down as soon. Not under --max-cost: the sample keeps its
 * budget hold while away, and the one taking its slot could wait for that hold to settle while the
 * first waits for the slot. And at most --concurrency samples away at once.
 */
function givesSlotAway(run: RunControl, error: unknown): boolean {
  const serverAskedToWait = error instanceof ProviderError && (error.kind === 'rate_limit' || error.retryAfterMs !== undefined);
  const answering = performance.now() - run.lastAnsweredAt < ANSWERING_WITHIN_MS;
  return !serverAskedToWait && answering && !run.opts.budget && run.limiter.away < run.limiter.max;
}

/** The protocol's request for the sample, after methods and ablations. */
async function buildRequest(opts: ExecuteOptions, { sample, repeat }: Unit, asked: Asked, signal: AbortSignal): Promise<GenerateRequest> {
  if (opts.provider.needsImages && sample.image) {
    if (!sample.image.path) throw new ProviderError('image', `sample ${sample.id}: image has no local path`);
    asked.image = await opts.images.get(sample.image.path);
  }
  let request = opts.protocol.buildRequest(sample, asked.image);
  for (const transform of opts.transforms ?? []) request = await transform(request, sample, signal);
  // Which answer of the item this is: never sent, but an answer cache keys on it (repeat r reuses only repeat r).
  if (repeat) request = { ...request, repeat };
  // Ablations may replace the prepared image: the store records what actually went out.
  asked.sent = sentImage(request);
  asked.columns = { prompt: questionOf(request), system: request.system, reference: sample.reference };
  return request;
}

/** One attempt at the model; rate limits are counted and reported to the limiter. */
async function send(run: RunControl, request: GenerateRequest, signal: AbortSignal): Promise<{ response: GenerateResponse; latencyMs: number }> {
  run.firstRequest();
  const epoch = run.limiter.epoch;
  const callStart = performance.now();
  try {
    const response = await run.opts.provider.generate(request, { signal });
    return { response, latencyMs: Math.round(performance.now() - callStart) };
  } catch (error) {
    if (error instanceof ProviderError && error.kind === 'rate_limit' && !signal.aborted) {
      run.progress.rateLimits++;
      run.limiter.onRateLimit(epoch, error.retryAfterMs);
    }
    throw error;
  }
}

function rowBase(runId: string, { sample, repeat }: Unit): Omit<ResultRow, 'status' | 'attempts'> {
  return {
    runId,
    sampleId: sample.id,
    ...(repeat ? { repeat } : {}),
    label: sample.label,
    subset: sample.subset,
    scenario: sample.scenario,
    domain: sample.domain,
    attack: sample.attack,
    category: sample.category,
  };
}

const NORMAL_FINISH = new Set(['stop', 'end_turn', 'STOP', 'tool_use']);

/** Only what is worth its bytes: most rows store no details at all (the store grows per sample). */
function detailsOf(rationale: string | undefined, details: Record<string, unknown> | undefined, finish: string | undefined) {
  const out: Record<string, unknown> = { ...(rationale ? { rationale } : {}), ...(details ?? {}) };
  if (finish && !NORMAL_FINISH.has(finish)) out.finish = finish;
  return Object.keys(out).length ? out : undefined;
}
