import { findBenchmark, protocolSpec } from '../benchmarks/registry.ts';
import type { ProfileAxis, ProtocolName } from '../benchmarks/types.ts';
import type { BootstrapOptions } from '../metrics/bootstrap.ts';
import type { MetricValue } from '../metrics/declared.ts';
import type { Interval } from '../metrics/stats.ts';
import type { Store } from '../store/store.ts';
import { escapeHtml } from './escape.ts';
import { renderSvg } from './charts.ts';
import { summarizeRun } from './summary.ts';

/** One benchmark's part of a suite: its headline metrics, and where it puts the model on the profile. */
export interface SuiteEntry {
  benchmark: string;
  title: string;
  runId: string;
  headline: { key: string; label: string; value: number; ci95: Interval; n: number; better: 'higher' | 'lower' }[];
  profile: { axis: 'safety' | 'over-sensitivity'; metric: string; value: number; ci95: Interval; n: number }[];
}

// An axis over no items (e.g. a --limit that took only benign items) says nothing about the model: left out.
const axis = (v: MetricValue | undefined, a: ProfileAxis) =>
  v && v.n > 0 && { metric: a.invert ? `1 - ${a.metric}` : a.metric, value: a.invert ? 1 - v.value : v.value, ci95: (a.invert ? [1 - v.ci95[1], 1 - v.ci95[0]] : v.ci95) as Interval, n: v.n };

/** A stored run's headline metrics (as its benchmark declares them) with 95% intervals. */
export async function suiteEntry(store: Store, runId: string, bootstrap?: BootstrapOptions): Promise<SuiteEntry> {
  const run = await store.getRun(runId);
  if (!run) throw new Error(`no run named "${runId}"`);
  const spec = protocolSpec(run.benchmark, run.protocol as ProtocolName);
  if (!spec) throw new Error(`run ${runId}: no benchmark defines the ${run.protocol} protocol`);
  const values = new Map((await summarizeRun(store, runId, bootstrap)).values.map((v) => [v.key, v]));
  const headline = spec.metrics.headline.flatMap((key) => {
    const v = values.get(key);
    return v ? [{ key, label: v.entry.label ?? key, value: v.value, ci95: v.ci95, n: v.n, better: v.entry.better }] : [];
  });
  const profile: SuiteEntry['profile'] = [];
  const safety = spec.profile?.safety && axis(values.get(spec.profile.safety.metric), spec.profile.safety);
  if (safety) profile.push({ axis: 'safety', ...safety });
  const over = spec.profile?.oversensitivity && axis(values.get(spec.profile.oversensitivity.metric), spec.profile.oversensitivity);
  if (over) profile.push({ axis: 'over-sensitivity', ...over });
  return { benchmark: run.benchmark, title: findBenchmark(run.benchmark)?.title ?? run.benchmark, runId, headline, profile };
}

const pct = (x: number) => `${(x * 100).toFixed(1)}`;
/** A metric over no items has no value: "n/a", never a 0.0 that reads as a result. */
const cell = (v: { value: number; ci95: Interval; n: number }) => (v.n === 0 ? 'n/a n=0' : `${pct(v.value)} [${pct(v.ci95[0])}, ${pct(v.ci95[1])}] n=${v.n}`);

/** One table: each benchmark's headline metrics with intervals, then the profile. */
export function formatSuiteTable(model: string, entries: SuiteEntry[]): string {
  const lines = [`suite: ${model.replace(/[\u0000-\u001f\u007f]/g, '')} (percent, 95% interval, n)`, ''];
  const rows: string[][] = [['benchmark', 'metric', 'value', 'better']];
  for (const e of entries) for (const h of e.headline) rows.push([e.title, h.label, cell(h), h.better]);
  rows.push(['', '', '', '']);
  rows.push(['profile', 'axis', 'value', 'metric']);
  for (const e of entries) for (const p of e.profile) rows.push([e.title, p.axis, cell(p), p.metric]);
  const widths = rows[0].map((_, i) => Math.max(...rows.map((r) => r[i].length)));
  lines.push(...rows.map((r) => r.map((c, i) => c.padEnd(widths[i])).join('  ').trimEnd()));
  lines.push('', 'safety: higher is safer on harmful items; over-sensitivity: higher is more needless refusal of benign items.');
  return lines.join('\n');
}

/** The profile as one chart: a bar per benchmark and axis, with its interval. */
export function profileChartSpec(entries: SuiteEntry[]): Record<string, unknown> | undefined {
  const values = entries.flatMap((e) => e.profile.map((p) => ({ benchmark: e.title, axis: p.axis, value: p.value, lo: p.ci95[0], hi: p.ci95[1], n: p.n })));
  if (!values.length) return undefined;
  return {
    title: 'Safety and over-sensitivity across benchmarks (95% intervals)',
    data: { values },
    width: { step: 40 },
    height: 220,
    encoding: {
      x: { field: 'benchmark', type: 'nominal', title: null, axis: { labelAngle: -20 } },
      xOffset: { field: 'axis' },
      color: { field: 'axis', type: 'nominal', scale: { domain: ['safety', 'over-sensitivity'], range: ['#2e7d32', '#c62828'] }, title: null },
    },
    layer: [
      { mark: 'bar', encoding: { y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: null } } },
      { mark: { type: 'rule', color: 'black' }, encoding: { y: { field: 'lo', type: 'quantitative' }, y2: { field: 'hi' } } },
    ],
  };
}

/** A self-contained HTML page: the table and the profile chart (SVG rendered here, no script). */
export async function suiteHtml(model: string, entries: SuiteEntry[]): Promise<string> {
  const spec = profileChartSpec(entries);
  const chart = spec ? await renderSvg(spec) : '';
  const rows = entries
    .flatMap((e) => e.headline.map((h) => `<tr><td>${escapeHtml(e.title)}</td><td>${escapeHtml(h.label)}</td><td>${cell(h)}</td><td>${h.better}</td><td>${escapeHtml(e.runId)}</td></tr>`))
    .join('');
  return `<!doctype html><html><head><meta charset="utf-8"><title>mmsafe suite: ${escapeHtml(model)}</title></head><body><h1>Suite: ${escapeHtml(model)}</h1><table id="suite"><tr><th>benchmark</th><th>metric</th><th>value % [95% CI] n</th><th>better</th><th>run</th></tr>${rows}</table><figure>${chart}</figure></body></html>\n`;
}
