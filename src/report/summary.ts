import { findBenchmark, protocolSpec } from '../benchmarks/registry.ts';
import type { TemplateSource } from '../upstream/template.ts';
import type { ProtocolName } from '../benchmarks/types.ts';
import type { DatasetProblem, ResultRow } from '../core/types.ts';
import type { BootstrapOptions } from '../metrics/bootstrap.ts';
import type { MetricValue } from '../metrics/declared.ts';
import { repeatsBuilder, SummaryBuilder, type MetricsSummary, type SummaryInfo } from '../metrics/summary.ts';
import { UsageTally, type UsageSummary } from '../metrics/usage.ts';
import { judgeRubricOf, type JudgeRubricInfo } from './rubric.ts';
import type { RunRecord, Store } from '../store/store.ts';
import { repeatsOf } from '../runner/config.ts';
import { scoredRows } from '../metrics/repeats.ts';

/** Errored samples by kind, with one stored message as an example of each. */
export type ErrorsByKind = Record<string, { count: number; example: string }>;

/** Which of the benchmark's subsets a partial run (--subset, --limit, --sample, --ids) has answers in. */
export interface Coverage {
  subsets: string[];
  missing_subsets: string[];
}

export type RunSummary = MetricsSummary & { judge_rubric?: JudgeRubricInfo; templates?: TemplateSource[]; missing_image_ids?: string[]; usage?: UsageSummary; endpoints?: unknown[]; errors_by_kind?: ErrorsByKind; coverage?: Coverage };

export class UnknownRunError extends Error {}

function problemsOf(run: RunRecord) {
  const problems: DatasetProblem[] = run.config.problems;
  const missing = problems.filter((p) => p.kind === 'missing_image').map((p) => p.id ?? p.where);
  return { missing, invalid: problems.length - missing.length };
}

/** The public summary JSON of a stored run, computed from its rows (never from memory). */
export async function summarizeStoredRun(store: Store, runId: string, bootstrap?: BootstrapOptions): Promise<RunSummary> {
  return (await summarizeRun(store, runId, bootstrap)).summary;
}

/** A stored run's summary and its metric values (with n, intervals and parts, for leaderboards). */
export async function summarizeRun(store: Store, runId: string, bootstrap?: BootstrapOptions): Promise<{ summary: RunSummary; values: MetricValue[] }> {
  const run = await store.getRun(runId);
  if (!run) throw new UnknownRunError(`no run named "${runId}" in this database (see \`mmsafe runs\`)`);
  const spec = protocolSpec(run.benchmark, run.protocol as ProtocolName);
  if (!spec) throw new UnknownRunError(`run ${runId} uses the ${run.protocol} protocol, which no benchmark of this version defines`);
  const { missing, invalid } = problemsOf(run);
  const settings = run.config.run;
  const judgeId = spec.scorer.kind === 'judge' ? settings.judge : undefined;
  const info: SummaryInfo = {
    benchmark: run.benchmark,
    protocol: run.protocol as ProtocolName,
    model: run.model,
    extraction: settings.extraction,
    judge: judgeId,
    samples: run.total,
    missingImage: missing.length,
    invalid,
    runId,
    ...(repeatsOf(settings) > 1 ? { repeats: repeatsOf(settings) } : {}),
    bootstrap,
  };
  const facts = new RunFacts();
  // Streamed from the store a page at a time, without the answer texts: a run of any size is
  // summarised in the memory of its tallies, never of its rows.
  const rows = store.scanResults(runId, { slim: true });
  // --samples K votes over each item's answers, which the scan gives together (by item, then repeat).
  const builder = (info.repeats ?? 1) > 1 ? repeatsBuilder(spec, info) : new SummaryBuilder(spec, info);
  for await (const r of rows) builder.add(facts.add(r));
  const result = builder.finish();
  const pricing = run.config.pricing;
  const usage = facts.usage.summary({
    model: pricing ? pricing.model !== null : facts.usage.everyCosted,
    ...(judgeId ? { judge: pricing ? pricing.judge !== null && pricing.judge !== undefined : facts.usage.everyJudgeCosted } : {}),
  });
  // Where the benchmark's prompt and judge templates came from (upstream file at a commit, --judge-prompts, or mmsafe's fallback).
  const protocolSettings = run.config.protocol as { templates?: TemplateSource[]; rubric?: unknown; judge_prompts?: { file?: string; sha256?: string } };
  const templates = protocolSettings.templates;
  // Every judged run names its rubric: mmsafe's own wording, a --judge-prompts file, or the upstream files.
  const rubric = spec.scorer.kind === 'judge' ? judgeRubricOf({ rubric: protocolSettings.rubric ?? spec.scorer.rubric.id, templates, judgePromptsFile: settings.judgePrompts, judgePrompts: protocolSettings.judge_prompts }) : undefined;
  return { summary: { ...result.summary, ...(templates ? { templates } : {}), missing_image_ids: missing, usage, ...endpointsOf(run), ...facts.errors(), ...facts.coverage(run.benchmark), ...(rubric ? { judge_rubric: rubric } : {}) }, values: result.values };
}

/** What a summary says beside the metrics, tallied one row at a time: usage, errors by kind, subsets answered. */
class RunFacts {
  readonly usage = new UsageTally();
  private readonly byKind: ErrorsByKind = {};
  private readonly answered = new Set<string>();

  add(r: ResultRow): ResultRow {
    this.usage.add(r);
    if (r.status === 'ok' && r.subset) this.answered.add(r.subset);
    if (r.status === 'error') {
      const kind = r.errorKind ?? 'internal';
      this.byKind[kind] ??= { count: 0, example: r.errorMessage ?? '' };
      this.byKind[kind].count++;
    }
    return r;
  }

  /**
   * A count of errors says that a run failed, not why: a server that is down, a rejected image and
   * a content filter need different fixes. Absent when nothing failed, so clean summaries stay as they were.
   */
  errors(): { errors_by_kind?: ErrorsByKind } {
    return Object.keys(this.byKind).length ? { errors_by_kind: this.byKind } : {};
  }

  /** Present only when some subset of the benchmark has no answer: a mean over subsets cannot be computed then. */
  coverage(benchmark: string): { coverage?: Coverage } {
    const known = findBenchmark(benchmark)?.subsets;
    if (!known) return {};
    const missing = known.filter((s) => !this.answered.has(s));
    return missing.length ? { coverage: { subsets: known.filter((s) => this.answered.has(s)), missing_subsets: missing } } : {};
  }
}

/**
 * A run's rows as its metrics read them: every answer, or with `--samples K` one row per item (the
 * majority of its answers, as the summary scores them). Pages and comparisons that pair items use these.
 */
export async function scoredResults(store: Store, runId: string): Promise<ResultRow[]> {
  const run = await store.getRun(runId);
  const rows = await store.results(runId);
  const spec = run && protocolSpec(run.benchmark, run.protocol as ProtocolName);
  return run && spec ? scoredRows(rows, spec.metrics, repeatsOf(run.config.run)) : rows;
}

const endpointsOf = (run: RunRecord) => (run.config.endpoint_stats ? { endpoints: run.config.endpoint_stats } : {});

/** The summary of a run known to use the awareness protocol. */
export async function summarizeAwarenessRun(store: Store, runId: string): Promise<RunSummary> {
  const s = await summarizeStoredRun(store, runId);
  if (s.protocol !== 'awareness') throw new Error(`run ${runId} uses the ${s.protocol} protocol, not awareness`);
  return s;
}
