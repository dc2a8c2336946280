import type { ResultRow } from '../../core/types.ts';
import { escapeHtml as e } from '../../report/escape.ts';
import type { ResultFilter } from '../../store/store.ts';
import type { Routes } from '../context.ts';
import { page, query } from '../layout.ts';
import { filteredRows, filterOf, filterParams, OUTCOMES, outcomeOf, verdictWords, type ViewFilter } from '../verdicts.ts';
import { goldCell, verdictCell } from '../parts.ts';
import { pageParam } from '../params.ts';

const PAGE_SIZE = 50;

function filterForm(all: ResultRow[], filter: ViewFilter): string {
  const options = (key: 'subset' | 'scenario' | 'category', current?: string) =>
    `<option value="">all</option>${[...new Set(all.map((r) => r[key]).filter(Boolean) as string[])].sort().map((v) => `<option${v === current ? ' selected' : ''}>${e(v)}</option>`).join('')}`;
  return `<form class="filters" method="get">
<label>subset<select name="subset">${options('subset', filter.subset)}</select></label>
<label>scenario<select name="scenario">${options('scenario', filter.scenario)}</select></label>
<label>category<select name="category">${options('category', filter.category)}</select></label>
<label>outcome<select name="outcome"><option value="">all</option>${OUTCOMES.map((o) => `<option${o === filter.outcome ? ' selected' : ''}>${o}</option>`).join('')}</select></label>
<label>search<input name="q" value="${e(filter.search ?? '')}" placeholder="text in the answer or id"></label>
${filter.vs ? `<input type="hidden" name="vs" value="${e(filter.vs)}"><input type="hidden" name="pair" value="${e(filter.pair)}">` : ''}<button type="submit">filter</button></form>`;
}

/** The filterable, paged table of one run's samples. */
export const samplesPage: Routes = (app, { store }) => {
  app.get('/runs/:id/samples', async (c) => {
    const id = c.req.param('id');
    const run = await store.getRun(id);
    if (!run) return c.html(page('not found', `<p>No run ${e(id)}.</p>`), 404);
    const filter = filterOf((k) => c.req.query(k));
    let pageNo: number;
    try {
      pageNo = pageParam(c.req.query('page'));
    } catch (error) {
      return c.html(page('bad request', `<p class="bad">${e((error as Error).message)}</p>`), 400);
    }
    const matching = await filteredRows(store, id, filter);
    const total = matching.length;
    const rows = matching.slice((pageNo - 1) * PAGE_SIZE, pageNo * PAGE_SIZE);
    const base = filterParams(filter);
    const human = new Map((await store.labels(id)).map((l) => [l.sampleId, l.verdict]));
    const words = verdictWords(run.protocol);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const row = (r: ResultRow) => {
      const link = `/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(r.sampleId)}${query(base)}`;
      return `<tr class="sample"><td class="id"><a href="${link}">${e(r.sampleId)}</a>${r.repeat ? ` <span class="muted">answer ${e(r.repeat + 1)}</span>` : ''}</td><td class="thumb"><a href="${link}" tabindex="-1"><img class="mini" loading="lazy" src="/image/${encodeURIComponent(id)}/${encodeURIComponent(r.sampleId)}" alt=""></a></td><td class="subset">${e(r.subset)}<br><span class="muted">${e(r.scenario ?? r.category ?? '')}</span></td><td class="prompt">${e((r.prompt ?? '').slice(0, 200))}</td><td class="gold">${goldCell(r)}</td><td class="verdict">${verdictCell(r)}</td><td class="outcome ${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</td><td class="response"><pre>${e((r.response ?? r.errorMessage ?? '').slice(0, 160))}</pre></td><td class="human">${human.has(r.sampleId) ? e(human.get(r.sampleId) ? words.yes : words.no) : ''}</td></tr>`;
    };
    const body = `<h1><a href="/runs/${encodeURIComponent(id)}">${e(id)}</a>: samples</h1>
${filterForm(await store.results(id), filter)}
${filter.vs ? `<p id="discordant-filter">only samples ${e(filter.pair === 'b-right' ? `${filter.vs} got right and ${id} wrong` : `${id} got right and ${filter.vs} wrong`)} · <a href="/runs/${encodeURIComponent(id)}/samples">all samples</a></p>` : ''}
<p id="count">${total} samples · page ${pageNo} of ${pages} · in id order</p>
<table id="samples"><tr><th>id</th><th>image</th><th>subset</th><th>prompt</th><th>gold</th><th>${run.protocol === 'response' ? 'judge' : 'model'} verdict</th><th>outcome</th><th>response</th><th>human label</th></tr>
${rows.map(row).join('')}</table>
<div class="pager">${pageNo > 1 ? `<a href="${query({ ...base, page: pageNo - 1 })}">previous</a>` : ''}${pageNo < pages ? `<a id="next-page" href="${query({ ...base, page: pageNo + 1 })}">next</a>` : ''}</div>`;
    return c.html(page(`${id} samples`, body));
  });
};
