import { templateNotes, type TemplateSource } from '../upstream/template.ts';
import { protocolSpec } from '../benchmarks/registry.ts';
import type { ProtocolName } from '../benchmarks/types.ts';
import type { MetricsSummary, StoredBreakdown, StoredMetric } from '../metrics/summary.ts';
import type { Proportion } from '../metrics/stats.ts';
import { redactSecrets } from '../core/redact.ts';
import { forTerminal } from '../core/terminal.ts';
import type { UsageSummary } from '../metrics/usage.ts';
import { renderTable } from './text-table.ts';
import type { Coverage, ErrorsByKind } from './summary.ts';
import type { JudgeRubricInfo } from './rubric.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}`;
const ci = (p: Proportion) => (p.n ? `[${pct(p.ci95[0])}, ${pct(p.ci95[1])}]` : '-');
const isProportion = (x: unknown): x is Proportion => typeof x === 'object' && x !== null && 'n' in x && 'accuracy' in x;

/** How a stored metric is named in tables: its column label, or its group's name. */
export function metricLabels(benchmark: string, protocol: string): Map<string, string> {
  const spec = protocolSpec(benchmark, protocol as ProtocolName);
  const out = new Map<string, string>();
  for (const e of spec?.metrics.entries ?? []) if (e.kind !== 'groups' && e.label) out.set(e.key, e.label);
  return out;
}

/** The metrics that are means over the groups of a field, with that field. */
function groupMeansOf(benchmark: string, protocol: string): Map<string, string> {
  const spec = protocolSpec(benchmark, protocol as ProtocolName);
  const out = new Map<string, string>();
  for (const e of spec?.metrics.entries ?? []) if (e.kind === 'mean' && 'groups' in e.of) out.set(e.key, e.of.groups);
  return out;
}

const plural = (word: string) => (word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`);

/** A block breakdown (per category: safe / unsafe / overall) as its own table. */
function blockTable(name: string, breakdown: StoredBreakdown, labels: Map<string, string>): string[] {
  const entries = Object.entries(breakdown) as [string, Record<string, Proportion>][];
  if (!entries.length || isProportion(entries[0][1])) return [];
  const keys = Object.keys(entries[0][1]);
  const n = (v: Record<string, Proportion>) => String(Math.max(...keys.map((k) => v[k].n)));
  const rows = entries.map(([k, v]) => [k, n(v), ...keys.map((key) => pct(v[key].accuracy))]);
  return ['', renderTable([name.replace(/^by_/, ''), 'n', ...keys.map((k) => `${labels.get(k) ?? k} %`)], rows)];
}

/** The rule classifier's and the judge's refusal readings side by side, with their agreement. */
export function refusalLine(c: Record<string, number>): string {
  const agree = c.refusal_readings_agree / c.refusal_readings;
  return `refusals: rule ${c.refused_by_rule}, judge ${c.refused_by_judge} of ${c.refusal_readings} answers read both ways; they agree on ${c.refusal_readings_agree} (${pct(agree)}%)`;
}

/** What `counts` says, in the order a person checks it. */
function countsLine(c: Record<string, number>): string {
  if (c.judged !== undefined) {
    const line = `judged ${c.judged}/${c.samples}   model errors ${c.errors}${c.content_policy ? ` (content policy ${c.content_policy})` : ''}   judge errors ${c.judge_errors}   missing images ${c.missing_image}   invalid rows ${c.invalid}`;
    return c.refusal_readings ? `${line}\n${refusalLine(c)}` : line;
  }
  const read = c.extracted_by_judge !== undefined ? `   read by rule ${c.extracted_by_rule}, by extractor ${c.extracted_by_judge}` : '';
  return `evaluated ${c.evaluated}/${c.samples}   errors ${c.errors}${c.content_policy ? ` (content policy ${c.content_policy})` : ''}${c.unparsed !== undefined ? `   unparsed ${c.unparsed}` : ''}${read}   missing images ${c.missing_image}`;
}

/** How the intervals were made, in one line under the table. */
export function methodLine(s: MetricsSummary): string {
  const b = s.bootstrap;
  if (!b) return '95% CI: Wilson (MOVER over Wilson for means); no bootstrap';
  const by = `${b.clusters} clusters of items sharing ${b.cluster_key === 'image' ? 'an image' : `a ${b.cluster_key} value`}`;
  return `95% CI: cluster bootstrap over ${by}, ${b.replicates} replicates, seed ${b.seed} (Wilson in the JSON as ci95_wilson)`;
}

/** The sensitivity line: the same headline metrics with blocked answers left out. */
export function blocksLine(s: MetricsSummary): string[] {
  if (!s.blocks) return [];
  const labels = metricLabels(s.benchmark, s.protocol);
  const headline = protocolSpec(s.benchmark, s.protocol)?.metrics.headline ?? [];
  const m = s.blocks.metrics_without_blocks;
  const keys = [...Object.keys(m).filter((k) => !labels.has(k) && isProportion(m[k])), ...headline].filter((k, i, all) => k in m && all.indexOf(k) === i && !(isProportion(m[k]) && m[k].n === 0));
  const value = (x: StoredMetric) => pct(typeof x === 'number' ? x : x.accuracy);
  return [`${s.blocks.count} blocked by the API's safety system, counted as ${s.blocks.counted_as}; with blocks left out: ${keys.map((k) => `${labels.get(k) ?? k} ${value(m[k])}`).join('   ')}`];
}

