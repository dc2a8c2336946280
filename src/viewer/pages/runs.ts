import type { Context } from 'hono';
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
import { discordantOf, headline, methodOf, rightOf, summaryBlock } from '../parts.ts';
import { BUSY, type HeavyPages } from '../heavy.ts';
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
  if (!labels.length) return { count: 0, html: '' };
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
function discordantLinks(right: Map<string, Map<string, boolean>>, labels: Map<string, string>): string {
  const ids = [...right.keys()];
  const items: string[] = [];
  for (let i = 0; i < ids.length && items.length < 40; i++) {
    for (let j = i + 1; j < ids.length; j++) {
      const [a, b] = [ids[i], ids[j]];
      const pairs = discordantOf(right.get(a)!, right.get(b)!);
      const link = (pair: 'a-right' | 'b-right', text: string) => (pairs[pair].size ? `<a href="/runs/${encodeURIComponent(a)}/samples${query({ vs: b, pair })}">${pairs[pair].size} ${text}</a>` : `0 ${text}`);
      // Named as the leaderboard above names them; the links lead to the runs' own sample tables.
      const [la, lb] = [labels.get(a) ?? a, labels.get(b) ?? b];
      items.push(`<li>${link('a-right', `${e(la)} right, ${e(lb)} wrong`)} · ${link('b-right', `${e(lb)} right, ${e(la)} wrong`)}</li>`);
    }
  }
  return items.length ? `<h2>Where they differ</h2><p class="muted">The discordant pairs of the paired test: samples one run got right and the other wrong.</p><ul id="discordant">${items.join('')}</ul>` : '';
}

/** Each compared run's verdicts, read once (not once per pair). */
async function correctness(store: Store, ids: string[]): Promise<Map<string, Map<string, boolean>>> {
  const out = new Map<string, Map<string, boolean>>();
  for (const id of ids) out.set(id, await rightOf(store, id));
  return out;
}

/**
 * Each run's summary for the runs list, kept under the run's stamp: only runs that are new or
 * changed since the list was last shown are summarised (together, in one turn of the gate).
 */
async function listSummaries(heavy: HeavyPages, runs: RunRecord[]): Promise<Map<string, RunSummary | undefined> | typeof BUSY> {
  const keys = new Map(await Promise.all(runs.map(async (r) => [r.id, `summary:${r.id}:${await heavy.stampOf([r])}`] as const)));
  const missing = runs.filter((r) => !heavy.hasSummary(keys.get(r.id)!));
  const fresh = missing.length
    ? await heavy.compute(`list:${missing.map((r) => keys.get(r.id)).join(',')}`, async (reader) => {
        const out = new Map<string, RunSummary | null>();
        for (const r of missing) {
          // A run whose protocol this version no longer defines shows no headline ("-").
          const s = await summarizeStoredRun(reader, r.id, { replicates: 0 }).catch(() => null);
          heavy.rememberSummary(keys.get(r.id)!, s);
          out.set(r.id, s);
        }
        return out;
      }, 'none')
    : new Map<string, RunSummary | null>();
  if (fresh === BUSY) return BUSY;
  return new Map(runs.map((r) => [r.id, (fresh.get(r.id) ?? heavy.summary<RunSummary | null>(keys.get(r.id)!)) ?? undefined]));
}

const busy = (c: Context) => c.text('the viewer is busy summarising other runs; try again in a moment', 503, { 'retry-after': '2' });

/** The runs list, the comparison of several runs, and one run's overview. */
export const runPages: Routes = (app, { store, heavy }) => {
  app.get('/', async (c) => {
    // Newest first (the store's order); the headline metric needs each run's summary, not its intervals (no bootstrap).
    const runs = await store.listRuns();
    const summaries = await listSummaries(heavy, runs);
    if (summaries === BUSY) return busy(c);
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
      const runs = await Promise.all(ids.map((id) => store.getRun(id)));
      const known = runs.every(Boolean) ? await heavy.stampOf(runs as RunRecord[]) : 'unknown';
      const html = await heavy.compute(`compare:${ids.join(',')}:${known}`, async (reader) => {
        const lb = await buildLeaderboard(reader, ids);
        return page('compare', `<h1>Leaderboard: ${e(lb.benchmark)}</h1>${leaderboardSection(lb)}${discordantLinks(await correctness(reader, ids), runLabels(lb.runs))}${await chartsOf(lb)}`);
      });
      if (html === BUSY) return busy(c);
      return c.html(html);
    } catch (error) {
      return c.html(page('compare', `<p class="bad">${e((error as Error).message)}</p>`), 400);
    }
  });

  app.get('/runs/:id', async (c) => {
    const id = c.req.param('id');
    const run = await store.getRun(id);
    if (!run) return c.html(page('not found', `<p>No run ${e(id)}.</p>`), 404);
    const parts = await heavy.compute(`run:${id}:${await heavy.stampOf([run])}`, async (reader) => {
      const lb = await buildLeaderboard(reader, [id]);
      const summary = lb.rows.find((r) => r.kind === 'run')?.summary;
      return `${summary ? summaryBlock(run, summary) : ''}${leaderboardSection(lb)}${await chartsOf(lb)}`;
    });
    if (parts === BUSY) return busy(c);
    // Labels change with every click on a sample page: counted fresh, never kept.
    const labels = await agreementLine(store, id, run.protocol);
    const runLink = `/runs/${encodeURIComponent(id)}`;
    return c.html(
      page(
        id,
        `<h1>${e(id)}</h1><p>${e(run.model)} on ${e(run.benchmark)} (${e(run.protocol)})</p>${failureOf(run) ? `<p class="bad" id="failure">failed: ${e(failureOf(run)!)}</p>` : ''}
<p><a href="${runLink}/samples">samples</a> · <a href="${runLink}/samples${query({ outcome: 'incorrect' })}">incorrect only</a> · ${labels.count} human labels (<a href="${runLink}/labels.jsonl" download="${e(id)}-labels.jsonl">export {id, verdict} JSONL</a>)${labels.html}</p>
${parts}`,
      ),
    );
  });
};
