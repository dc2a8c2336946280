import { heatmapSpec, renderSvg, subsetBarsSpec, tradeoffSpec } from '../../report/charts.ts';
import { escapeHtml as e } from '../../report/escape.ts';
import { leaderboardSection } from '../../report/html.ts';
import { buildLeaderboard, type Leaderboard } from '../../report/leaderboard.ts';
import { runLabels } from '../../report/run-labels.ts';
import { evaluableOf, failureOf } from '../../store/run-status.ts';
import type { RunRecord, Store } from '../../store/store.ts';
import type { Routes } from '../context.ts';
import { page, query } from '../layout.ts';
import { runIdsParam } from '../params.ts';
import { machineVerdict, verdictSource } from '../verdicts.ts';
import { discordantIds, headline, methodOf, summaryBlock } from '../parts.ts';
import { scoredResults, summarizeStoredRun, type RunSummary } from '../../report/summary.ts';

/** A failed run's status carries its reason on hover; the run page shows it in full. */
const statusCell = (r: RunRecord): string => (failureOf(r) ? `<span class="bad" title="${e(failureOf(r)!)}">failed</span>` : e(r.status));

async function chartsOf(lb: Leaderboard): Promise<string> {
  const svgs = await Promise.all([heatmapSpec(lb), tradeoffSpec(lb), subsetBarsSpec(lb)].filter(Boolean).map((s) => renderSvg(s!)));
  return `<h2>Charts</h2><div class="charts">${svgs.map((s) => `<div>${s}</div>`).join('')}</div>`;
}

/** How often the human labels agree with the stored verdicts, as one sentence (empty with no overlap). */
async function agreementLine(store: Store, id: string, protocol: string): Promise<{ count: number; html: string }> {
  const labels = await store.labels(id);
  const byId = new Map((await scoredResults(store, id)).map((r) => [r.sampleId, r]));
  let compared = 0;
  let agreed = 0;
  for (const l of labels) {
    const r = byId.get(l.sampleId);
    const v = r ? machineVerdict(r) : undefined;
    if (v === undefined) continue;
    compared++;
    if (v === l.verdict) agreed++;
  }
  const html = compared
    ? ` · the ${verdictSource(protocol)} agrees with <span id="label-agreement">${agreed} of ${compared}</span> (${((agreed / compared) * 100).toFixed(1)}%; <code>mmsafe judge-agreement --run ${e(id)} --labels FILE</code> adds Cohen's kappa)`
    : '';
  return { count: labels.length, html };
}

/** For every pair of compared runs: the samples one got right and the other wrong, as filtered sample tables. */
async function discordantLinks(store: Store, ids: string[], labels: Map<string, string>): Promise<string> {
  const items: string[] = [];
  for (let i = 0; i < ids.length && items.length < 40; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const [a, b] = [ids[i], ids[j]];
      const [aRight, bRight] = await Promise.all([discordantIds(store, a, b, 'a-right'), discordantIds(store, a, b, 'b-right')]);
      const link = (pair: string, n: number, text: string) => (n ? `<a href="/runs/${encodeURIComponent(a)}/samples${query({ vs: b, pair })}">${n} ${text}</a>` : `0 ${text}`);
      // Named as the leaderboard above names them; the links lead to the runs' own sample tables.
      const [la, lb] = [labels.get(a) ?? a, labels.get(b) ?? b];
      items.push(`<li>${link('a-right', aRight.size, `${e(la)} right, ${e(lb)} wrong`)} · ${link('b-right', bRight.size, `${e(lb)} right, ${e(la)} wrong`)}</li>`);
    }
  }
  return items.length ? `<h2>Where they differ</h2><p class="muted">The discordant pairs of the paired test: samples one run got right and the other wrong.</p><ul id="discordant">${items.join('')}</ul>` : '';
}

