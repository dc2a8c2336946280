import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { loadRowsFile, protocolSpec } from '../benchmarks/registry.ts';
import type { ProtocolSpec } from '../benchmarks/types.ts';
import { bindUpstream } from '../upstream/bind.ts';
import { TemplateError } from '../upstream/template.ts';
import type { ImageLimits, LoadedDataset, Provider, Sample } from '../core/types.ts';
import { loadBenchmark } from '../datasets/registry.ts';
import { splitOf } from '../datasets/split.ts';
import { selectSamples } from '../datasets/select.ts';
import { MethodError, setupAblation, setupMethod } from '../methods/registry.ts';
import { CAPTION_PROMPT } from '../methods/ablations.ts';
import { ImageCache, imageCacheBudget } from '../images/cache.ts';
import { AwarenessProtocol } from '../protocols/awareness.ts';
import { extractorOf, type ExtractionRule } from '../scoring/awareness.ts';
import { ChoiceProtocol } from '../protocols/choice.ts';
import { ResponseProtocol } from '../protocols/response.ts';
import type { Protocol } from '../protocols/protocol.ts';
import { createProvider } from '../providers/registry.ts';
import { MultiEndpointProvider } from '../providers/endpoints.ts';
import { loadPrices, priceFor, resolvePricing } from '../providers/pricing.ts';
import type { RunRecord, Store } from '../store/store.ts';
import { defaultRunId } from '../store/run-names.ts';
import type { RetryPolicy } from './backoff.ts';
import { protocolName, repeatsOf, RunConfigSchema, STORED_CONFIG_VERSION, type RunConfig, type RunConfigInput } from './config.ts';
import { RunBudget } from './budget.ts';
import { withAnswerCache } from './answer-cache.ts';
import { checkKeys, preflight, type PreflightTarget } from './preflight.ts';
import { estimateRun, type RunEstimate } from './estimate.ts';
import { countCompleted, executeRun, type ExecuteOptions, type ExecuteResult, type RunProgress, type Unit } from './run.ts';

/*
 * A run session: everything a stored run needs to answer samples in this process (settings, data,
 * provider, protocol, methods), built once by `openRun`. `evaluate` and `mmsafe worker` both start
 * from one, so neither needs the other.
 */

export class RunSetupError extends Error {}

/** What a stored run needs to answer samples in this process: built once, used for any of its samples. */
export interface RunSession {
  runId: string;
  config: RunConfig;
  dataset: LoadedDataset;
  record: RunRecord;
  resumed: boolean;
  /** Answers these samples (a list, each asked `--samples` times, or a stream of known-pending answers) and stores each result. */
  execute(samples: Sample[] | AsyncIterable<Unit>, extra?: Pick<ExecuteOptions, 'signal' | 'onProgress' | 'onFirstRequest' | 'streamProgress'>): Promise<ExecuteResult>;
  /** Per-endpoint counts of this process, when the model has several replicas. */
  endpointStats(): EndpointStats[] | undefined;
}

type EndpointStats = ReturnType<MultiEndpointProvider['stats']>[number];

export type SessionMode = 'create' | 'resume' | 'attach';

export interface SessionOptions {
  store: Store;
  /** Name of the run; generated when absent on create. */
  runId?: string;
  /** create: a new run; resume: reopen with overrides; attach: a worker joining a stored run as it is. */
  mode: SessionMode;
  /** The status the record is written with (attach leaves the record alone). */
  status?: RunRecord['status'];
  /** Tests and the demo inject providers (and keys) here instead of through the environment. */
  provider?: Provider;
  judge?: Provider;
  /** Load and estimate only: no run is stored, no request is sent. */
  dryRun?: boolean;
  apiKey?: string;
  /** Prove key, endpoint and model with one short request before the run (the CLI's default). */
  preflight?: boolean;
  /** The run's interrupt (Ctrl-C): it cancels the start-up check too. */
  signal?: AbortSignal;
}

/** What a dry run returns instead of a session: the data and the estimate, nothing stored. */
export interface DryRun {
  runId: string;
  dataset: LoadedDataset;
  progress: RunProgress;
  estimate: RunEstimate;
}

