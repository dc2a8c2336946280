import { escapeHtml as e } from '../../report/escape.ts';
import type { Store } from '../../store/store.ts';
import type { Routes, ViewerContext } from '../context.ts';
import { goldCell, verdictCell } from '../parts.ts';
import { protocolSpec } from '../../benchmarks/registry.ts';
import type { ProtocolName } from '../../benchmarks/types.ts';
import { page } from '../layout.ts';
import { runIdsParam } from '../params.ts';
import { outcomeOf, verdictWords } from '../verdicts.ts';

async function card(store: Store, id: string, sid: string): Promise<string> {
  const r = await store.result(id, sid);
  if (!r) return `<div class="card"><h2>${e(id)}</h2><p class="muted">not in this run</p></div>`;
  const run = await store.getRun(id);
  const human = (await store.labels(id)).find((l) => l.sampleId === sid);
  const words = verdictWords(run?.protocol ?? 'awareness');
  const rationale = r.details?.rationale ? `<p>judge: <i>${e(r.details.rationale)}</i></p>` : '';
  return `<div class="card"><h2><a href="/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(sid)}">${e(id)}</a></h2><p>${e(run?.model)}</p><p>${verdictCell(r)} · <span class="${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</span>${human ? ` · human: ${e(human.verdict ? words.yes : words.no)}` : ''}</p>${rationale}<pre>${e(r.response ?? r.errorMessage ?? '')}</pre></div>`;
}

/** The same sample side by side in several runs. */
/** What was asked and what the benchmark says, once: from the first run that has the sample. */
async function askedOf(ctx: ViewerContext, ids: string[], sid: string): Promise<string> {
  for (const id of ids) {
    const r = await ctx.store.result(id, sid);
    if (!r) continue;
    const run = await ctx.store.getRun(id);
    const template = run ? protocolSpec(run.benchmark, run.protocol as ProtocolName)?.prompt : undefined;
    const sample = r.prompt === undefined ? await ctx.samples.sample(id, sid) : undefined;
    const prompt = r.prompt ?? (sample && template ? template(sample) : '(dataset not available)');
    return `<div><h2>Prompt</h2><pre id="prompt">${e(prompt)}</pre><p id="gold">gold ${goldCell(r)} · subset ${e(r.subset)}</p></div>`;
  }
  return '';
}

export const acrossRunsPage: Routes = (app, ctx) => {
  const { store } = ctx;
  app.get('/samples/:sid', async (c) => {
    const sid = c.req.param('sid');
    let ids: string[];
    try {
      ids = runIdsParam(c.req.query('runs'));
    } catch (error) {
      return c.html(page('bad request', `<p class="bad">${e((error as Error).message)}</p>`), 400);
    }
    const cards = (await Promise.all(ids.map((id) => card(store, id, sid)))).join('');
    const first = ids[0];
    const img = first ? `<img class="thumb" src="/image/${encodeURIComponent(first)}/${encodeURIComponent(sid)}" alt="sample image">` : '';
    return c.html(page(`sample ${sid}`, `<h1>Sample ${e(sid)} across runs</h1><div class="grid"><div>${img}</div>${await askedOf(ctx, ids, sid)}</div><div class="grid verdicts">${cards}</div>`));
  });
};
