import { escapeHtml as e } from '../../report/escape.ts';
import type { Store } from '../../store/store.ts';
import type { Routes } from '../context.ts';
import { page } from '../layout.ts';
import { outcomeOf, verdictWords } from '../verdicts.ts';

async function card(store: Store, id: string, sid: string): Promise<string> {
  const r = await store.result(id, sid);
  if (!r) return `<div class="card"><h2>${e(id)}</h2><p class="muted">not in this run</p></div>`;
  const run = await store.getRun(id);
  const human = (await store.labels(id)).find((l) => l.sampleId === sid);
  const words = verdictWords(run?.protocol ?? 'awareness');
  const rationale = r.details?.rationale ? `<p>judge: <i>${e(r.details.rationale)}</i></p>` : '';
  return `<div class="card"><h2><a href="/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(sid)}">${e(id)}</a></h2><p>${e(run?.model)}</p><p>verdict <b>${e(r.prediction ?? '-')}</b> · <span class="${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</span>${human ? ` · human: ${e(human.verdict ? words.yes : words.no)}` : ''}</p>${rationale}<pre>${e(r.response ?? r.errorMessage ?? '')}</pre></div>`;
}

/** The same sample side by side in several runs. */
export const acrossRunsPage: Routes = (app, { store }) => {
  app.get('/samples/:sid', async (c) => {
    const sid = c.req.param('sid');
    const ids = (c.req.query('runs') ?? '').split(',').filter(Boolean);
    const cards = (await Promise.all(ids.map((id) => card(store, id, sid)))).join('');
    const first = ids[0];
    const img = first ? `<img class="thumb" src="/image/${encodeURIComponent(first)}/${encodeURIComponent(sid)}" alt="sample image">` : '';
    return c.html(page(`sample ${sid}`, `<h1>Sample ${e(sid)} across runs</h1>${img}<div class="grid">${cards}</div>`));
  });
};
