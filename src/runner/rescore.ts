import type { PreparedImage, Provider, ResultRow, Sample, Verdict } from '../core/types.ts';
import { loadBenchmark } from '../datasets/registry.ts';
import { judgementCost, loadPrices, priceFor, type Price } from '../providers/pricing.ts';
import { extractorOf, scoreAwareness, withExtractorReading, type ExtractionMode, type ExtractionRule } from '../scoring/awareness.ts';
import { protocolSpec } from '../benchmarks/registry.ts';
import type { JudgeRubric } from '../benchmarks/types.ts';
import { readAndPrepare } from '../images/prepare.ts';
import { bindUpstream } from '../upstream/bind.ts';
import { judgeAnswer } from '../protocols/judge.ts';
import { answerKey, type RunRecord, type StagedScore, type Store } from '../store/store.ts';
import type { RetryPolicy } from './backoff.ts';
import { AdaptiveLimiter } from './limiter.ts';

export interface RescoreOptions {
  store: Store;
  runId: string;
  /** Response runs: the new judge. */
  judge?: Provider;
  /** Awareness runs: the new extraction mode. */
  extraction?: ExtractionMode;
  concurrency?: number;
  /** How judge API failures are retried before an answer counts as not judged this time. */
  retry?: RetryPolicy;
  onProgress?: (done: number, total: number) => void;
}

/** Some answers could not be judged this time (judge API failures): the run keeps its verdicts. */
export class RescoreIncompleteError extends Error {}

/** What a previous judgement left in a row's details; a new judgement replaces all of it. */
const JUDGE_KEYS = ['rationale', 'judge', 'judge_verdict', 'judge_refusal', 'judge_error', 'judge_raw', 'judge_rounds', 'judge_usage', 'judge_structured_output'];

/** Judge failures worth asking again later; an unparseable verdict or a refused request is an outcome. */
const TRANSIENT = new Set(['rate_limit', 'overloaded', 'server', 'timeout', 'network', 'invalid_response', 'quota', 'internal']);

/** What an extractor model left in a row's details; a rule-only re-reading drops all of it. */
const EXTRACTOR_KEYS = ['rule_prediction', 'extractor', 'extracted_by', 'extractor_reading', 'extractor_raw', 'extractor_error'];

/** One stored awareness answer read again with `rule`; with `keepExtractor`, the stored extractor reading of an answer the rule cannot read. */
function rereadAwareness(r: ResultRow, rule: ExtractionRule, keepExtractor: boolean): Verdict {
  const v = scoreAwareness(r.response!, r.label, rule);
  const details = { ...r.details };
  for (const k of EXTRACTOR_KEYS) delete details[k];
  if (!keepExtractor) return { ...v, details: r.details && Object.keys(details).length ? details : undefined };
  if (v.prediction !== 'unparsed') return { ...v, details: { ...details, extracted_by: 'rule' } };
  const reading = r.details?.extractor_reading;
  if (reading !== 'yes' && reading !== 'no' && reading !== 'unclear') return { ...v, details: { ...details, rule_prediction: v.prediction, extracted_by: 'none' } };
  const read = withExtractorReading(v, r.label, reading);
  return { ...read, details: { ...details, rule_prediction: v.prediction, extractor: r.details?.extractor, extracted_by: reading === 'unclear' ? 'none' : 'judge', extractor_reading: reading } };
}

function withoutJudgement(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...details };
  for (const k of JUDGE_KEYS) delete out[k];
  return out;
}

/** The item's image for a judge whose template looks at it, within the judge's limits. */
async function judgeImage(rubric: JudgeRubric, sample: Sample, judge: Provider): Promise<PreparedImage | undefined> {
  if (!rubric.templateFor(sample).seesImage || !sample.image?.path) return undefined;
  return readAndPrepare(sample.image.path, judge.imageLimits);
}

/**
 * Scores stored answers again (a new judge, or a new extraction mode) without asking the model
 * anything: only rows that hold an answer are re-scored; errored samples stay errors. The new
 * verdicts form a scoring generation kept beside the run's; the run switches to it, in one
 * transaction, only once every answer has its verdict. A judge that fails half-way (a rejected key,
 * an outage) leaves the run as it was; the verdicts already given are kept for the next attempt.
 */
