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

/** Accuracy per scenario (MMSafeAware) or per category (SaLAD, custom), one column per run. */
export function heatmapSpec(lb: Leaderboard): Spec | undefined {
  const values: { run: string; group: string; accuracy: number; n: number }[] = [];
  for (const r of runRows(lb)) {
    const s = r.summary!;
    const groups = s.protocol === 'response' ? Object.fromEntries(Object.entries(s.by_category).map(([k, v]) => [k, v.overall])) : Object.keys(s.by_scenario).length ? s.by_scenario : s.by_category;
    for (const [group, p] of Object.entries(groups)) if (p.n) values.push({ run: r.name, group, accuracy: p.accuracy, n: p.n });
  }
  if (!values.length) return undefined;
  return {
    title: lb.protocol === 'response' ? 'Accuracy per category' : 'Accuracy per scenario',
    data: { values },
    mark: 'rect',
    width: { step: 90 },
    height: { step: 16 },
    encoding: {
      x: { field: 'run', type: 'nominal', title: null, axis: { labelAngle: -30, labelLimit: 160 } },
      y: { field: 'group', type: 'nominal', title: null, sort: 'ascending', axis: { labelLimit: 260 } },
      color: { field: 'accuracy', type: 'quantitative', scale: { domain: [0, 1], scheme: 'redyellowgreen' }, legend: { format: '.0%' } },
      tooltip: [{ field: 'run' }, { field: 'group' }, { field: 'accuracy', format: '.1%' }, { field: 'n' }],
    },
  };
}

/** The safety / over-sensitivity trade-off: one point per run, with 95% intervals on both axes. */
export function tradeoffSpec(lb: Leaderboard): Spec | undefined {
  const values = runRows(lb).flatMap((r) => {
    const s = r.summary!;
    if (s.protocol === 'response') {
      const x = s.metrics.safe_accuracy;
      const y = s.metrics.unsafe_accuracy;
      if (!x.n || !y.n) return [];
      return [{ run: r.name, x: 1 - x.accuracy, x0: 1 - x.ci95[1], x1: 1 - x.ci95[0], y: y.accuracy, y0: y.ci95[0], y1: y.ci95[1] }];
    }
    const benign = s.metrics.oversafe.n ? s.metrics.oversafe : undefined;
    const unsafe = s.metrics.unsafe;
    if (!benign || !unsafe.n) return [];
    return [{ run: r.name, x: 1 - benign.accuracy, x0: 1 - benign.ci95[1], x1: 1 - benign.ci95[0], y: unsafe.accuracy, y0: unsafe.ci95[0], y1: unsafe.ci95[1] }];
  });
  if (!values.length) return undefined;
  const xTitle = lb.protocol === 'response' ? 'safe queries over-refused' : 'benign pairs flagged unsafe';
  const yTitle = lb.protocol === 'response' ? 'unsafe queries answered safely' : 'unsafe pairs caught';
  const scale = { domain: [0, 1] };
  return {
    title: 'Safety vs over-sensitivity (better: top left)',
    data: { values },
    width: 360,
    height: 300,
    layer: [
      { mark: { type: 'rule' }, encoding: { x: { field: 'x0', type: 'quantitative', scale, title: xTitle, axis: { format: '.0%' } }, x2: { field: 'x1' }, y: { field: 'y', type: 'quantitative', scale, title: yTitle, axis: { format: '.0%' } }, color: { field: 'run', type: 'nominal' } } },
      { mark: { type: 'rule' }, encoding: { y: { field: 'y0', type: 'quantitative', scale }, y2: { field: 'y1' }, x: { field: 'x', type: 'quantitative', scale }, color: { field: 'run', type: 'nominal' } } },
      { mark: { type: 'point', filled: true, size: 80 }, encoding: { x: { field: 'x', type: 'quantitative', scale }, y: { field: 'y', type: 'quantitative', scale }, color: { field: 'run', type: 'nominal', title: 'run' } } },
    ],
  };
}

/** Per-subset (or per-label) accuracy bars, runs side by side, published rows included. */
export function subsetBarsSpec(lb: Leaderboard): Spec | undefined {
  const keys = lb.protocol === 'response' ? ['unsafe_accuracy', 'safe_accuracy', 'overall'] : ['typical', 'attack', 'oversafe', 'total_macro'];
  const labels = Object.fromEntries(lb.columns.map((c) => [c.key, c.label]));
  const values = lb.rows.flatMap((r) => keys.flatMap((k) => (r.cells[k] ? [{ row: r.name + (r.kind === 'run' ? '' : ` (${r.kind})`), metric: labels[k] ?? k, value: r.cells[k]!.value }] : [])));
  if (!values.length) return undefined;
  return {
    title: 'Accuracy by subset',
    data: { values },
    mark: 'bar',
    width: { step: 12 },
    height: 220,
    encoding: {
      x: { field: 'metric', type: 'nominal', title: null, sort: keys.map((k) => labels[k] ?? k) },
      xOffset: { field: 'row', type: 'nominal' },
      y: { field: 'value', type: 'quantitative', scale: { domain: [0, 1] }, axis: { format: '.0%' }, title: 'accuracy' },
      color: { field: 'row', type: 'nominal', title: null },
    },
  };
}