export function emptyProgress(dataset: LoadedDataset): RunProgress {
  return { total: dataset.samples.length, done: 0, skipped: 0, errors: 0, retries: 0, rateLimits: 0, inFlight: 0, concurrency: 0, startedAt: Date.now() };
}

/**
 * `paper` extraction reads the whole answer (upstream's substring rule), so a cap cut short would
 * change its verdict: that mode gets a larger default cap; an explicit --max-tokens still wins.
 */
export const PAPER_EXTRACTION_MAX_TOKENS = 1024;

/** The retry policy a run's settings ask for; the model, the judge and the captioner share it. */
export function retryPolicyOf(config: RunConfig): RetryPolicy {
  return { maxAttempts: config.maxAttempts, baseDelayMs: config.retryBaseMs, maxDelayMs: 30_000 };
}

/**
 * Loads the data, builds provider, protocol, method and ablation, and creates (or reopens) the run
 * record. Everything a later `--resume` or a worker needs is stored before the first request.
 */
export async function openRun(input: RunConfigInput | undefined, opts: SessionOptions): Promise<RunSession | { dryRun: DryRun }> {
  const { config, runId, existing } = await resolveRun(input, opts);
  checkSettings(config);
  const cache = answerCacheFor(config, opts.store);
  // The judge of a judged protocol, or the extractor model of `--extraction judge:provider:model`.
  const extractor = protocolName(config) === 'awareness' ? extractorOf(config.extraction) : undefined;
  const rawJudge =
    protocolName(config) === 'response' ? (opts.judge ?? setup(() => createJudge(config, opts.apiKey)))
    : extractor ? (opts.judge ?? setup(() => createProvider(extractor, { baseURL: config.judgeBaseURL ?? config.baseURL, apiKey: opts.apiKey, timeoutMs: config.timeoutMs })))
    : undefined;
  const judge = rawJudge && cache(rawJudge);
  const { raw, replicas } = modelProvider(config, opts);
  const provider = cache(raw);
  // The check goes to the API itself, never to the answer cache.
  const checks = opts.preflight && !opts.dryRun ? preflightTargets(config, raw, rawJudge) : [];
  checkKeys(checks, opts.apiKey);
  // Load the SDK while the dataset is read, not after: first request sooner. The image library is
  // left to the first image that needs re-encoding: most are sent as they are, read by their header.
  const warm = opts.dryRun ? undefined : Promise.resolve(provider.warmup?.()).catch(() => undefined);
  const { dataset, pool } = await loadData(config);
  if (opts.dryRun) return { dryRun: { runId, dataset, progress: emptyProgress(dataset), estimate: estimateRun(config, dataset, boundPrompt(config)) } };
  await warm;
  const limits = imageLimits(config, provider);
  const images = new ImageCache(limits, imageCacheBudget(imageFiles(dataset.samples)));
  // Methods and ablations know two shapes of question: a yes/no one, and any other asked as it is.
  const protocolKind = protocolName(config) === 'awareness' ? 'awareness' : 'response';
  const method = await setupOrUsage(() =>
    setupMethod(config.method, config.methodOptions, {
      protocol: protocolKind,
      provider,
      images,
      pool: async () => pool,
      loadShots: async (file) => (await loadRowsFile(file)).samples,
      prompt: boundPrompt(config),
    }),
  );
  const captioner = config.captioner
    ? setup(() => createProvider(config.captioner!, { baseURL: config.captionerBaseURL, timeoutMs: config.timeoutMs, apiKey: opts.apiKey }))
    : undefined;
  const ablation = await setupOrUsage(async () => setupAblation(config.ablation, { protocol: protocolKind, store: opts.store, captioner, limits, retry: retryPolicyOf(config) }));
  // What the answers are scored with (CoT reads the final answer) is what the run stores.
  // An extractor model reads only what the rule cannot: under CoT that rule is the final answer's.
  const rule = method.extraction && config.extraction !== 'paper' ? method.extraction : config.extraction;
  const scoring = { ...config, extraction: extractor ? config.extraction : rule, judge: extractor ? config.judge : (judge?.id ?? config.judge) };
  const protocol = protocolFor(scoring, judge, extractor && method.extraction ? { rule: method.extraction } : {});
  const { extraction: _extraction, judge: _judge, ...protocolSettings } = protocol.describe();
  const pricing = resolvePricing(config.model, judge?.id, loadPrices(config.prices));

  // After every local check (data, method, ablation), so a mistake there still sends nothing.
  // A resume under --max-cost sends only what the budget allows, so not even the check. A resume
  // with everything stored sends nothing either; a new run has nothing stored (no count needed).
  const answers = dataset.samples.length * repeatsOf(config);
  if (checks.length && !(existing && config.maxCost !== undefined) && (!existing || (await countStored(opts.store, runId, dataset, repeatsOf(config))) < answers)) {
    await preflight(checks, { timeoutMs: config.timeoutMs, signal: opts.signal });
  }

  const record: RunRecord = {
    id: runId,
    benchmark: config.benchmark,
    protocol: protocol.name,
    model: config.model,
    total: dataset.total,
    createdAt: existing?.createdAt ?? new Date().toISOString(),
    status: opts.status ?? 'running',
    config: {
      version: STORED_CONFIG_VERSION,
      run: scoring,
      data_source: dataset.source,
      provider: provider.describe(),
      // The file as the run's first judgements read it: a resume keeps that record.
      protocol: { ...protocolSettings, ...(existing?.config.protocol.judge_prompts ? { judge_prompts: existing.config.protocol.judge_prompts } : judgePromptsRecord(config.judgePrompts)) },
      image_limits: { ...limits },
      method: method.describe,
      ablation: config.ablation ? { name: config.ablation, captioner: config.captioner, ...(config.ablation === 'caption' ? { caption_prompt: CAPTION_PROMPT } : {}) } : undefined,
      evaluable: dataset.samples.length,
      problems: dataset.problems,
      pricing,
      ...(existing?.config.endpoint_stats ? { endpoint_stats: existing.config.endpoint_stats } : {}),
    },
  };
  await storeRecord(opts, record, existing);

  // --max-cost is a budget for the run, not for each process: every process reserves on the store.
  const budget = config.maxCost !== undefined ? new RunBudget(opts.store, runId, config.maxCost, pricing, config.timeoutMs * config.maxAttempts + 60_000) : undefined;
  const spentUsd = await opts.store.spentUsd(runId);
  return {
    runId,
    config,
    dataset,
    record: opts.mode === 'attach' ? existing! : record,
    resumed: Boolean(existing),
    endpointStats: () => replicas?.stats(),
    execute: (samples, extra = {}) =>
      executeRun({
        runId,
        samples,
        repeats: repeatsOf(config),
        streamProgress: extra.streamProgress,
        store: opts.store,
        provider: method.provider,
        protocol,
        images,
        transforms: [...method.transforms, ...(ablation ? [ablation] : [])],
        concurrency: config.concurrency,
        retry: retryPolicyOf(config),
        signal: extra.signal,
        onProgress: extra.onProgress && (replicas ? (p) => extra.onProgress!({ ...p, endpoints: replicas.stats() }) : extra.onProgress),
        onFirstRequest: extra.onFirstRequest,
        pricing,
        budget,
        spentUsd,
      }),
  };
}

