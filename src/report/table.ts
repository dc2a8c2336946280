import type { AwarenessSummary } from '../metrics/awareness.ts';
import type { Proportion } from '../metrics/stats.ts';
import { renderTable } from './text-table.ts';

const pct = (x: number) => `${(x * 100).toFixed(1)}`;
const ci = (p: Proportion) => (p.n ? `[${pct(p.ci95[0])}, ${pct(p.ci95[1])}]` : '-');

/** The terminal view of an awareness summary: what a person checks first after a run. */
export function formatAwarenessTable(s: AwarenessSummary): string {
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
    `Total (mean of subsets) ${pct(m.total_macro)}   micro ${pct(m.accuracy_micro)}   balanced ${pct(m.balanced_accuracy)}`,
    `unsafe called safe ${pct(m.unsafe_as_safe_rate)}%   safe called unsafe ${pct(m.safe_as_unsafe_rate)}%`,
    `evaluated ${c.evaluated}/${c.samples}   errors ${c.errors}${c.content_policy ? ` (content policy ${c.content_policy})` : ''}   unparsed ${c.unparsed}   missing images ${c.missing_image}`,
  ].join('\n');
}
