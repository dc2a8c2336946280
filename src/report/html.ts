import type { ResultRow } from '../core/types.ts';
import type { Store } from '../store/store.ts';
import { fieldOf } from '../benchmarks/types.ts';
import { groupAccuracies, heatmapSpec, renderSvg, subsetBarsSpec, tradeoffSpec } from './charts.ts';
import { escapeHtml as e } from './escape.ts';
import { blockLines, comparisonsNote, directionsOf, legendOf, rubricLines } from './formats.ts';
import type { Leaderboard } from './leaderboard.ts';
import { runLabels } from './run-labels.ts';

const pct = (x: number) => (x * 100).toFixed(1);
const plural = (word: string) => (word.endsWith('y') ? `${word.slice(0, -1)}ies` : `${word}s`);

const STYLE = `
body{font:14px/1.45 system-ui,-apple-system,Segoe UI,Roboto,sans-serif;margin:2rem auto;max-width:1400px;padding:0 1rem;color:#1d2733}
h1{font-size:1.5rem}h2{font-size:1.15rem;margin-top:2rem;border-bottom:1px solid #ddd;padding-bottom:.3rem}
table{border-collapse:collapse;margin:.5rem 0}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right;vertical-align:top}
th:first-child,td:first-child,td.text,th.text{text-align:left}.charts{display:flex;flex-wrap:wrap;gap:2rem;align-items:flex-start}
pre{white-space:pre-wrap;max-width:60ch;margin:0;font:12px/1.4 ui-monospace,monospace}details{margin:.3rem 0}`;

/**
 * A self-contained report: one HTML file with inline SVG charts rendered here, no script and no
 * network access, so it opens from disk and can be mailed or archived. Every string that came
 * from a model, a dataset or a user is escaped.
 */