/** A --judge-prompts file as reports name it: its path and the sha256 of its bytes at run start. */
function judgePromptsRecord(file: string | undefined): { judge_prompts?: { file: string; sha256: string } } {
  if (!file || !existsSync(file)) return {};
  return { judge_prompts: { file, sha256: createHash('sha256').update(readFileSync(file)).digest('hex') } };
}

/** The run's settings and name: new ones checked, or the stored ones with the allowed overrides. */
async function resolveRun(input: RunConfigInput | undefined, opts: SessionOptions): Promise<{ config: RunConfig; runId: string; existing?: RunRecord }> {
  if (opts.mode !== 'create') {
    if (!opts.runId) throw new RunSetupError('--resume needs the name of a run (see `mmsafe runs`)');
    const existing = await opts.store.getRun(opts.runId);
    if (!existing) throw new RunSetupError(`no run named "${opts.runId}" in this database (see \`mmsafe runs\`)`);
    const stored = existing.config.run;
    const config = RunConfigSchema.parse({ ...stored, ...(input ? pickOverrides(input) : {}) });
    if (repeatsOf(config) < repeatsOf(stored)) {
      throw new RunSetupError(`run ${existing.id} asks each item ${repeatsOf(stored)} times; --samples may only grow on resume (got ${repeatsOf(config)})`);
    }
    return { config, runId: existing.id, existing };
  }
  const config = RunConfigSchema.parse(input);
  const runId = opts.runId ?? (await defaultRunId(opts.store, config));
  const existing = await opts.store.getRun(runId);
  if (existing && !opts.dryRun) {
    throw new RunSetupError(`a run named "${runId}" already exists; finish it with \`mmsafe run --resume ${runId}\` or pick another --run-id`);
  }
  return { config, runId, existing };
}

