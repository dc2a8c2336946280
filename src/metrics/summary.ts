import type { Better, ProtocolName, ProtocolSpec } from '../benchmarks/types.ts';
import { extractorOf, type ExtractionMode } from '../scoring/awareness.ts';
import type { ResultRow } from '../core/types.ts';
import { countedRow, isBlocked } from './blocks.ts';
import type { BootstrapOptions } from './bootstrap.ts';
import { aggregateIntervals, directionsObject, MetricTally, metricsObject, type BootstrapInfo, type CiMethod, type MetricValue } from './declared.ts';
import type { Interval, Proportion } from './stats.ts';
import { byItem, RepeatsTally, type RepeatsSummary } from './repeats.ts';

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
  /** How `ci95` was computed; with the cluster bootstrap, proportions keep Wilson as `ci95_wilson`. */
  ci_method: CiMethod;
  /** The bootstrap's replicates, seed, cluster key and clusters (absent with `--bootstrap 0`). */
  bootstrap?: BootstrapInfo;
  run_id?: string;
  counts: Record<string, number>;
  metrics: Record<string, StoredMetric>;
  /** Per metric (and per breakdown of one proportion): whether higher or lower is better. */
  better: Record<string, Better>;
  /** `--samples K` (K > 1): each repeat's metrics and their spread; absent for one answer per item. */
  repeats?: RepeatsSummary;
  /** The 95% intervals of the metrics `metrics` keeps as bare numbers (Total, balanced accuracy, rates). */
  aggregate_ci95: Record<string, Interval>;
  /** Blocked requests and answers: how they were counted, and the same metrics with them left out. */
  blocks?: { count: number; counted_as: string; metrics_without_blocks: Record<string, StoredMetric>; aggregate_ci95_without_blocks: Record<string, Interval> };
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
  /** Bootstrap replicates and seed; `replicates: 0` gives Wilson intervals only. */
  bootstrap?: BootstrapOptions;
}

/** The counts of a run's rows, tallied one row at a time. */
class Counts {
  evaluated = 0;
  errors = 0;
  contentPolicy = 0;
  judgeErrors = 0;
  unparsed = 0;
  /** Answers with both refusal readings (the rule's and the judge's): read, by rule, by judge, agreeing. */
  readings = { both: 0, rule: 0, judge: 0, agree: 0 };
  extractedBy = { rule: 0, judge: 0 };

  add(r: ResultRow): void {
    if (r.status === 'ok') {
      this.evaluated++;
      if (r.prediction === 'judge_error') this.judgeErrors++;
      if (r.prediction === 'unparsed') this.unparsed++;
      const d = r.details;
      if (typeof d?.judge_refusal === 'boolean' && typeof d.refusal === 'boolean') {
        this.readings.both++;
        if (d.refusal) this.readings.rule++;
        if (d.judge_refusal) this.readings.judge++;
        if (d.refusal === d.judge_refusal) this.readings.agree++;
      }
      if (d?.extracted_by === 'rule') this.extractedBy.rule++;
      if (d?.extracted_by === 'judge') this.extractedBy.judge++;
    } else if (r.status === 'error') {
      this.errors++;
      if (r.errorKind === 'content_policy') this.contentPolicy++;
    }
  }

  object(spec: ProtocolSpec, info: SummaryInfo): Record<string, number> {
    if (spec.scorer.kind === 'judge') {
      return {
        samples: info.samples,
        evaluated: this.evaluated,
        judged: this.evaluated - this.judgeErrors,
        missing_image: info.missingImage,
        invalid: info.invalid,
        errors: this.errors,
        judge_errors: this.judgeErrors,
        content_policy: this.contentPolicy,
        ...this.refusalReadings(),
      };
    }
    return {
      samples: info.samples,
      evaluated: this.evaluated,
      missing_image: info.missingImage,
      errors: this.errors,
      unparsed: this.unparsed,
      content_policy: this.contentPolicy,
      // `--extraction judge:provider:model`: how many answers the rule read, and how many the extractor model read for it.
      ...(extractorOf(info.extraction) ? { extracted_by_rule: this.extractedBy.rule, extracted_by_judge: this.extractedBy.judge } : {}),
    };
  }

  /**
   * Where the judge gives its own refusal reading: on the answers read both ways, how many each
   * reading calls a refusal and on how many the two agree. Absent when the rubric gives none.
   */
  private refusalReadings(): Record<string, number> {
    const r = this.readings;
    return r.both ? { refusal_readings: r.both, refused_by_rule: r.rule, refused_by_judge: r.judge, refusal_readings_agree: r.agree } : {};
  }
}

/**
 * A run's summary, built one stored row at a time (the store can stream them): counts, the
 * declared metrics with their intervals, and, when the benchmark counts blocks as answers and some
 * were blocked, the same metrics with blocks left out.
 */