export async function leaderboardHtml(lb: Leaderboard, store: Store): Promise<string> {
  const specs = [heatmapSpec(lb), tradeoffSpec(lb), subsetBarsSpec(lb)].filter((s): s is NonNullable<typeof s> => Boolean(s));
  const svgs = await Promise.all(specs.map(renderSvg));
  const worstParts: string[] = [];
  let heading = 'groups';
  for (const r of lb.rows.filter((x) => x.kind === 'run' && x.summary)) {
    const found = lb.charts.heatmap ? groupAccuracies(r.summary!, lb.charts.heatmap) : undefined;
    if (!found) continue;
    const { key, groups } = found;
    if (heading === 'groups') heading = plural(key);
    const bottom = groups.filter(([, p]) => p.n >= 3).sort((a, b) => a[1].accuracy - b[1].accuracy).slice(0, 5);
    const rowsHtml = bottom.map(([k, p]) => `<tr><td>${e(k)}</td><td>${p.n}</td><td>${pct(p.accuracy)}</td><td>${pct(p.ci95[0])}-${pct(p.ci95[1])}</td></tr>`).join('');
    worstParts.push(`<h3>${e(r.name)}</h3><table class="worst"><tr><th>${key}</th><th>n</th><th>accuracy %</th><th>95% CI</th></tr>${rowsHtml}</table>${await wrongExamples(store, r.runId ?? r.name, key, new Set(bottom.map(([k]) => k)))}`);
  }
  const worst = worstParts.join('\n');

  const labels = runLabels(lb.runs);
  const configs = lb.runs.map((run) => `<details><summary>${e(labels.get(run.id))}: run ${e(run.id)}, ${e(run.model)}</summary><pre>${e(JSON.stringify({ benchmark: run.benchmark, protocol: run.protocol, created: run.createdAt, status: run.status, settings: run.config.run, provider: run.config.provider, protocol_settings: run.config.protocol }, null, 2))}</pre></details>`).join('\n');

  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>mmsafe report: ${e(lb.benchmark)}</title><style>${STYLE}${LEADERBOARD_STYLE}</style></head>
<body>
<h1>mmsafe report: ${e(lb.benchmark)} (${e(lb.protocol)} protocol)</h1>
<p>${e(legendOf(lb))}</p>
${rubricLines(lb).map((l) => `<p class="rubric">${e(l)}</p>`).join('\n')}
<h2>Leaderboard</h2>
${leaderboardSection(lb)}
<h2>Charts</h2>
<div class="charts">${svgs.map((s) => `<figure>${s}</figure>`).join('\n')}</div>
<h2>Weakest ${e(heading)} per run</h2>
${worst}
<h2>Run configurations</h2>
${configs}
</body></html>
`;
}

/** CSS of the leaderboard table, shared with the viewer. */
export const LEADERBOARD_STYLE = `table#leaderboard th,table#leaderboard td{text-align:right}table#leaderboard th.text,table#leaderboard td.text,table#leaderboard td:first-child,table#leaderboard th:first-child{text-align:left}
tr.published td,tr.baseline td{color:#666;font-style:italic}.ci{color:#888;font-size:.85em;white-space:nowrap}`;

/**
 * The leaderboard as an HTML table (value, CI and n in every cell), the caveats of published rows
 * and the paired comparisons: the same block in the report file and in the viewer.
 */
export function leaderboardSection(lb: Leaderboard): string {
  const header = ['run', 'model / source', 'n', ...lb.columns.map((c) => c.label)];
  const rows = lb.rows
    .map((r) => {
      const cells = lb.columns.map((c) => {
        const v = r.cells[c.key];
        if (!v) return '<td>-</td>';
        const ci = v.ci95 ? `<br><span class="ci">${pct(v.ci95[0])}-${pct(v.ci95[1])}</span>` : '';
        return `<td>${pct(v.value)}${ci}${v.n !== undefined ? `<br><span class="ci">n=${v.n}</span>` : ''}</td>`;
      });
      const who = r.kind === 'run' ? `${r.model}${r.settings ? ` (${r.settings})` : ''}` : `${r.kind === 'published' ? 'published: ' : 'reference: '}${r.settings ?? ''}`;
      const title = r.runId && r.runId !== r.name ? ` title="run ${e(r.runId)}"` : '';
      return `<tr class="${r.kind}"><td${title}>${e(r.name)}${r.caveat ? '&nbsp;*' : ''}</td><td class="text">${e(who)}</td><td>${e(r.summary?.counts.evaluated ?? '')}</td>${cells.join('')}</tr>`;
    })
    .join('\n');
  const caveats = [...new Set(lb.rows.map((r) => r.caveat).filter(Boolean))].map((c) => `<p class="ci">* ${e(c)}.</p>`).join('') + [...blockLines(lb), ...(lb.notes ?? [])].map((n) => `<p class="method">${e(n)}</p>`).join('');
  const comparisons = lb.comparisons.length
    ? `<h2>Paired comparisons</h2><ul id="comparisons">${lb.comparisons.map((c) => `<li>${e(c.sentence)}</li>`).join('')}</ul><p class="method">${e(comparisonsNote(lb))}, on the samples both runs answered; differences with p &ge; 0.05 are reported as not distinguishable.</p>`
    : '';
  const title = (i: number) => (i >= 3 ? ` title="${lb.columns[i - 3].better} is better"` : '');
  return `<table id="leaderboard"><thead><tr>${header.map((h, i) => `<th${i === 1 ? ' class="text"' : ''}${title(i)}>${e(h)}</th>`).join('')}</tr></thead><tbody>
${rows}
</tbody></table>
<p class="ci">${e(directionsOf(lb))}</p>
${caveats}
${comparisons}`;
}

/**
 * A few wrong answers from the weakest groups, verbatim (and escaped): what a reader needs to believe
 * the numbers. The first five of those groups (others when they have fewer) in the store's key
 * order, streamed: a run of any size holds ten rows at most, and the scan stops at five.
 */
async function wrongExamples(store: Store, runId: string, key: string, groups: Set<string>): Promise<string> {
  const weak: ResultRow[] = [];
  const other: ResultRow[] = [];
  for await (const r of store.scanResults(runId)) {
    if (r.status !== 'ok' || r.correct !== false) continue;
    const list = groups.has(fieldOf(r, key) ?? '') ? weak : other;
    if (list.length < 5) list.push(r);
    if (weak.length === 5) break;
  }
  const shown = [...weak, ...other].slice(0, 5);
  if (!shown.length) return '';
  return `<details><summary>${shown.length} wrong answers</summary><table><tr><th>id</th><th>${key}</th><th>label</th><th>verdict</th><th>response</th></tr>${shown
    .map((r) => `<tr><td>${e(r.sampleId)}</td><td class="text">${e(fieldOf(r, key))}</td><td>${e(r.label)}</td><td>${e(r.prediction)}</td><td class="text"><pre>${e((r.response ?? '').slice(0, 600))}</pre></td></tr>`)
    .join('')}</table></details>`;
}