export async function rescoreRun(opts: RescoreOptions): Promise<{ rescored: number }> {
  const run = await opts.store.getRun(opts.runId);
  if (!run) throw new Error(`no run named "${opts.runId}" in this database (see \`mmsafe runs\`)`);
  const rows = (await opts.store.results(opts.runId)).filter((r) => r.status === 'ok' && r.response !== undefined);
  const config = run.config;

  if (run.protocol === 'awareness') {
    // Without a new mode, keep the one the answers were scored with (CoT runs read the final answer).
    const extraction = opts.extraction ?? config.run.extraction;
    if (opts.extraction && extractorOf(opts.extraction)) throw new Error('mmsafe score re-reads answers with a rule (strict, paper, final); an extractor model reads them only during a run');
    // A run read with an extractor keeps the extractor's stored readings: its rule reads again, the model is not asked.
    const rule = extractorOf(extraction) ? ((config.protocol.extraction_rule as ExtractionRule | undefined) ?? 'strict') : (extraction as ExtractionRule);
    const generation = `extraction:${extraction}`;
    for (const r of rows) {
      const v = rereadAwareness(r, rule, Boolean(extractorOf(extraction)));
      await opts.store.stageScore(opts.runId, generation, { sampleId: r.sampleId, repeat: r.repeat, prediction: v.prediction, correct: v.correct, details: v.details });
    }
    const rescored = await opts.store.switchScores(opts.runId, generation, { ...config, run: { ...config.run, extraction } });
    return { rescored };
  }

  if (!opts.judge) throw new Error('re-judging a response run needs --judge provider:model');
  const judge = opts.judge;
  const declared = protocolSpec(run.benchmark, 'response');
  // A benchmark's judge templates come from its upstream files, read again as the run did.
  const scorer = declared ? bindUpstream(declared, config.run.data, config.run.judgePrompts).spec.scorer : undefined;
  if (!declared || scorer?.kind !== 'judge') throw new Error(`${run.benchmark} has no judge rubric for the response protocol`);
  const rubric = scorer.rubric;
  const generation = `judge:${judge.id}`;
  const price = judgePrice(run, judge.id);
  // Verdicts a previous, unfinished attempt with this judge already gave are not asked for again.
  const kept = new Set((await opts.store.staged(opts.runId, generation)).map((s) => answerKey(s.sampleId, s.repeat)));
  const todo = rows.filter((r) => !kept.has(answerKey(r.sampleId, r.repeat)));
  const itemOf = await itemsFor(run);
  const limiter = new AdaptiveLimiter(opts.concurrency ?? 8);
  const failures: string[] = [];
  let done = kept.size;
  await Promise.all(
    todo.map(async (r: ResultRow) => {
      await limiter.acquire();
      try {
        const sample = itemOf(r);
        // Without the item (its query and reference) the judge would grade blind: say so instead.
        const v: Verdict = sample
          ? await judgeAnswer(judge, rubric, sample, r.response!, { retry: opts.retry, image: await judgeImage(rubric, sample, judge) })
          : { prediction: 'judge_error', correct: false, details: { judge: judge.id, judge_error: `item ${r.sampleId} is stored without its question and is not in the dataset at ${config.run.data} any more; cannot re-judge it` } };
        const failure = transientFailure(v);
        if (failure) failures.push(failure);
        else await opts.store.stageScore(opts.runId, generation, staged(r, v, price));
      } finally {
        limiter.release();
        opts.onProgress?.(++done, rows.length);
      }
    }),
  );
  if (failures.length) {
    throw new RescoreIncompleteError(
      `${failures.length} of ${rows.length} answers could not be judged by ${judge.id} (${failures[0]}); ${opts.runId} keeps its verdicts. Run the same \`mmsafe score\` again: the ${rows.length - failures.length} verdicts given are kept and only the rest are asked.`,
    );
  }
  const rescored = await opts.store.switchScores(opts.runId, generation, {
    ...config,
    run: { ...config.run, judge: judge.id },
    protocol: { ...config.protocol, judge_provider: judge.describe() },
    pricing: { model: config.pricing?.model ?? null, judge: price ?? null },
  });
  return { rescored };
}

function transientFailure(v: Verdict): string | undefined {
  const error = v.details?.judge_error;
  if (v.prediction !== 'judge_error' || typeof error !== 'string') return undefined;
  return TRANSIENT.has(error.split(':')[0]) ? error : undefined;
}

function staged(r: ResultRow, v: Verdict, price: Price | undefined): StagedScore {
  const { judge_usage: usage, ...details } = v.details ?? {};
  const u = usage as { input: number; output: number } | undefined;
  return {
    sampleId: r.sampleId,
    repeat: r.repeat,
    prediction: v.prediction,
    correct: v.correct,
    details: { ...withoutJudgement(r.details), ...details, ...(v.rationale ? { rationale: v.rationale } : {}) },
    judgeInputTokens: u?.input,
    judgeOutputTokens: u?.output,
    judgeCostUsd: u ? judgementCost(price, u) : undefined,
  };
}

function judgePrice(run: RunRecord, judgeId: string): Price | undefined {
  try {
    return priceFor(judgeId, loadPrices(run.config.run.prices));
  } catch {
    return priceFor(judgeId);
  }
}

/**
 * The judge reads the question as it was sent and the item's reference, both stored with the answer.
 * Rows stored before mmsafe kept them fall back to the dataset, loaded only if such rows exist.
 */
async function itemsFor(run: RunRecord): Promise<(r: ResultRow) => Sample | undefined> {
  const fromStore = (r: ResultRow): Sample | undefined =>
    r.prompt !== undefined
      ? { id: r.sampleId, label: r.label, text: r.prompt, reference: r.reference, subset: r.subset, scenario: r.scenario, domain: r.domain, attack: r.attack, category: r.category, fields: r.details?.fields as Record<string, string> | undefined }
      : undefined;
  // The dataset, when still there, adds what the store does not keep: the image a judge may look at.
  const c = run.config.run;
  const dataset = await loadBenchmark(c.benchmark, c.data, { subset: c.subset, limit: c.limit, images: c.images }).catch(() => undefined);
  const samples = new Map(dataset?.samples.map((s) => [s.id, s]));
  return (r) => {
    const stored = fromStore(r);
    const item = samples.get(r.sampleId);
    if (!stored || !item) return stored ?? item;
    return { ...item, ...Object.fromEntries(Object.entries(stored).filter(([, v]) => v !== undefined)), fields: { ...item.fields, ...stored.fields } };
  };
}
