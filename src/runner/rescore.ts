import type { Provider, ResultRow, Sample } from '../core/types.ts';
import { loadBenchmark } from '../datasets/registry.ts';
import { scoreAwareness, type ExtractionMode } from '../scoring/awareness.ts';
import { judgeAnswer } from '../scoring/judge.ts';
import type { Store } from '../store/store.ts';
import { RunConfigSchema } from './config.ts';
import { AdaptiveLimiter } from './limiter.ts';

export interface RescoreOptions {
  store: Store;
  runId: string;
  /** Response runs: the new judge. */
  judge?: Provider;
  /** Awareness runs: the new extraction mode. */
  extraction?: ExtractionMode;
  concurrency?: number;
  onProgress?: (done: number, total: number) => void;
}

/** What a previous judgement left in a row's details; a new judgement replaces all of it. */
const JUDGE_KEYS = ['rationale', 'judge', 'judge_verdict', 'judge_error', 'judge_raw', 'judge_rounds', 'judge_usage', 'judge_structured_output'];

function withoutJudgement(details: Record<string, unknown> | undefined): Record<string, unknown> {
  const out = { ...details };
  for (const k of JUDGE_KEYS) delete out[k];
  return out;
}

/**
 * Judges stored answers again (a new judge, or a new extraction mode) without asking the model
 * anything: only rows that hold an answer are re-scored; errored samples stay errors.
 */
export async function rescoreRun(opts: RescoreOptions): Promise<{ rescored: number }> {
  const run = await opts.store.getRun(opts.runId);
  if (!run) throw new Error(`no run named "${opts.runId}" in this database (see \`mmsafe runs\`)`);
  const config = RunConfigSchema.parse(run.config.run ?? {});
  const rows = (await opts.store.results(opts.runId)).filter((r) => r.status === 'ok' && r.response !== undefined);

  if (run.protocol === 'awareness') {
    // Without a new mode, keep the one the answers were scored with (CoT runs read the final answer,
    // whatever the run's --extraction flag said).
    const used = (run.config.protocol as { extraction?: ExtractionMode } | undefined)?.extraction;
    const extraction = opts.extraction ?? used ?? config.extraction;
    for (const r of rows) {
      const v = scoreAwareness(r.response!, r.label, extraction);
      await opts.store.putResult({ ...r, prediction: v.prediction, correct: v.correct });
    }
    await opts.store.updateRun(opts.runId, { config: { ...run.config, run: { ...config, extraction }, protocol: { ...(run.config.protocol as Record<string, unknown> | undefined), extraction } } });
    return { rescored: rows.length };
  }

  if (!opts.judge) throw new Error('re-judging a response run needs --judge provider:model');
  const judge = opts.judge;
  // The judge needs each item's reference warning, which lives in the dataset, not the store.
  const dataset = await loadBenchmark(config.benchmark, config.data, { subset: config.subset, limit: config.limit, images: config.images });
  const samples = new Map<string, Sample>(dataset.samples.map((s) => [s.id, s]));
  const limiter = new AdaptiveLimiter(opts.concurrency ?? 8);
  let done = 0;
  await Promise.all(
    rows.map(async (r: ResultRow) => {
      const sample = samples.get(r.sampleId);
      await limiter.acquire();
      try {
        // Without the item (its query and reference) the judge would grade blind: say so instead.
        const v = sample
          ? await judgeAnswer(judge, sample, r.response!)
          : { prediction: 'judge_error' as const, correct: false, rationale: undefined, details: { judge: judge.id, judge_error: `item ${r.sampleId} is not in the dataset at ${config.data} any more; cannot re-judge it` } };
        const details = { ...withoutJudgement(r.details), ...v.details, ...(v.rationale ? { rationale: v.rationale } : {}) };
        await opts.store.putResult({ ...r, prediction: v.prediction, correct: v.correct, details });
      } finally {
        limiter.release();
        opts.onProgress?.(++done, rows.length);
      }
    }),
  );
  const protocol = { ...(run.config.protocol as Record<string, unknown>), judge: judge.id, judge_provider: judge.describe() };
  await opts.store.updateRun(opts.runId, { config: { ...run.config, protocol, run: { ...config, judge: judge.id } } });
  return { rescored: rows.length };
}