/** The runs list, the comparison of several runs, and one run's overview. */
export const runPages: Routes = (app, { store, heavy }) => {
  app.get('/', async (c) => {
    // Newest first (the store's order); the headline metric needs each run's summary, not its intervals (no bootstrap).
    const runs = await store.listRuns();
    const summaries = new Map<string, RunSummary | undefined>(await Promise.all(runs.map(async (r) => [r.id, await summarizeStoredRun(store, r.id, { replicates: 0 }).catch(() => undefined)] as const)));
    const rows = runs
      .map((r) => `<tr><td><input type="checkbox" name="run" value="${e(r.id)}" form="compare-form" aria-label="compare ${e(r.id)}"></td><td><a href="/runs/${encodeURIComponent(r.id)}">${e(r.id)}</a></td><td>${e(r.model)}</td><td>${e(methodOf(r))}</td><td class="headline">${e(headline(summaries.get(r.id)))}</td><td>${statusCell(r)}</td><td>${e(r.benchmark)} (${e(r.protocol)})</td><td class="num">${r.done}/${evaluableOf(r)}</td><td class="num">${r.errors}</td><td>${e(r.createdAt.slice(0, 16).replace('T', ' '))}</td></tr>`)
      .join('');
    const byBenchmark = new Map<string, string[]>();
    // Failed runs measured nothing: left out of "compare all" (tick them to compare them anyway).
    for (const r of runs) if (r.status !== 'failed') byBenchmark.set(r.benchmark, [...(byBenchmark.get(r.benchmark) ?? []), r.id]);
    const compare = [...byBenchmark.entries()].filter(([, ids]) => ids.length > 1).map(([b, ids]) => `<a href="/compare${query({ runs: ids.join(',') })}">compare all ${e(b)} runs</a>`).join(' · ');
    const pick = runs.length > 1 ? '<form id="compare-form" method="get" action="/compare"><button type="submit">compare the selected runs</button></form>' : '';
    return c.html(page('runs', `<h1>Runs</h1>${compare ? `<p>${compare}</p>` : ''}${pick}<table id="runs"><tr><th></th><th>run</th><th>model</th><th>method</th><th>headline</th><th>status</th><th>benchmark</th><th>done/total</th><th>errors</th><th>created</th></tr>${rows}</table>`));
  });

  app.get('/compare', async (c) => {
    // runs=A,B from links, or run=A&run=B from the runs list's checkboxes.
    try {
      const ids = runIdsParam(c.req.query('runs'), c.req.queries('run'));
      const html = await heavy.run(async () => {
        const lb = await buildLeaderboard(store, ids);
        return page('compare', `<h1>Leaderboard: ${e(lb.benchmark)}</h1>${leaderboardSection(lb)}${await discordantLinks(store, ids, runLabels(lb.runs))}${await chartsOf(lb)}`);
      });
      if (html === undefined) return c.text('the viewer is busy with other comparisons; try again in a moment', 503, { 'retry-after': '2' });
      return c.html(html);
    } catch (error) {
      return c.html(page('compare', `<p class="bad">${e((error as Error).message)}</p>`), 400);
    }
  });

  app.get('/runs/:id', async (c) => {
    const id = c.req.param('id');
    const run = await store.getRun(id);
    if (!run) return c.html(page('not found', `<p>No run ${e(id)}.</p>`), 404);
    const lb = await buildLeaderboard(store, [id]);
    const summary = lb.rows.find((r) => r.kind === 'run')?.summary;
    const labels = await agreementLine(store, id, run.protocol);
    const runLink = `/runs/${encodeURIComponent(id)}`;
    return c.html(
      page(
        id,
        `<h1>${e(id)}</h1><p>${e(run.model)} on ${e(run.benchmark)} (${e(run.protocol)})</p>${failureOf(run) ? `<p class="bad" id="failure">failed: ${e(failureOf(run)!)}</p>` : ''}
<p><a href="${runLink}/samples">samples</a> · <a href="${runLink}/samples${query({ outcome: 'incorrect' })}">incorrect only</a> · ${labels.count} human labels (<a href="${runLink}/labels.jsonl" download="${e(id)}-labels.jsonl">export {id, verdict} JSONL</a>)${labels.html}</p>
${summary ? summaryBlock(run, summary) : ''}${leaderboardSection(lb)}${await chartsOf(lb)}`,
      ),
    );
  });
};
