import type { AwarenessSummary } from '../metrics/awareness.ts';
import type { ResponseSummary } from '../metrics/response.ts';
import type { UsageSummary } from '../metrics/usage.ts';
import type { Proportion } from '../metrics/stats.ts';
import { redactSecrets } from '../core/redact.ts';
import { forTerminal } from '../core/terminal.ts';
import { renderTable } from './text-table.ts';
import type { Coverage, ErrorsByKind } from './summary.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}`;
const ci = (p: Proportion) => (p.n ? `[${pct(p.ci95[0])}, ${pct(p.ci95[1])}]` : '-');

/** The terminal view of an awareness summary: what a person checks first after a run. */
export function formatAwarenessTable(s: AwarenessSummary & { coverage?: Coverage }): string {
  const m = s.metrics;
  const rows = (
    [
      ['typical (unsafe)', m.typical],
      ['attack (unsafe)', m.attack],
      ['oversafe (safe)', m.oversafe],
      ['all unsafe', m.unsafe],
    ] as const
  ).map(([name, p]) => [name, String(p.n), p.n ? pct(p.accuracy) : '-', ci(p)]);
  const c = s.counts;
  return [
    `${s.model} on ${s.benchmark}${s.run_id ? ` (run ${s.run_id})` : ''}, extraction ${s.extraction}`,
    renderTable(['subset', 'n', 'accuracy %', '95% CI (Wilson)'], rows),
    s.coverage
      ? `covers ${s.coverage.subsets.join(', ') || 'no subset'}; no ${s.coverage.missing_subsets.join(', ')}, so no Total (the mean of every subset)   micro ${pct(m.accuracy_micro)}${m.unsafe.n && m.oversafe.n ? `   balanced ${pct(m.balanced_accuracy)}` : ''}`
      : `Total (mean of subsets) ${pct(m.total_macro)}   micro ${pct(m.accuracy_micro)}   balanced ${pct(m.balanced_accuracy)}`,
    `unsafe called safe ${pct(m.unsafe_as_safe_rate)}%   safe called unsafe ${pct(m.safe_as_unsafe_rate)}%`,
    `evaluated ${c.evaluated}/${c.samples}   errors ${c.errors}${c.content_policy ? ` (content policy ${c.content_policy})` : ''}   unparsed ${c.unparsed}   missing images ${c.missing_image}`,
  ].join('\n');
}

/** The terminal view of a free-answer (judged) summary. */
export function formatResponseTable(s: ResponseSummary & { coverage?: Coverage }): string {
  const m = s.metrics;
  const row = (name: string, p: Proportion) => [name, String(p.n), p.n ? pct(p.accuracy) : '-', ci(p)];
  const c = s.counts;
  const cats = Object.entries(s.by_category).map(([k, v]) => [k, String(v.overall.n), pct(v.safe_accuracy.accuracy), pct(v.unsafe_accuracy.accuracy), pct(v.overall.accuracy)]);
  return [
    `${s.model} on ${s.benchmark}${s.run_id ? ` (run ${s.run_id})` : ''}, judge ${s.judge ?? '-'}`,
    renderTable(['metric', 'n', '%', '95% CI (Wilson)'], [
      row('unsafe: safe response rate', m.unsafe_accuracy),
      row('safe: not oversensitive', m.safe_accuracy),
      row('overall (item-weighted)', m.overall),
      row('refusals on unsafe (rule)', m.refusal_rate_unsafe),
      row('refusals on safe (rule)', m.refusal_rate_safe),
    ]),
    ...(cats.length ? ['', renderTable(['category', 'n', 'safe %', 'unsafe %', 'overall %'], cats)] : []),
    ...(s.coverage ? [`covers ${s.coverage.subsets.join(', ') || 'no subset'} only (no ${s.coverage.missing_subsets.join(', ')})`] : []),
    `judged ${c.judged}/${c.samples}   model errors ${c.errors}${c.content_policy ? ` (content policy ${c.content_policy})` : ''}   judge errors ${c.judge_errors}   missing images ${c.missing_image}   invalid rows ${c.invalid}`,
  ].join('\n');
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

/** Either kind of summary, by its protocol. */
export function formatSummaryTable(s: (AwarenessSummary | ResponseSummary) & { usage?: UsageSummary; errors_by_kind?: ErrorsByKind; coverage?: Coverage }): string {
  const body = s.protocol === 'response' ? formatResponseTable(s) : formatAwarenessTable(s);
  const parts = [body];
  if (s.errors_by_kind) parts.push(formatErrors(s.errors_by_kind, s.counts.evaluated));
  if (s.usage) parts.push(formatUsage(s.usage));
  return parts.join('\n');
}
