import type { ResultRow } from '../../core/types.ts';
import { escapeHtml as e } from '../../report/escape.ts';
import type { ResultFilter } from '../../store/store.ts';
import type { Routes } from '../context.ts';
import { page, query } from '../layout.ts';
import { filterOf, filterParams, OUTCOMES, outcomeOf, verdictWords } from '../verdicts.ts';

const PAGE_SIZE = 50;

function filterForm(all: ResultRow[], filter: ResultFilter): string {
  const options = (key: 'subset' | 'scenario' | 'category', current?: string) =>
    `<option value="">all</option>${[...new Set(all.map((r) => r[key]).filter(Boolean) as string[])].sort().map((v) => `<option${v === current ? ' selected' : ''}>${e(v)}</option>`).join('')}`;
  return `<form class="filters" method="get">
<label>subset<select name="subset">${options('subset', filter.subset)}</select></label>
<label>scenario<select name="scenario">${options('scenario', filter.scenario)}</select></label>
<label>category<select name="category">${options('category', filter.category)}</select></label>
<label>outcome<select name="outcome"><option value="">all</option>${OUTCOMES.map((o) => `<option${o === filter.outcome ? ' selected' : ''}>${o}</option>`).join('')}</select></label>
<label>search<input name="q" value="${e(filter.search ?? '')}" placeholder="text in the answer or id"></label>
<button type="submit">filter</button></form>`;
}

/** The filterable, paged table of one run's samples. */
export const samplesPage: Routes = (app, { store }) => {
  app.get('/runs/:id/samples', async (c) => {
    const id = c.req.param('id');
    const run = await store.getRun(id);
    if (!run) return c.html(page('not found', `<p>No run ${e(id)}.</p>`), 404);
    const filter = filterOf((k) => c.req.query(k));
    const pageNo = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
    const { rows, total } = await store.queryResults(id, filter, (pageNo - 1) * PAGE_SIZE, PAGE_SIZE);
    const base = filterParams(filter);
    const human = new Map((await store.labels(id)).map((l) => [l.sampleId, l.verdict]));
    const words = verdictWords(run.protocol);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const row = (r: ResultRow) =>
      `<tr class="sample"><td><a href="/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(r.sampleId)}${query(base)}">${e(r.sampleId)}</a></td><td>${e(r.subset)}</td><td>${e(r.scenario ?? r.category)}</td><td>${e(r.label)}</td><td>${e(r.prediction)}</td><td class="${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</td><td><pre>${e((r.response ?? r.errorMessage ?? '').slice(0, 160))}</pre></td><td>${human.has(r.sampleId) ? e(human.get(r.sampleId) ? words.yes : words.no) : ''}</td></tr>`;
    const body = `<h1><a href="/runs/${encodeURIComponent(id)}">${e(id)}</a>: samples</h1>
${filterForm(await store.results(id), filter)}
<p id="count">${total} samples · page ${pageNo} of ${pages}</p>
<table id="samples"><tr><th>id</th><th>subset</th><th>scenario / category</th><th>label</th><th>verdict</th><th>outcome</th><th>response</th><th>human label</th></tr>
${rows.map(row).join('')}</table>
<div class="pager">${pageNo > 1 ? `<a href="${query({ ...base, page: pageNo - 1 })}">previous</a>` : ''}${pageNo < pages ? `<a id="next-page" href="${query({ ...base, page: pageNo + 1 })}">next</a>` : ''}</div>`;
    return c.html(page(`${id} samples`, body));
  });
};
