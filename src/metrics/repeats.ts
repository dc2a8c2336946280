import type { MetricSpec, RepeatRule } from '../benchmarks/types.ts';
import type { ResultRow } from '../core/types.ts';
import { countedRow } from './blocks.ts';
import type { BootstrapOptions } from './bootstrap.ts';
import { MetricTally } from './declared.ts';
import type { Proportion } from './stats.ts';

/*
 * `--samples K`: each item answered K times. The headline metrics are computed on one verdict per
 * item, the majority of its answers' verdicts (or on every answer, where a benchmark declares
 * `mean`); beside them, the metrics of each repeat alone, their mean and spread, and how often an
 * item's verdict changes between repeats. Everything here works item by item on the rows of one
 * item, so a caller may stream rows ordered by item then repeat and reduce each item as it ends.
 */

export const DEFAULT_REPEAT_RULE: RepeatRule = { aggregate: 'majority', vote: 'verdict' };

const repeatOf = (r: ResultRow) => r.repeat ?? 0;
/** An answer that has a verdict to vote with: answered, and not a judge error (which is no verdict). */
const voting = (r: ResultRow) => r.status === 'ok' && r.prediction !== 'judge_error';
const verdictOf = (r: ResultRow) => `${r.prediction}|${r.correct === true}`;
const aspectsOf = (r: ResultRow) => r.details?.judge_verdicts as Record<string, string> | undefined;

/**
 * The winning value among `values` (in repeat order): the most frequent; a tie goes to the value
 * `prefer` favours (the one that gives the model no credit), then to the earliest.
 */
function majority(values: string[], prefer: (v: string) => boolean = () => false): string {
  const counts = new Map<string, number>();
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1);
  let best = values[0];
  for (const [v, n] of counts) {
    const m = counts.get(best)!;
    if (n > m || (n === m && prefer(v) && !prefer(best))) best = v;
  }
  return best;
}

/** What the repeats of a benchmark's answers are read with: its rule, and how a blocked answer counts. */
export type RepeatSpec = Pick<MetricSpec, 'repeats' | 'contentPolicy'>;

/**
 * One row standing for an item answered several times: the majority verdict of its answers with
 * a verdict (a tie goes against the model: not correct), carried by the first answer that gave it.
 * A blocked answer votes with the verdict its benchmark counts it as; when it carries the majority
 * it is returned as stored, so the summary still counts it as a block.
 * With `vote: 'aspects'`, each judged aspect (details.judge_verdicts) is voted on by itself too, as
 * a paper that takes the majority of safety, of effectiveness and of their conjunction separately
 * does (an aspect tie keeps the carrying answer's value). An item with no verdict at all is represented
 * by its first judge error, else its first error.
 */
export function majorityRow(answers: ResultRow[], spec: RepeatSpec = { contentPolicy: 'excluded' }): ResultRow {
  const rule = spec.repeats ?? DEFAULT_REPEAT_RULE;
  const ordered = [...answers].sort((a, b) => repeatOf(a) - repeatOf(b));
  const counted = ordered.map((r) => ({ stored: r, read: countedRow(r, spec.contentPolicy) }));
  const votes = counted.filter((c) => voting(c.read));
  const { repeat: _repeat, ...first } = ordered.find((r) => r.status === 'ok') ?? ordered[0];
  if (!votes.length) return first;
  const won = majority(votes.map((c) => verdictOf(c.read)), (v) => v.endsWith('|false'));
  const winner = votes.find((c) => verdictOf(c.read) === won)!;
  const { repeat: _r, ...carrier } = winner.stored;
  if (rule.aggregate !== 'majority' || rule.vote !== 'aspects' || carrier.status !== 'ok' || !aspectsOf(carrier)) return carrier;
  const aspects = Object.fromEntries(
    Object.entries(aspectsOf(carrier)!).map(([name, own]) => {
      const values = votes.map((c) => aspectsOf(c.read)?.[name]).filter((v): v is string => v !== undefined);
      return [name, majority(values, (v) => v === own)];
    }),
  );
  return { ...carrier, details: { ...carrier.details, judge_verdicts: aspects } };
}

/** Whether an item's answers disagree: two answers with verdicts that differ. Undefined with fewer than two verdicts. */
export function flipped(answers: ResultRow[], spec: RepeatSpec = { contentPolicy: 'excluded' }): boolean | undefined {
  const verdicts = answers.map((r) => countedRow(r, spec.contentPolicy)).filter(voting).map(verdictOf);
  return verdicts.length < 2 ? undefined : new Set(verdicts).size > 1;
}

/** An item's rows, grouped in the order items first appear (rows of one item need not be adjacent). */
export function byItem(rows: Iterable<ResultRow>): ResultRow[][] {
  const groups = new Map<string, ResultRow[]>();
  for (const r of rows) {
    const g = groups.get(r.sampleId);
    if (g) g.push(r);
    else groups.set(r.sampleId, [r]);
  }
  return [...groups.values()];
}

/**
 * An item's answers at a time from rows ordered by item then repeat (a store's scan over its key),
 * holding one item's rows: for summaries that stream a run's rows instead of loading them.
 */
export async function* adjacentItems(rows: AsyncIterable<ResultRow> | Iterable<ResultRow>): AsyncGenerator<ResultRow[]> {
  let group: ResultRow[] = [];
  for await (const r of rows) {
    if (group.length && group[0].sampleId !== r.sampleId) {
      yield group;
      group = [];
    }
    group.push(r);
  }
  if (group.length) yield group;
}

