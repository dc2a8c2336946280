import type { ChartSpec } from '../benchmarks/types.ts';
import type { Proportion } from '../metrics/stats.ts';
import type { MetricsSummary } from '../metrics/summary.ts';
import type { Leaderboard } from './leaderboard.ts';

type Spec = Record<string, unknown>;

/** Renders a Vega-Lite spec to an SVG string on the server: the report needs no script or CDN. */
export async function renderSvg(spec: Spec): Promise<string> {
  const [vega, vl] = await Promise.all([import('vega'), import('vega-lite')]);
  const compiled = vl.compile({ $schema: 'https://vega.github.io/schema/vega-lite/v6.json', ...spec } as never).spec;
  const view = new vega.View(vega.parse(compiled), { renderer: 'none' });
  try {
    return await view.toSVG();
  } finally {
    view.finalize();
  }
}

const runRows = (lb: Leaderboard) => lb.rows.filter((r) => r.kind === 'run' && r.summary);

/**
 * A run's accuracy per group of the first declared breakdown it has (e.g. scenario, else
 * category); for a breakdown of rate blocks, the block's declared `metric`.
 */
export function groupAccuracies(s: MetricsSummary, heatmap: NonNullable<ChartSpec['heatmap']>): { key: string; groups: [string, Proportion][] } | undefined {
  for (const key of heatmap.breakdowns) {
    const b = s[key as `by_${string}`];
    if (!b || !Object.keys(b).length) continue;
    const pick = (v: Proportion | Record<string, Proportion>): Proportion => ('n' in v ? (v as Proportion) : (v as Record<string, Proportion>)[heatmap.metric ?? 'overall']);
    const groups = Object.entries(b).map(([k, v]): [string, Proportion] => [k, pick(v)]);
    return { key: key.replace(/^by_/, ''), groups };
  }
  return undefined;
}

/** Accuracy per group of the declared breakdown, one column per run. */
export function heatmapSpec(lb: Leaderboard): Spec | undefined {
  const heatmap = lb.charts.heatmap;
  if (!heatmap) return undefined;
  const values: { run: string; group: string; accuracy: number; n: number }[] = [];
  for (const r of runRows(lb)) {
    for (const [group, p] of groupAccuracies(r.summary!, heatmap)?.groups ?? []) if (p.n) values.push({ run: r.name, group, accuracy: p.accuracy, n: p.n });
  }
  if (!values.length) return undefined;
  const runs = runRows(lb).map((r) => r.name);
  return {
    title: heatmap.title,
    data: { values: values.map((v) => ({ ...v, text: `${(v.accuracy * 100).toFixed(0)}% (${v.n})` })) },
    width: { step: 96 },
    height: { step: 18 },
    encoding: {
      x: { field: 'run', type: 'nominal', title: null, sort: runs, axis: { orient: 'top', labelAngle: -30, labelAlign: 'left', labelLimit: 180 } },
      y: { field: 'group', type: 'nominal', title: null, sort: 'ascending', axis: { labelLimit: 400 } },
    },
    layer: [
      { mark: 'rect', encoding: { color: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1], scheme: 'redyellowgreen' }, legend: { format: '.0%', title: 'accuracy' } } } },
      // The number on every cell: colour alone is not readable in print or for colour-blind readers.
      { mark: { type: 'text', fontSize: 10 }, encoding: { text: { field: 'text' }, color: { condition: { test: 'datum.accuracy < 0.2 || datum.accuracy > 0.85', value: 'white' }, value: 'black' } } },
    ],
  };
}