/**
 * The terminal view of a summary, whatever the benchmark declares: its proportions with n and
 * interval, then its bare rates and means, its block breakdowns, and the counts.
 */
export function formatMetricsTable(s: MetricsSummary & { coverage?: Coverage }): string {
  const labels = metricLabels(s.benchmark, s.protocol);
  const groupMeans = groupMeansOf(s.benchmark, s.protocol);
  const entries = Object.entries(s.metrics);
  const rows = entries.filter((e): e is [string, Proportion] => isProportion(e[1])).map(([k, p]) => [labels.get(k) ?? k, String(p.n), p.n ? pct(p.accuracy) : '-', ci(p)]);
  const label = (k: string) => labels.get(k) ?? k;
  const numbers = entries
    .filter((e): e is [string, number] => typeof e[1] === 'number')
    // A mean over subsets a partial run does not all have is no Total: say what the run covers instead.
    .filter(([k]) => !(s.coverage && groupMeans.has(k)))
    .map(([k, v]) => {
      const interval = s.aggregate_ci95?.[k];
      const text = `${pct(v)}${interval ? ` [${pct(interval[0])}, ${pct(interval[1])}]` : ''}`;
      return groupMeans.has(k) ? `${label(k)} (mean of ${plural(groupMeans.get(k)!)}) ${text}` : `${label(k)} ${text}`;
    });
  const means = [...groupMeans.keys()].filter((k) => k in s.metrics || s.coverage);
  if (s.coverage) {
    const covers = `covers ${s.coverage.subsets.join(', ') || 'no subset'}`;
    numbers.unshift(means.length ? `${covers}; no ${s.coverage.missing_subsets.join(', ')}, so no ${means.map(label).join(' or ')} (the mean of every subset)` : `${covers} only (no ${s.coverage.missing_subsets.join(', ')})`);
  }
  const how = s.extraction ? `, extraction ${s.extraction}` : s.protocol === 'response' || s.judge ? `, judge ${s.judge ?? '-'}` : '';
  const blocks = Object.entries(s).filter(([k]) => k.startsWith('by_')).flatMap(([k, v]) => blockTable(k, v as StoredBreakdown, labels));
  return [
    `${s.model} on ${s.benchmark}${s.run_id ? ` (run ${s.run_id})` : ''}${how}`,
    renderTable(['metric', 'n', '%', s.bootstrap ? '95% CI' : '95% CI (Wilson)'], rows),
    ...(numbers.length ? [numbers.join('   ')] : []),
    ...directions(s, label),
    methodLine(s),
    ...blocksLine(s),
    ...blocks,
    countsLine(s.counts),
  ].join('\n');
}

/** Which way each metric is better, one line (a summary of an older version may not say). */
function directions(s: MetricsSummary, label: (k: string) => string): string[] {
  const keys = Object.keys(s.metrics).filter((k) => s.better?.[k]);
  const of = (b: string) => keys.filter((k) => s.better[k] === b).map(label);
  const parts = [of('higher').length ? `higher is better: ${of('higher').join(', ')}` : '', of('lower').length ? `lower is better: ${of('lower').join(', ')}` : ''].filter(Boolean);
  return parts.length ? [parts.join('; ')] : [];
}

const dollars = (x: number | null | undefined) => (x === null || x === undefined ? 'unknown' : `$${x.toFixed(x < 1 ? 4 : 2)}`);

function formatUsage(u: UsageSummary): string {
  const judge = u.judge_input_tokens !== undefined ? `; judge ${u.judge_input_tokens} in / ${u.judge_output_tokens} out, cost ${dollars(u.judge_cost_usd)}` : '';
  const parts = [u.cached_tokens ? `${u.cached_tokens} cached` : '', u.reasoning_tokens ? `${u.reasoning_tokens} reasoning` : ''].filter(Boolean);
  const reused = u.cached_answers ? `; ${u.cached_answers} answers from the cache (no tokens, no latency)` : '';
  return `tokens ${u.input_tokens} in / ${u.output_tokens} out${parts.length ? ` (${parts.join(', ')})` : ''}, cost ${dollars(u.cost_usd)}${judge}${reused}`;
}

/** Why samples failed, most frequent first, so a run that is all errors says what to fix. */
function formatErrors(errors: ErrorsByKind, evaluated: number): string {
  const kinds = Object.entries(errors).sort((a, b) => b[1].count - a[1].count);
  const lines = kinds.map(([kind, e]) => `  ${kind} x${e.count}: ${forTerminal(redactSecrets(e.example), { oneLine: true }).slice(0, 200)}`);
  const head = evaluated === 0 ? 'every sample failed; errors by kind (first message of each):' : 'errors by kind (first message of each):';
  return [head, ...lines].join('\n');
}

/** A run's summary with its errors and usage. */
export function formatSummaryTable(s: MetricsSummary & { usage?: UsageSummary; errors_by_kind?: ErrorsByKind; templates?: TemplateSource[]; judge_rubric?: JudgeRubricInfo }): string {
  const body = formatMetricsTable(s);
  const parts = [body];
  if (s.judge_rubric) parts.push(s.judge_rubric.description);
  const notes = templateNotes(s.templates);
  if (notes.length) parts.push(notes.join('\n'));
  if (s.errors_by_kind) parts.push(formatErrors(s.errors_by_kind, s.counts.evaluated));
  if (s.usage) parts.push(formatUsage(s.usage));
  return parts.join('\n');
}
