import type { ProtocolName, ProtocolSpec } from '../benchmarks/types.ts';
import { extractorOf, type ExtractionMode } from '../scoring/awareness.ts';
import type { ResultRow } from '../core/types.ts';
import { breakdownsObject, evaluateMetrics, metricsObject } from './declared.ts';
import type { Proportion } from './stats.ts';
import { byItem, flipRate, headlineRows, repeatsSummary, type RepeatsSummary } from './repeats.ts';

/** A metric as stored: a proportion (n, correct, accuracy, ci95) or a bare rate or mean. */
export type StoredMetric = Proportion | number;

export type StoredBreakdown = Record<string, Proportion | Record<string, Proportion>>;

/** The public summary of one run's rows: counts, the declared metrics and breakdowns. */
export interface MetricsSummary {
  benchmark: string;
  protocol: ProtocolName;
  model: string;
  /** Yes/no protocols: the extraction rule the answers were scored with. */
  extraction?: ExtractionMode;
  /** Judged protocols: the judge model. */
  judge?: string;
  ci_method: 'wilson';
  run_id?: string;
  counts: Record<string, number>;
  metrics: Record<string, StoredMetric>;
  /** `--samples K` (K > 1): each repeat's metrics and their spread; absent for one answer per item. */
  repeats?: RepeatsSummary;
  [breakdown: `by_${string}`]: StoredBreakdown;
}

export interface SummaryInfo {
  benchmark: string;
  protocol: ProtocolName;
  model: string;
  extraction?: ExtractionMode;
  judge?: string;
  /** Items in the dataset selection, evaluated or not. */
  samples: number;
  missingImage: number;
  /** Rows left out of the dataset for other reasons (missing field, unreadable image). */
  invalid: number;
  runId?: string;
  /** `--samples K`: answers per item (absent: 1). */
  repeats?: number;
}

function countsOf(rows: ResultRow[], spec: ProtocolSpec, info: SummaryInfo): Record<string, number> {
  const answered = rows.filter((r) => r.status === 'ok');
  const errors = rows.filter((r) => r.status === 'error');
  const contentPolicy = errors.filter((r) => r.errorKind === 'content_policy').length;
  if (spec.scorer.kind === 'judge') {
    const judgeErrors = answered.filter((r) => r.prediction === 'judge_error').length;
    return {
      samples: info.samples,
      evaluated: answered.length,
      judged: answered.length - judgeErrors,
      missing_image: info.missingImage,
      invalid: info.invalid,
      errors: errors.length,
      judge_errors: judgeErrors,
      content_policy: contentPolicy,
      ...refusalReadings(answered),
    };
  }
  return {
    samples: info.samples,
    evaluated: answered.length,
    missing_image: info.missingImage,
    errors: errors.length,
    unparsed: answered.filter((r) => r.prediction === 'unparsed').length,
    content_policy: contentPolicy,
    ...extractedBy(answered, info.extraction),
  };
}

/**
 * Where the judge gives its own refusal reading: on the answers read both ways, how many each
 * reading calls a refusal and on how many the two agree. Absent when the rubric gives none.
 */
function refusalReadings(answered: ResultRow[]): Record<string, number> {
  const both = answered.filter((r) => typeof r.details?.judge_refusal === 'boolean' && typeof r.details?.refusal === 'boolean');
  if (!both.length) return {};
  return {
    refusal_readings: both.length,
    refused_by_rule: both.filter((r) => r.details!.refusal === true).length,
    refused_by_judge: both.filter((r) => r.details!.judge_refusal === true).length,
    refusal_readings_agree: both.filter((r) => r.details!.refusal === r.details!.judge_refusal).length,
  };
}

/** `--extraction judge:provider:model`: how many answers the rule read, and how many the extractor model read for it. */
function extractedBy(answered: ResultRow[], extraction: ExtractionMode | undefined): Record<string, number> {
  if (!extractorOf(extraction)) return {};
  const by = (who: string) => answered.filter((r) => r.details?.extracted_by === who).length;
  return { extracted_by_rule: by('rule'), extracted_by_judge: by('judge') };
}

/**
 * A run's summary from its stored rows and its protocol's declared metrics. Errored rows are
 * counted but never scored (an API failure says nothing about the model's safety); judge errors
 * are counted apart and never taken as either verdict; unparsed answers are scored wrong.
 */
export function summarize(rows: ResultRow[], spec: ProtocolSpec, info: SummaryInfo): MetricsSummary {
  return (info.repeats ?? 1) > 1 ? summarizeRepeats(rows, spec, info) : summarizeRows(rows, spec, info);
}

/**
 * `--samples K`: the summary of the items' majority verdicts (or of every answer, where the
 * benchmark declares `mean`), with `counts.answers`, `metrics.flip_rate` and the `repeats` block.
 */
function summarizeRepeats(rows: ResultRow[], spec: ProtocolSpec, info: SummaryInfo): MetricsSummary {
  const items = byItem(rows);
  const summary = summarizeRows(headlineRows(items, spec.metrics), spec, info);
  return {
    ...summary,
    counts: { ...summary.counts, answers: rows.length },
    metrics: { ...summary.metrics, flip_rate: flipRate(items) },
    repeats: repeatsSummary(rows, spec.metrics, info.repeats!),
  };
}

function summarizeRows(rows: ResultRow[], spec: ProtocolSpec, info: SummaryInfo): MetricsSummary {
  const scorer = spec.scorer.kind;
  return {
    benchmark: info.benchmark,
    protocol: info.protocol,
    model: info.model,
    ...(scorer === 'extraction' ? { extraction: info.extraction ?? spec.scorer.defaultMode } : {}),
    ...(scorer === 'judge' && info.judge ? { judge: info.judge } : {}),
    ci_method: 'wilson',
    ...(info.runId ? { run_id: info.runId } : {}),
    counts: countsOf(rows, spec, info),
    metrics: metricsObject(evaluateMetrics(rows, spec.metrics)),
    ...breakdownsObject(rows, spec.metrics),
  };
}