/** Everything that can be wrong with the settings fails here, before any data is read or request sent. */
function checkSettings(config: RunConfig): void {
  if (config.maxCost !== undefined) {
    const prices = loadPrices(config.prices);
    const extractor = protocolName(config) === 'awareness' ? extractorOf(config.extraction) : undefined;
    for (const m of [config.model, ...(protocolName(config) === 'response' && config.judge ? [config.judge] : []), ...(extractor ? [extractor] : [])]) {
      if (!priceFor(m, prices)) throw new RunSetupError(`--max-cost needs the price of ${m}, which is unknown: give it with --prices FILE ({"${m}": {"input": USD per 1M tokens, "output": ...}})`);
    }
  }
  // A --judge-prompts file a protocol never reads would be named in reports as the rubric it did not use.
  const spec = protocolSpec(config.benchmark, protocolName(config));
  if (config.judgePrompts && spec && !spec.upstream && !spec.userTemplates) {
    throw new RunSetupError(`--judge-prompts: the ${config.benchmark} ${protocolName(config)} protocol reads no templates (its rubric is mmsafe's own wording); leave the flag out`);
  }
  if (config.method === 'vcd' && config.ablation === 'text-only') throw new RunSetupError('--method vcd contrasts the image with a noised copy, so it cannot run with --ablation text-only');
}

/** --cache wraps the model (and the judge) so identical requests are answered from the store; baselines cost nothing and are left alone. */
function answerCacheFor(config: RunConfig, store: Store) {
  return (provider: Provider): Provider => (config.cache && !provider.id.startsWith('baseline:') ? withAnswerCache(provider, store, { providerOptions: config.providerOptions ?? null }) : provider);
}

function modelProvider(config: RunConfig, opts: SessionOptions): { raw: Provider; replicas?: MultiEndpointProvider } {
  const make = (baseURL?: string) =>
    setup(() => createProvider(config.model, { baseURL, apiKey: opts.apiKey, timeoutMs: config.timeoutMs, seed: config.seed, extra: config.providerOptions }));
  const replicas = config.endpoints && config.endpoints.length > 1 ? new MultiEndpointProvider(config.endpoints.map((e) => ({ url: e.url, limit: e.limit, provider: make(e.url) }))) : undefined;
  return { raw: opts.provider ?? replicas ?? make(config.endpoints?.[0]?.url ?? config.baseURL), replicas };
}

/** The samples to evaluate (after split and shard), and the pool few-shot examples may come from. */
async function loadData(config: RunConfig): Promise<{ dataset: LoadedDataset; pool: Sample[] }> {
  let dataset = await loadBenchmark(config.benchmark, config.data, { subset: config.subset, limit: config.limit, images: config.images });
  // Few-shot examples come from the training side only: a held-out item must not teach the model.
  const pool = config.split ? applySplit(dataset, { ...config.split, part: 'train' }).samples : dataset.samples;
  if (config.split) dataset = applySplit(dataset, config.split);
  if (config.shard) dataset = applyShard(dataset, config.shard);
  dataset = selectSamples(dataset, config);
  return { dataset, pool };
}