/** The safety / over-sensitivity trade-off: one point per run, with 95% intervals on both axes. */
export function tradeoffSpec(lb: Leaderboard): Spec | undefined {
  const t = lb.charts.tradeoff;
  if (!t) return undefined;
  const values = runRows(lb).flatMap((r) => {
    const x = r.summary!.metrics[t.x];
    const y = r.summary!.metrics[t.y];
    if (typeof x !== 'object' || typeof y !== 'object' || !x.n || !y.n) return [];
    return [{ run: r.name, x: 1 - x.accuracy, x0: 1 - x.ci95[1], x1: 1 - x.ci95[0], y: y.accuracy, y0: y.ci95[0], y1: y.ci95[1] }];
  });
  if (!values.length) return undefined;
  const { xTitle, yTitle } = t;
  const scale = { domain: [0, 1] };
  const color = { field: 'run', type: 'nominal', title: 'run', sort: values.map((v) => v.run), legend: { labelLimit: 240 } };
  return {
    title: 'Safety vs over-sensitivity (better: top left)',
    data: { values },
    width: 360,
    height: 300,
    layer: [
      { mark: { type: 'rule', clip: false }, encoding: { x: { field: 'x0', type: 'quantitative', scale, title: xTitle, axis: { format: '.0%' } }, x2: { field: 'x1' }, y: { field: 'y', type: 'quantitative', scale, title: yTitle, axis: { format: '.0%' } }, color } },
      { mark: { type: 'rule', clip: false }, encoding: { y: { field: 'y0', type: 'quantitative', scale }, y2: { field: 'y1' }, x: { field: 'x', type: 'quantitative', scale }, color } },
      { mark: { type: 'point', filled: true, size: 80, clip: false }, encoding: { x: { field: 'x', type: 'quantitative', scale }, y: { field: 'y', type: 'quantitative', scale }, color } },
      // Names beside the points: with several runs a legend alone makes the reader match colours.
      { mark: { type: 'text', align: 'left', dx: 7, dy: -7, fontSize: 10, clip: false }, encoding: { x: { field: 'x', type: 'quantitative', scale }, y: { field: 'y', type: 'quantitative', scale }, text: { field: 'run' }, color } },
    ],
  };
}

const KIND_COLOURS = { run: '#4c78a8', baseline: '#bab0ac', published: '#f2cf5b' } as const;

/**
 * Per-subset (or per-label) accuracy, one panel per subset and one bar per leaderboard row: runs,
 * baselines and published rows side by side. Rows are named on the axis rather than told apart by
 * colour, which stays readable with ten published rows in the chart.
 */
export function subsetBarsSpec(lb: Leaderboard): Spec | undefined {
  // A groups field (e.g. subset) stands for the columns of its groups.
  const keys = (lb.charts.bars ?? []).flatMap((k) => (lb.columns.some((c) => c.field === k) ? lb.columns.filter((c) => c.field === k).map((c) => c.key) : [k]));
  const labels = Object.fromEntries(lb.columns.map((c) => [c.key, c.label]));
  const kindName = { run: 'run', baseline: 'reference (same samples)', published: 'published' } as const;
  const values = lb.rows.flatMap((r) =>
    keys.flatMap((k) => {
      const c = r.cells[k];
      return c ? [{ row: r.name, kind: kindName[r.kind], metric: labels[k] ?? k, value: c.value, ...(c.ci95 && r.kind === 'run' ? { lo: c.ci95[0], hi: c.ci95[1] } : {}) }] : [];
    }),
  );
  if (!values.length) return undefined;
  const order = [...new Set(values.map((v) => v.row))];
  const kinds = (['run', 'baseline', 'published'] as const).filter((k) => lb.rows.some((r) => r.kind === k));
  const x = { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%', tickCount: 5 }, title: null };
  return {
    title: 'Accuracy by subset (runs with 95% CI)',
    data: { values },
    facet: { column: { field: 'metric', type: 'nominal', sort: keys.map((k) => labels[k] ?? k), title: null, header: { labelFontSize: 12, labelFontWeight: 'bold' } } },
    spec: {
      width: 150,
      height: { step: 14 },
      encoding: { y: { field: 'row', type: 'nominal', sort: order, title: null, axis: { labelLimit: 260 } } },
      layer: [
        {
          mark: 'bar',
          encoding: {
            x,
            color: { field: 'kind', type: 'nominal', title: null, scale: { domain: kinds.map((k) => kindName[k]), range: kinds.map((k) => KIND_COLOURS[k]) }, legend: { orient: 'bottom', labelLimit: 300 } },
          },
        },
        { mark: 'rule', transform: [{ filter: 'isValid(datum.lo)' }], encoding: { x: { field: 'lo', type: 'quantitative' }, x2: { field: 'hi' }, color: { value: '#222' } } },
      ],
    },
  };
}
