import { existsSync, readFileSync, statSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-write.ts';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { BENCHMARKS, benchmarkNames, DEFAULT_BENCHMARK } from '../benchmarks/registry.ts';
import { formatSummaryTable } from '../report/table.ts';
import { summarizeStoredRun, type RunSummary } from '../report/summary.ts';
import type { RunConfigInput } from '../runner/config.ts';
import { evaluate, RunSetupError } from '../runner/evaluate.ts';
import { PreflightInterrupted } from '../runner/preflight.ts';
import type { RunProgress } from '../runner/run.ts';
import { DatasetError } from '../datasets/errors.ts';
import { parseIdList } from '../datasets/select.ts';
import { defaultDataDir } from '../datasets/pull.ts';
import { buildLeaderboard } from '../report/leaderboard.ts';
import { leaderboardTable } from '../report/formats.ts';
import type { Store } from '../store/store.ts';
import { parseSplit } from '../datasets/split.ts';
import { parseEndpoints } from '../providers/endpoints.ts';
import { readConfigFile } from './config-file.ts';
import { displayLocation, openStore } from '../store/open.ts';
import { createProgressReporter } from './progress.ts';
import { onInterrupt } from './interrupt.ts';
import { resolveRunName } from '../store/run-names.ts';
import { nextSteps } from './next-steps.ts';
import { BOOTSTRAP_HELP, bootstrapOf, collectKeyValue, parseNumber, parsePositiveInt, parseReplicates, UsageError } from './usage.ts';
import { say, sayLine, show } from './print.ts';
import { summaryOf } from './commands.ts';

interface RunFlags {
  /** Replicates of the summary's cluster bootstrap (reporting only, not stored with the run). */
  bootstrap?: number;
  config?: string;
  benchmark?: string;
  data?: string;
  model?: string;
  baseUrl?: string;
  concurrency?: number;
  limit?: number;
  sample?: number;
  samples?: number;
  ids?: string;
  subset?: string;
  protocol?: 'awareness' | 'response' | 'multiple-choice' | 'mcqa';
  judgePrompts?: string;
  judge?: string;
  judgeBaseUrl?: string;
  images?: string;
  extraction?: string;
  maxTokens?: number;
  temperature?: number;
  seed?: number;
  system?: string;
  timeout?: number;
  maxAttempts?: number;
  providerOption?: Record<string, unknown>;
  out?: string;
  db: string;
  runId?: string;
  resume?: string;
  quiet?: boolean;
  cache?: boolean;
  maxCost?: number;
  prices?: string;
  imageMaxSide?: number;
  imageMaxBytes?: number;
  method?: string;
  alpha?: number;
  beta?: number;
  noiseStep?: number;
  methodSeed?: number;
  shots?: string;
  methodPrompts?: string;
  ablation?: 'text-only' | 'blank-image' | 'noise-image' | 'caption' | 'typographic';
  captioner?: string;
  captionerBaseUrl?: string;
  split?: string;
  endpoints?: string;
  shard?: string;
  dryRun?: boolean;
  enqueue?: boolean;
  lease?: number;
  workerId?: string;
  preflight?: boolean;
}

export function registerRun(program: Command): void {
  program
    .command('run')
    .description(summaryOf('run'))
    .option('--config <file>', 'run settings as JSON (same names as the stored config); flags override it')
    .option('--benchmark <name>', `benchmark: ${BENCHMARKS.map((b) => (b.name === DEFAULT_BENCHMARK ? `${b.name} (default)` : b.name)).join(', ')}`)
    .option('--data <path>', `dataset: ${BENCHMARKS.map((b) => `${b.name}: ${b.dataHelp}`).join('; ')}`)
    .option('--images <dir>', 'images directory, when not where the benchmark expects them (default <data>/images)')
    .addOption(new Option('--protocol <name>', 'awareness (yes/no question), response (free answer + judge) or multiple-choice (alias mcqa), where the benchmark declares it; default: the benchmark\'s own').choices(['awareness', 'response', 'multiple-choice', 'mcqa']))
    .option('--judge <provider:model>', 'judge for the response protocol, e.g. openai:gpt-4o')
    .option('--judge-base-url <url>', 'base URL for the judge API (default: the model\'s)')
    .option('--judge-prompts <file>', "JSON of templates by name, used instead of the benchmark's upstream prompt files (see docs/benchmarks.md)")
    .option('--model <provider:model>', 'e.g. openai:gpt-4o, ollama:llava, baseline:always-unsafe; several, comma-separated, run concurrently (one run each) and end with their leaderboard')
    .option('--base-url <url>', 'API base URL (default: OPENAI_BASE_URL or the provider default); several, comma-separated, spread the load over replicas')
    .option('--endpoints <file>', 'replicas of the model, one URL per line (optionally followed by its own concurrency limit)')
    .option('--shard <i/N>', 'evaluate only shard i of N (by sample id); merge shard databases with `mmsafe merge`')
    .option('--concurrency <n>', 'requests in flight at most', parsePositiveInt)
    .option('--limit <n>', 'run only the first N samples', parsePositiveInt)
    .option('--sample <n>', 'a random sample of N, stratified over the subsets (every subset present); drawn with --seed', parsePositiveInt)
    .option('--samples <k>', 'ask each item K times (at --temperature) and store every answer; the summary scores the majority verdict per item, with the spread between repeats (default 1)', parsePositiveInt)
    .option('--ids <file|a,b,c>', 'only these sample ids: a file (one per line) or a comma-separated list')
    .option('--subset <name>', `only one subset (${BENCHMARKS.filter((b) => b.subsets).map((b) => `${b.name}: ${b.subsets!.join('|')}`).join('; ')}; custom: the rows' own)`)
    .option('--extraction <mode>', 'answer extraction: strict (leading Yes/No), paper (upstream script; default --max-tokens 1024), final (a reasoning answer\'s final Yes/No), or judge:provider:model (the rule, then that model reads what the rule cannot)')
    .option('--max-tokens <n>', 'max output tokens per answer', parsePositiveInt)
    .option('--temperature <t>', 'sampling temperature (default 0)', parseNumber)
    .option('--seed <n>', 'seed of the --sample draw, and the sampling seed where the API supports it', parseNumber)
    .option('--system <text>', 'system prompt (none by default)')
    .option('--timeout <seconds>', 'per-request timeout in seconds (default 120)', parseNumber)
    .option('--max-attempts <n>', 'attempts per sample on retryable errors (default 6)', parsePositiveInt)
    .option('--provider-option <key=value>', 'passed through to the API request body (repeatable)', collectKeyValue)
    .option('--out <file>', 'write the summary JSON here')
    .option('--bootstrap <n>', BOOTSTRAP_HELP, parseReplicates)
    .option('--db <path>', 'where runs are stored: a SQLite file, or postgres://... shared by workers', './mmsafe.db')
    .option('--enqueue', 'shared store only: store the run and queue its samples for `mmsafe worker`, answer none here')
    .option('--lease <seconds>', "shared store: how long this process's claims last without renewal (default 60)", parseNumber)
    .option('--worker-id <name>', "shared store: this process's name in the leases")
    .option('--run-id <name>', 'name of the run (default: generated)')
    .option('--resume <name>', 'finish a run that was interrupted, with its stored settings (a unique prefix or latest will do)')
    .option('--method <name>', 'mitigation: safety-prompt, fusion-prompt, cot, few-shot:K, vcd (see `mmsafe methods`)')
    .option('--alpha <a>', 'vcd: contrast strength (default 1)', parseNumber)
    .option('--beta <b>', 'vcd: adaptive plausibility cut (default 0.1)', parseNumber)
    .option('--noise-step <t>', 'vcd: DDPM step of the distorted image, 0-999 (default 500)', parsePositiveInt)
    .option('--method-seed <n>', 'seed for few-shot draws and vcd noise (default 0)', parseNumber)
    .option('--shots <file>', 'few-shot: examples from this custom-format file instead of the benchmark')
    .option('--method-prompts <file>', 'JSON replacing the prompting methods\' texts')
    .addOption(new Option('--ablation <name>', 'what the image contributes').choices(['text-only', 'blank-image', 'noise-image', 'caption', 'typographic']))
    .option('--captioner <provider:model>', 'caption ablation: the model that writes the captions')
    .option('--captioner-base-url <url>', "caption ablation: the captioner's API base URL")
    .option('--split <part>', 'evaluate one side of the train/test split of `export-sft`: test, train, test:0.7')
    .option('--image-max-side <px>', 'downscale images to at most this many pixels on the long side', parsePositiveInt)
    .option('--image-max-bytes <n>', 'keep images under this many bytes', parsePositiveInt)
    .option('--max-cost <usd>', 'stop cleanly (resumable) once this many US dollars are spent', parseNumber)
    .option('--prices <file>', 'JSON prices per million tokens, overriding the built-in table')
    .option('--dry-run', 'print the sample count, images and a cost estimate; send nothing')
    .option('--cache', 'reuse the answer of an identical request (model, messages, image bytes, settings) from any earlier run in this database; store new answers for later runs')
    .option('--no-preflight', 'skip the one short request that proves key, endpoint and model before the run')
    .option('--quiet', 'no progress display')
    .action(async (flags: RunFlags) => {
      await runCommand(flags);
    });
}

async function runCommand(flags: RunFlags): Promise<void> {
  const file = flags.config ? readConfigFile(flags.config) : { settings: {} as RunConfigInput };
  const { model: _models, ...fromFlags } = toConfig(flags);
  const specs = flags.model?.split(',').map((s) => s.trim()).filter(Boolean) ?? [];
  // Models on the command line replace the file's; each file entry may carry its own limits.
  const entries: Partial<RunConfigInput>[] = specs.length ? specs.map((model) => ({ model })) : (file.models ?? [{}]);
  const inputs = entries.map((e) => ({ ...file.settings, ...fromFlags, ...e }) as RunConfigInput);
  // A run id is printed and used in file names: no control characters (they would drive a terminal).
  if (flags.runId !== undefined && /[\x00-\x1f\x7f-\x9f]/.test(flags.runId)) throw new UsageError('--run-id must not contain control characters');
  if (!flags.resume) {
    if (!inputs[0].data) inputs.forEach((i) => (i.data = pulledData(i.benchmark)));
    if (inputs.some((i) => !i.model)) throw new UsageError('--model is required, e.g. --model openai:gpt-4o or baseline:always-unsafe');
  }
  if (inputs.length > 1) checkSeveral(inputs, flags);
  const store = await openStore(flags.db);
  const interrupt = onInterrupt('stopping: requests in flight are cancelled and will be asked again on --resume; stored answers are kept');
  try {
    // A name as people type it: a unique prefix, or latest.
    if (flags.resume) flags.resume = await resolveRunName(store, flags.resume);
    if (inputs.length === 1) {
      const progress = createProgressReporter();
      const outcome = await runOne(inputs[0], flags, { store, signal: interrupt.signal, progress: flags.quiet ? undefined : progress });
      if (outcome.summary) show(`${formatSummaryTable(outcome.summary)}\n`);
      if (outcome.summary && flags.out) writeSummary(flags.out, outcome.summary);
      if (outcome.runId && outcome.summary && outcome.exitCode === 0 && outcome.summary.counts.evaluated > 0) {
        say(await nextSteps(store, flags.db, { ids: [outcome.runId], benchmark: outcome.summary.benchmark, protocol: outcome.summary.protocol }));
      }
      process.exitCode = outcome.exitCode || process.exitCode;
      return;
    }
    await runSeveral(inputs, flags, store, interrupt.signal);
  } finally {
    interrupt.dispose();
    await store.close();
  }
}

function writeSummary(file: string, value: unknown): void {
  writeFileAtomic(file, `${JSON.stringify(value, null, 2)}\n`);
  say(`mmsafe: summary written to ${file}\n`);
}

interface Outcome {
  runId?: string;
  summary?: RunSummary;
  exitCode: number;
}

interface RunContext {
  store: Store;
  signal: AbortSignal;
  progress?: { update(p: RunProgress): void; finish(p: RunProgress): void };
  /** Several runs at once: each message names its model. */
  label?: string;
}

/** One model's run, start to summary; the caller prints the summary (one run) or the leaderboard (several). */
async function runOne(input: RunConfigInput, flags: RunFlags, ctx: RunContext): Promise<Outcome> {
  // One line each: a stop reason or a file's problem may carry line breaks from outside.
  const tell = (text: string) => sayLine(`mmsafe: ${ctx.label ? `[${ctx.label}] ` : ''}${text}`);
  const { store, progress } = ctx;
  const result = await evaluate(input, {
    store,
    runId: flags.resume ?? runIdFor(flags.runId, ctx.label),
    resume: Boolean(flags.resume),
    dryRun: flags.dryRun,
    enqueueOnly: flags.enqueue,
    leaseMs: flags.lease !== undefined ? Math.round(flags.lease * 1000) : undefined,
    workerId: flags.workerId,
    preflight: flags.preflight !== false && !flags.enqueue,
    signal: ctx.signal,
    onStart: ({ runId, dataset, pending, resumed, repeats }) => {
      const missing = dataset.problems.filter((p) => p.kind === 'missing_image');
      tell(
        `run ${runId}${resumed ? ' (resumed)' : ''}: ${dataset.samples.length} samples to evaluate${repeats > 1 ? `, ${repeats} answers each` : ''}, ${pending} pending` +
          (missing.length ? `; ${missing.length} left out for a missing image (ids ${abbreviate(missing.map((p) => p.id ?? '?'))})` : ''),
      );
      for (const p of dataset.problems.filter((p) => p.kind !== 'missing_image').slice(0, 20)) tell(`left out ${p.id ?? ''} (${p.where}): ${p.message}`);
    },
    onProgress: progress ? (p) => progress.update(p) : undefined,
  }).catch((error: unknown) => {
    throw withPullHint(error, flags.resume ? undefined : (input.benchmark ?? DEFAULT_BENCHMARK).toLowerCase());
  });
  if (result.estimate) {
    const e = result.estimate;
    show(
      [
        `dry run${ctx.label ? ` of ${ctx.label}` : ''}: ${e.samples} samples (${e.left_out} left out), ${e.distinct_images} distinct images`,
        `requests: ${e.requests} to the model${e.judge_requests ? `, ${e.judge_requests} to the judge` : ''}`,
        `estimated tokens: ${e.input_tokens.toLocaleString('en-US')} in, ${e.output_tokens.toLocaleString('en-US')} out`,
        `estimated cost: ${e.cost_usd === null ? 'unknown (no price for this model: see --prices)' : `$${e.cost_usd.toFixed(2)}`}`,
        'nothing was sent or stored.',
      ].join('\n') + '\n',
    );
    return { exitCode: 0 };
  }
  if (result.enqueued !== undefined) {
    show(
      `run ${result.runId}: ${result.enqueued} samples queued\n` +
        `start workers on any machine with: mmsafe worker --db <the same URL> --runs ${result.runId}\n`,
    );
    return { runId: result.runId, exitCode: 0 };
  }
  progress?.finish(result.progress);

  const summary = await summarizeStoredRun(store, result.runId, bootstrapOf(flags.bootstrap));
  const resume = `mmsafe run --resume ${result.runId} --db ${displayLocation(flags.db)}`;
  let exitCode = 0;
  if (result.stopped) {
    tell(`run stopped: ${result.stopped.reason}`);
    tell(`finish it with: ${resume}`);
    exitCode = result.stopped.fatal ? 1 : result.stopped.budget ? 3 : 130;
  } else if (summary.counts.evaluated === 0 && summary.counts.errors > 0) {
    tell(`every sample failed (${summary.counts.errors}); nothing was measured. Fix the cause above, then: ${resume}`);
    exitCode = 1;
  } else if (summary.counts.errors - (summary.counts.content_policy ?? 0) > 0) {
    // Content-policy blocks are final (resume does not ask them again): only the other errors are worth a retry.
    tell(`${summary.counts.errors - (summary.counts.content_policy ?? 0)} samples ended in an error (not counted as answers); retry them with: ${resume}`);
  }
  return { runId: result.runId, summary, exitCode };
}

function checkSeveral(inputs: RunConfigInput[], flags: RunFlags): void {
  if (flags.resume) throw new UsageError('--resume finishes one run; give it without --model');
  const seen = new Set<string>();
  for (const i of inputs) {
    if (seen.has(i.model)) throw new UsageError(`--model lists ${i.model} twice`);
    seen.add(i.model);
  }
}

const runIdFor = (base: string | undefined, label: string | undefined) => (base && label ? `${base}-${label.replace(/[^A-Za-z0-9._-]+/g, '-')}` : base);

/**
 * Several models on one benchmark: concurrent runs, each with its own limiter and settings, one
 * stored run each, and one leaderboard at the end. The exit code is the most serious of theirs.
 */
async function runSeveral(inputs: RunConfigInput[], flags: RunFlags, store: Store, signal: AbortSignal): Promise<void> {
  const combined = flags.quiet ? undefined : combinedProgress(createProgressReporter(), inputs.length);
  const outcomes = await Promise.all(
    inputs.map((input, i) =>
      runOne(input, flags, { store, signal, label: input.model, progress: combined?.part(i) }).catch((error: unknown) => {
        // One model's bad setting must not take the others' answers down with it.
        sayLine(`mmsafe: [${input.model}] ${error instanceof Error ? error.message : String(error)}`);
        const usage = error instanceof UsageError || error instanceof RunSetupError || error instanceof DatasetError;
        return { exitCode: error instanceof PreflightInterrupted ? 130 : usage ? 2 : 1 } as Outcome;
      }),
    ),
  );
  combined?.finish();
  const done = outcomes.filter((o): o is Outcome & { runId: string; summary: RunSummary } => Boolean(o.runId && o.summary));
  if (done.some((o) => o.summary.counts.evaluated > 0)) {
    const measured = done.filter((o) => o.summary.counts.evaluated > 0).map((o) => o.runId);
    show(`${leaderboardTable(await buildLeaderboard(store, measured, bootstrapOf(flags.bootstrap)))}\n`);
    say(await nextSteps(store, flags.db, { ids: measured, benchmark: done[0].summary.benchmark, protocol: done[0].summary.protocol }));
  }
  if (flags.out && done.length) writeSummary(flags.out, done.map((o) => o.summary));
  process.exitCode = worstExit(outcomes.map((o) => o.exitCode)) || process.exitCode;
}

/** Fatal and usage errors before a spent budget before an interrupt before success. */
function worstExit(codes: number[]): number {
  for (const c of [1, 2, 3, 130]) if (codes.includes(c)) return c;
  return 0;
}

/** One progress line summed over concurrent runs. */
function combinedProgress(reporter: ReturnType<typeof createProgressReporter>, parts: number) {
  const latest: (RunProgress | undefined)[] = new Array(parts).fill(undefined);
  const sum = (): RunProgress | undefined => {
    const ps = latest.filter((p): p is RunProgress => Boolean(p));
    if (!ps.length) return undefined;
    const add = (k: 'total' | 'done' | 'skipped' | 'errors' | 'retries' | 'rateLimits' | 'inFlight' | 'concurrency') => ps.reduce((a, p) => a + p[k], 0);
    const costs = ps.map((p) => p.costUsd);
    return {
      total: add('total'), done: add('done'), skipped: add('skipped'), errors: add('errors'), retries: add('retries'),
      rateLimits: add('rateLimits'), inFlight: add('inFlight'), concurrency: add('concurrency'),
      startedAt: Math.min(...ps.map((p) => p.startedAt)),
      costUsd: costs.every((c) => c !== undefined) ? costs.reduce((a, c) => a + c!, 0) : undefined,
    };
  };
  return {
    part: (i: number) => ({
      update(p: RunProgress) {
        latest[i] = { ...p };
        const s = sum();
        if (s) reporter.update(s);
      },
      finish(p: RunProgress) {
        latest[i] = { ...p };
      },
    }),
    finish() {
      const s = sum();
      if (s) reporter.finish(s);
    },
  };
}

function toConfig(flags: RunFlags): RunConfigInput {
  const config: Partial<RunConfigInput> = {
    benchmark: flags.benchmark,
    data: flags.data ? path.resolve(flags.data) : undefined,
    model: flags.model,
    ...endpointOptions(flags),
    shard: flags.shard ? shardOption(flags.shard) : undefined,
    concurrency: flags.concurrency,
    limit: flags.limit,
    sample: flags.sample,
    samples: flags.samples,
    ids: flags.ids !== undefined ? idsOption(flags.ids) : undefined,
    subset: flags.subset,
    protocol: flags.protocol,
    judge: flags.judge,
    judgeBaseURL: flags.judgeBaseUrl,
    judgePrompts: flags.judgePrompts ? path.resolve(flags.judgePrompts) : undefined,
    images: flags.images ? path.resolve(flags.images) : undefined,
    extraction: flags.extraction as RunConfigInput['extraction'],
    maxTokens: flags.maxTokens,
    temperature: flags.temperature,
    seed: flags.seed,
    system: flags.system,
    timeoutMs: flags.timeout !== undefined ? Math.round(flags.timeout * 1000) : undefined,
    maxAttempts: flags.maxAttempts,
    providerOptions: flags.providerOption,
    maxCost: flags.maxCost,
    imageMaxSide: flags.imageMaxSide,
    method: flags.method,
    methodOptions: methodOptions(flags),
    ablation: flags.ablation,
    captioner: flags.captioner,
    captionerBaseURL: flags.captionerBaseUrl,
    split: flags.split ? splitOption(flags.split, flags.methodSeed) : undefined,
    imageMaxBytes: flags.imageMaxBytes,
    prices: flags.prices ? path.resolve(flags.prices) : undefined,
    cache: flags.cache,
  };
  // Drop unset keys so the schema's defaults (and, on resume, the stored settings) apply.
  return Object.fromEntries(Object.entries(config).filter(([, v]) => v !== undefined)) as RunConfigInput;
}

function methodOptions(flags: RunFlags) {
  const o = { alpha: flags.alpha, beta: flags.beta, noiseStep: flags.noiseStep, seed: flags.methodSeed, shots: flags.shots ? path.resolve(flags.shots) : undefined, prompts: flags.methodPrompts ? path.resolve(flags.methodPrompts) : undefined };
  const set = Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined));
  return Object.keys(set).length ? (set as RunConfigInput['methodOptions']) : undefined;
}