export class SummaryBuilder {
  private readonly counts = new Counts();
  private readonly counted: MetricTally;
  /** The rows as stored, blocks left out (only when blocks count as answers). */
  private readonly raw?: MetricTally;
  private blocked = 0;

  constructor(
    readonly spec: ProtocolSpec,
    readonly info: SummaryInfo,
  ) {
    this.counted = new MetricTally(spec.metrics);
    if (spec.metrics.contentPolicy !== 'excluded') this.raw = new MetricTally(spec.metrics);
  }

  add(row: ResultRow): void {
    this.counts.add(row);
    if (isBlocked(row)) this.blocked++;
    this.counted.add(countedRow(row, this.spec.metrics.contentPolicy));
    this.raw?.add(row);
  }

  finish(): { summary: MetricsSummary; values: MetricValue[] } {
    const { spec, info } = this;
    const opts = info.bootstrap ?? {};
    const scorer = spec.scorer.kind;
    const values = this.counted.values(opts);
    const bootstrap = this.counted.bootstrapInfo(opts);
    const rule = spec.metrics.contentPolicy;
    const withoutBlocks = this.raw && this.blocked ? this.raw.values(opts) : undefined;
    const summary: MetricsSummary = {
      benchmark: info.benchmark,
      protocol: info.protocol,
      model: info.model,
      ...(scorer === 'extraction' ? { extraction: info.extraction ?? spec.scorer.defaultMode } : {}),
      ...(scorer === 'judge' && info.judge ? { judge: info.judge } : {}),
      ci_method: bootstrap ? 'cluster_bootstrap' : 'wilson',
      ...(bootstrap ? { bootstrap } : {}),
      ...(info.runId ? { run_id: info.runId } : {}),
      counts: this.counts.object(spec, info),
      metrics: metricsObject(values),
      better: directionsObject(values, this.spec.metrics),
      aggregate_ci95: aggregateIntervals(values),
      ...(withoutBlocks && rule !== 'excluded'
        ? { blocks: { count: this.blocked, counted_as: rule.countedAs, metrics_without_blocks: metricsObject(withoutBlocks), aggregate_ci95_without_blocks: aggregateIntervals(withoutBlocks) } }
        : {}),
      ...this.counted.breakdowns(opts),
    };
    return { summary, values };
  }
}

/**
 * A run's summary from its stored rows and its protocol's declared metrics. Errored rows are
 * counted but never scored (an API failure says nothing about the model's safety), except blocks
 * by the API's safety system, which count as the benchmark declares; judge errors are counted
 * apart and never taken as either verdict; unparsed answers are scored wrong.
 */
export function summarize(rows: Iterable<ResultRow>, spec: ProtocolSpec, info: SummaryInfo): MetricsSummary {
  return summarizeWithValues(rows, spec, info).summary;
}

/** The summary and its metric values (with n, intervals and parts, for leaderboards and suites). */
export function summarizeWithValues(rows: Iterable<ResultRow>, spec: ProtocolSpec, info: SummaryInfo): { summary: MetricsSummary; values: MetricValue[] } {
  if ((info.repeats ?? 1) > 1) return summarizeRepeats([...rows], spec, info);
  const b = new SummaryBuilder(spec, info);
  for (const r of rows) b.add(r);
  return b.finish();
}

/**
 * `--samples K`: the summary of the items' majority verdicts (or of every answer, where the
 * benchmark declares `mean`), with `counts.answers`, `metrics.flip_rate` and the `repeats` block,
 * built from rows in item-then-repeat order (a store's scan gives them so), one item at a time.
 */
export function repeatsBuilder(spec: ProtocolSpec, info: SummaryInfo): { add(row: ResultRow): void; finish(): { summary: MetricsSummary; values: MetricValue[] } } {
  const headline = new SummaryBuilder(spec, info);
  const repeats = new RepeatsTally(spec.metrics, info.repeats ?? 1, (r) => headline.add(r));
  return {
    add: (row) => repeats.add(row),
    finish: () => {
      const extra = repeats.finish(info.bootstrap);
      const { summary, values } = headline.finish();
      return {
        summary: { ...summary, counts: { ...summary.counts, answers: extra.answers }, metrics: { ...summary.metrics, flip_rate: extra.flipRate }, better: { ...summary.better, flip_rate: 'lower' }, repeats: extra.repeats },
        values,
      };
    },
  };
}

/** A list of rows in storage order, grouped by item first. */
function summarizeRepeats(rows: ResultRow[], spec: ProtocolSpec, info: SummaryInfo): { summary: MetricsSummary; values: MetricValue[] } {
  const b = repeatsBuilder(spec, info);
  for (const answers of byItem(rows)) for (const r of answers) b.add(r);
  return b.finish();
}