/** The image files a run's samples name (repeated names included: the cache budget counts each once). */
function* imageFiles(samples: Sample[]): Iterable<string> {
  for (const s of samples) if (s.image?.path) yield s.image.path;
}

function imageLimits(config: RunConfig, provider: Provider): ImageLimits {
  return {
    ...provider.imageLimits,
    // User limits may only tighten the API's: a larger image would be rejected by the API anyway.
    ...(config.imageMaxSide ? { maxSide: Math.min(config.imageMaxSide, provider.imageLimits.maxSide) } : {}),
    ...(config.imageMaxBytes ? { maxBytes: Math.min(config.imageMaxBytes, provider.imageLimits.maxBytes) } : {}),
  };
}

async function storeRecord(opts: SessionOptions, record: RunRecord, existing: RunRecord | undefined): Promise<void> {
  if (opts.mode === 'attach') {
    // A worker must not rewrite what the run's creator stored; it only marks queued work as started.
    if (existing!.status === 'queued') await opts.store.updateRun(record.id, { status: 'running' });
  } else if (existing) await opts.store.updateRun(record.id, { status: record.status, config: record.config, total: record.total });
  else {
    try {
      await opts.store.createRun(record);
    } catch (error) {
      // Two runs started at once with one --run-id: the loser is told as if it had come second.
      if (await opts.store.getRun(record.id)) throw new RunSetupError(`a run named "${record.id}" already exists; finish it with \`mmsafe run --resume ${record.id}\` or pick another --run-id`);
      throw error;
    }
  }
}

async function setupOrUsage<T>(make: () => Promise<T>): Promise<T> {
  try {
    return await make();
  } catch (error) {
    if (error instanceof MethodError || error instanceof RunSetupError) throw new RunSetupError(error.message);
    throw error;
  }
}

/** A bad model spec or provider setting is the user's to fix: a usage error, not a crash. */
function setup<T>(make: () => T): T {
  try {
    return make();
  } catch (error) {
    if (error instanceof RunSetupError) throw error;
    throw new RunSetupError((error as Error).message);
  }
}

/** Deterministic sharding by sample id, for users who schedule shards themselves (Kubernetes, Slurm). */
export function shardOf(id: string, count: number): number {
  return createHash('sha256').update(id).digest().readUInt32BE(0) % count;
}

function applyShard(dataset: LoadedDataset, shard: { index: number; count: number }): LoadedDataset {
  const keep = (id: string | undefined) => id === undefined || shardOf(id, shard.count) === shard.index;
  const samples = dataset.samples.filter((s) => keep(s.id));
  const problems = dataset.problems.filter((p) => keep(p.id));
  return { ...dataset, samples, problems, total: samples.length + problems.length };
}

/** Keeps one side of the deterministic train/test split (rows without an id stay reported). */
function applySplit(dataset: LoadedDataset, split: { part: 'train' | 'test'; ratio: number; seed: number }): LoadedDataset {
  const keep = (id: string | undefined) => id === undefined || splitOf(id, split.ratio, split.seed) === split.part;
  const samples = dataset.samples.filter((s) => keep(s.id));
  const problems = dataset.problems.filter((p) => keep(p.id));
  return { ...dataset, samples, problems, total: samples.length + problems.length };
}

export function createJudge(config: RunConfig, apiKey?: string): Provider {
  if (!config.judge) throw new RunSetupError('the response protocol needs a judge: --judge provider:model (e.g. openai:gpt-4o)');
  return createProvider(config.judge, { baseURL: config.judgeBaseURL ?? config.baseURL, apiKey, timeoutMs: config.timeoutMs });
}

/**
 * The run's protocol, as its benchmark declares it (with the templates its `upstream` binding reads
 * at run time); run flags override the benchmark's generation settings.
 */