function endpointOptions(flags: RunFlags): Partial<RunConfigInput> {
  let list: { url: string; limit?: number }[] | undefined;
  try {
    if (flags.endpoints) list = parseEndpoints(readFileSync(flags.endpoints, 'utf8'));
    else if (flags.baseUrl?.includes(',')) list = parseEndpoints(flags.baseUrl);
  } catch (error) {
    throw new UsageError(`${flags.endpoints ?? '--base-url'}: ${(error as Error).message}`);
  }
  if (list && list.length === 0) throw new UsageError('no endpoints given');
  return list ? { endpoints: list } : flags.baseUrl ? { baseURL: flags.baseUrl } : {};
}

function idsOption(spec: string): string[] {
  const ids = parseIdList(existsSync(spec) && statSync(spec).isFile() ? readFileSync(spec, 'utf8') : spec);
  if (!ids.length) throw new UsageError(`--ids ${spec}: no ids in it`);
  return ids;
}

function shardOption(spec: string) {
  const m = /^(\d+)\/(\d+)$/.exec(spec);
  if (!m || Number(m[2]) < 1 || Number(m[1]) >= Number(m[2])) throw new UsageError(`--shard "${spec}": expected i/N with 0 <= i < N, e.g. 0/4`);
  return { index: Number(m[1]), count: Number(m[2]) };
}