export interface RepeatSpread {
  mean: number;
  /** Sample standard deviation over repeats (0 for one repeat). */
  sd: number;
  min: number;
  max: number;
}

/** The `repeats` block of a summary: what each repeat alone measured, and how far they differ. */
export interface RepeatsSummary {
  /** Answers asked per item. */
  k: number;
  /** How the headline metrics combine the repeats. */
  aggregate: RepeatRule['aggregate'];
  vote?: 'verdict' | 'aspects';
  /** Per repeat, in order: its answered items and each metric's value on its answers alone. */
  per_repeat: { repeat: number; evaluated: number; metrics: Record<string, number> }[];
  /** Per metric: mean, spread and range of the per-repeat values. */
  spread: Record<string, RepeatSpread>;
}

function spreadOf(values: number[]): RepeatSpread {
  const mean = values.reduce((a, v) => a + v, 0) / values.length;
  const sd = values.length > 1 ? Math.sqrt(values.reduce((a, v) => a + (v - mean) ** 2, 0) / (values.length - 1)) : 0;
  return { mean, sd, min: Math.min(...values), max: Math.max(...values) };
}

const FLIPS = (spec: MetricSpec): MetricSpec => ({
  entries: [{ kind: 'rate', key: 'flip_rate', over: (r) => typeof r.details?.flipped === 'boolean', hit: (r) => r.details?.flipped === true, form: 'proportion', better: 'lower' }],
  breakdowns: [],
  headline: [],
  cluster: spec.cluster,
  contentPolicy: 'excluded',
});

/**
 * The repeats of a run, reduced one item at a time from rows ordered by item then repeat (a
 * store's scan gives them so): each item's headline rows go to `sink` as the item ends (its
 * majority row, or every answer under `mean`); each repeat's metrics and the flips are tallied.
 */
export class RepeatsTally {
  private item: ResultRow[] = [];
  private answers = 0;
  private readonly perRepeat: { tally: MetricTally; evaluated: number }[];
  private readonly flips: MetricTally;

  constructor(
    private readonly spec: MetricSpec,
    private readonly k: number,
    private readonly sink: (row: ResultRow) => void,
  ) {
    this.perRepeat = Array.from({ length: k }, () => ({ tally: new MetricTally(spec), evaluated: 0 }));
    this.flips = new MetricTally(FLIPS(spec));
  }

  add(row: ResultRow): void {
    if (this.item.length && this.item[0].sampleId !== row.sampleId) this.endItem();
    this.item.push(row);
    this.answers++;
    const own = this.perRepeat[repeatOf(row)];
    const read = countedRow(row, this.spec.contentPolicy);
    if (own) (own.tally.add(read), (own.evaluated += read.status === 'ok' ? 1 : 0));
  }

  private endItem(): void {
    const answers = this.item;
    this.item = [];
    for (const r of headlineRows([answers], this.spec)) this.sink(r);
    const flip = flipped(answers, this.spec);
    // The item's first answer keeps what its cluster is read from (the image sent, its fields).
    const { details } = answers[0];
    if (flip !== undefined) this.flips.add({ ...answers[0], status: 'ok', details: { ...(details?.fields ? { fields: details.fields } : {}), flipped: flip } });
  }

  /**
   * `counts.answers`; `metrics.flip_rate` (the share of items with two or more verdicts whose verdict
   * changes between repeats, with its interval by the summary's method, an item standing for its
   * cluster); and the `repeats` block (each repeat's metric values, their spread).
   */
  finish(opts: BootstrapOptions = {}): { answers: number; flipRate: Proportion; repeats: RepeatsSummary } {
    if (this.item.length) this.endItem();
    const rule = this.spec.repeats ?? DEFAULT_REPEAT_RULE;
    // Values only: the intervals belong to the headline metrics.
    const per_repeat = this.perRepeat.map(({ tally, evaluated }, repeat) => ({ repeat, evaluated, metrics: Object.fromEntries(tally.values({ replicates: 0 }).map((v) => [v.key, v.value])) }));
    const keys = [...new Set(per_repeat.flatMap((p) => Object.keys(p.metrics)))];
    const spread = Object.fromEntries(keys.map((key) => [key, spreadOf(per_repeat.map((p) => p.metrics[key]).filter((v) => v !== undefined))]));
    return {
      answers: this.answers,
      flipRate: this.flips.values(opts)[0].stored as Proportion,
      repeats: { k: this.k, aggregate: rule.aggregate, ...(rule.aggregate === 'majority' ? { vote: rule.vote } : {}), per_repeat, spread },
    };
  }
}

/**
 * The rows the headline metrics are computed on: one per item (its majority row), or, where the
 * benchmark declares `mean`, every answer (so each metric is the mean over repeats of complete runs).
 */
export function headlineRows(items: ResultRow[][], spec: MetricSpec): ResultRow[] {
  const rule = spec.repeats ?? DEFAULT_REPEAT_RULE;
  return rule.aggregate === 'mean' ? items.flat() : items.map((answers) => majorityRow(answers, spec));
}

/** The rows a run's metrics are read from: its answers, or with K > 1 answers per item the headline rows. */
export function scoredRows(rows: ResultRow[], spec: MetricSpec, k: number): ResultRow[] {
  return k > 1 ? headlineRows(byItem(rows), spec) : rows;
}
