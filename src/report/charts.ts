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
  const runs = runRows(lb).map((r) => r.name);
  return {
    title: lb.protocol === 'response' ? 'Accuracy per category (n in brackets)' : 'Accuracy per scenario (n in brackets)',
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
 * colour, which stays readable with the ten published MMSafeAware rows in the chart.
 */
export function subsetBarsSpec(lb: Leaderboard): Spec | undefined {
  const keys = lb.protocol === 'response' ? ['unsafe_accuracy', 'safe_accuracy', 'overall'] : ['typical', 'attack', 'oversafe', 'total_macro'];
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