function splitOption(spec: string, seed?: number) {
  try {
    return { ...parseSplit(spec), seed: seed ?? 0 };
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

/** A --data folder that is not the benchmark's data: say how to get the data. */
function withPullHint(error: unknown, benchmark: string | undefined): unknown {
  if (!(error instanceof DatasetError) || !benchmark || !benchmarkNames({ pullable: true }).includes(benchmark) || !/not found|no such file|ENOENT/i.test(error.message)) return error;
  // Loaders may name the command already; say it once, with what it prints.
  return new DatasetError(`${error.message.replace(` (mmsafe data pull ${benchmark})`, '')}; to download it: mmsafe data pull ${benchmark} (prints the path to give --data)`);
}

/** Without --data: the folder `mmsafe data pull` put the benchmark in, else how to get it. */
function pulledData(benchmark: string | undefined): string {
  const name = (benchmark ?? DEFAULT_BENCHMARK).toLowerCase();
  const pulled = path.join(defaultDataDir(), name);
  if (benchmarkNames({ pullable: true }).includes(name) && existsSync(pulled)) {
    say(`mmsafe: --data ${pulled} (where mmsafe data pull put ${name})\n`);
    return pulled;
  }
  const pull = benchmarkNames({ pullable: true }).includes(name) ? `; mmsafe data pull ${name} downloads it (then --data is optional)` : '';
  throw new UsageError(`--data is required (the benchmark's folder)${pull}, or --resume NAME`);
}

function abbreviate(ids: string[], max = 12): string {
  return ids.length <= max ? ids.join(', ') : `${ids.slice(0, max).join(', ')}, ... (+${ids.length - max})`;
}