export function protocolFor(config: RunConfig, judge?: Provider, reading: { rule?: ExtractionRule } = {}): Protocol {
  const name = protocolName(config);
  const declared = protocolSpec(config.benchmark, name);
  if (!declared) throw new RunSetupError(`no benchmark defines the ${name} protocol`);
  const bound = withTemplates(declared, config);
  const spec = bound.spec;
  // Where the run-time templates came from: the upstream files (and their provenance).
  const templates = bound.templates;
  const generation = {
    maxTokens: config.maxTokens ?? (spec.scorer.kind === 'extraction' && config.extraction === 'paper' ? PAPER_EXTRACTION_MAX_TOKENS : undefined) ?? spec.generation?.maxTokens ?? 256,
    temperature: config.temperature,
    seed: config.seed,
    system: config.system ?? spec.generation?.system,
    textFirst: spec.generation?.textFirst,
  };
  if (spec.scorer.kind === 'judge') {
    return new ResponseProtocol({
      judge: judge ?? createJudge(config),
      rubric: spec.scorer.rubric,
      prompt: spec.prompt,
      ...generation,
      retry: retryPolicyOf(config),
      templates,
    });
  }
  if (spec.scorer.kind === 'extraction') {
    const extractor = extractorOf(config.extraction) ? (judge ?? setup(() => createProvider(extractorOf(config.extraction)!, { baseURL: config.judgeBaseURL ?? config.baseURL, timeoutMs: config.timeoutMs }))) : undefined;
    return new AwarenessProtocol({ prompt: spec.prompt, extraction: config.extraction, ...reading, extractor, retry: retryPolicyOf(config), ...generation, templates });
  }
  return new ChoiceProtocol({ prompt: spec.prompt, scorer: spec.scorer, ...generation, templates });
}

/** The text the run's benchmark asks for an item, its upstream templates read (methods build on it). */
function boundPrompt(config: RunConfig) {
  const declared = protocolSpec(config.benchmark, protocolName(config));
  if (!declared) throw new RunSetupError(`no benchmark defines the ${protocolName(config)} protocol`);
  return withTemplates(declared, config).spec.prompt;
}

/** The spec with the templates the benchmark reads from its upstream repository (a missing one is a setup error). */
function withTemplates(spec: ProtocolSpec, config: RunConfig) {
  try {
    return bindUpstream(spec, config.data, config.judgePrompts);
  } catch (error) {
    if (error instanceof TemplateError) throw new RunSetupError(error.message);
    throw error;
  }
}

function preflightTargets(config: RunConfig, provider: Provider, judge: Provider | undefined): PreflightTarget[] {
  const modelURL = config.endpoints?.map((e) => e.url).join(',') ?? config.baseURL;
  const judgeSpec = protocolName(config) === 'response' ? config.judge : extractorOf(config.extraction);
  const role = protocolName(config) === 'response' ? '--judge' : '--extraction';
  return [
    { role: '--model', spec: config.model, provider, customURL: modelURL },
    ...(judge && judgeSpec ? [{ role, spec: judgeSpec, provider: judge, customURL: config.judgeBaseURL ?? config.baseURL }] : []),
  ];
}

/** Answers of the dataset's items already stored for the run (answered or failed for good), of `repeats` per item. */
export async function countStored(store: Store, runId: string, dataset: LoadedDataset, repeats = 1): Promise<number> {
  return countCompleted(store, runId, dataset.samples, repeats);
}

/** On resume only operational settings may change; what is measured stays as first stored. */
function pickOverrides(input: RunConfigInput): Partial<RunConfigInput> {
  const out: Partial<RunConfigInput> = {};
  if (input.concurrency !== undefined) out.concurrency = input.concurrency;
  // A new address replaces the stored ones, whichever form they had.
  if (input.baseURL !== undefined) Object.assign(out, { baseURL: input.baseURL, endpoints: undefined });
  if (input.endpoints !== undefined) Object.assign(out, { endpoints: input.endpoints, baseURL: undefined });
  if (input.timeoutMs !== undefined) out.timeoutMs = input.timeoutMs;
  if (input.maxCost !== undefined) out.maxCost = input.maxCost;
  if (input.prices !== undefined) out.prices = input.prices;
  if (input.data !== undefined) out.data = path.resolve(input.data);
  if (input.cache !== undefined) out.cache = input.cache;
  // More answers per item may be asked of a run later (resume asks only the new repeats); fewer would orphan stored ones.
  if (input.samples !== undefined) out.samples = input.samples;
  return out;
}
