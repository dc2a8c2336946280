import type { ResultRow, Sample } from '../../core/types.ts';
import { protocolSpec } from '../../benchmarks/registry.ts';
import type { ProtocolName } from '../../benchmarks/types.ts';
import { escapeHtml as e } from '../../report/escape.ts';
import type { HumanLabel, RunRecord } from '../../store/store.ts';
import type { Routes } from '../context.ts';
import { page, query } from '../layout.ts';
import { goldAndVerdict } from '../parts.ts';
import { filterOf, machineVerdict, outcomeOf, verdictSource, verdictWords, walkList } from '../verdicts.ts';

/** The keyboard shortcuts of sample pages, served as a file so the pages need no inline script. */
const KEYS_JS = `document.addEventListener('keydown',function(ev){
if(ev.ctrlKey||ev.metaKey||ev.altKey||(ev.target&&/INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)))return;
var k=ev.key,el=function(id){return document.getElementById(id);};
if(k==='s'&&el('label-yes'))el('label-yes').click();
else if(k==='u'&&el('label-no'))el('label-no').click();
else if((k==='n'||k==='ArrowRight')&&el('next'))location.href=el('next').href;
else if((k==='p'||k==='ArrowLeft')&&el('prev'))location.href=el('prev').href;});
`;

interface SampleView {
  run: RunRecord;
  row: ResultRow;
  /** Every stored answer of the item, by repeat (`--samples K`); `row` is the first. */
  repeats: ResultRow[];
  sample?: Sample;
  label?: HumanLabel;
  /** The list walked by previous / next, and the query that keeps it. */
  ids: string[];
  keep: Record<string, string | undefined>;
  others: string[];
  /** The viewer's write token, carried by the label form. */
  token: string;
}

/** The two verdict cards: the machine's (model or judge) and the person's label form. */
function verdictCards(v: SampleView): string {
  const { run, row, label, keep, token } = v;
  const words = verdictWords(run.protocol);
  const machine = machineVerdict(row);
  const machineText = machine === undefined ? e(row.prediction ?? '-') : e(machine ? words.yes : words.no);
  const agreeMark = label && machine !== undefined ? ` <span id="label-agrees" class="${label.verdict === machine ? 'ok' : 'bad'}">(${label.verdict === machine ? 'agrees' : 'disagrees'} with the ${verdictSource(run.protocol)})</span>` : '';
  const hidden = Object.entries(keep).filter(([, x]) => x !== undefined).map(([k, x]) => `<input type="hidden" name="${e(k)}" value="${e(x)}">`).join('');
  const details = row.details ?? {};
  return `<div class="grid verdicts"><div class="card"><h2>${run.protocol === 'response' ? 'Judge' : 'Model'}</h2><p>verdict <b id="verdict">${e(row.prediction ?? '-')}</b> (${machineText}) · <span class="${row.correct ? 'ok' : 'bad'}">${e(outcomeOf(row))}</span></p>${details.rationale ? `<p>judge's rationale: <i id="rationale">${e(details.rationale)}</i></p>` : ''}<p class="muted">${details.refusal !== undefined ? `refusal flag ${e(details.refusal)} · ` : ''}${details.cached_answer ? 'answer from the cache (no latency)' : `${e(row.latencyMs ?? '-')} ms`}</p></div>
<div class="card"><h2>Your label</h2><p id="human-label">${label ? `you said: <b>${label.verdict ? e(words.yes) : e(words.no)}</b>${agreeMark}` : 'not labelled yet'}</p>
<form method="post" action="/runs/${encodeURIComponent(run.id)}/samples/${encodeURIComponent(row.sampleId)}/label">${hidden}<input type="hidden" name="token" value="${e(token)}">
<button name="verdict" value="true" id="label-yes"><kbd>s</kbd> ${e(words.yes)}</button> <button name="verdict" value="false" id="label-no"><kbd>u</kbd> ${e(words.no)}</button></form></div></div>`;
}

/** Every answer of an item asked several times (`--samples K`), each with its verdict; nothing for one answer. */
function repeatsTable({ repeats }: SampleView): string {
  if (repeats.length < 2) return '';
  const line = (r: ResultRow) =>
    `<tr class="repeat"><td>${e((r.repeat ?? 0) + 1)}</td><td>${e(r.prediction ?? '-')}</td><td class="${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</td><td><pre>${e(r.response ?? `${r.errorKind}: ${r.errorMessage}`)}</pre></td></tr>`;
  return `<h2>All ${repeats.length} answers</h2><table id="repeats"><tr><th>answer</th><th>verdict</th><th>outcome</th><th>response</th></tr>${repeats.map(line).join('')}</table>`;
}

function samplePage(v: SampleView): string {
  const { run, row, sample, ids, keep, others } = v;
  const id = run.id;
  const sid = row.sampleId;
  // What was sent, as stored with the answer (after any method or ablation); rebuilt from the
  // dataset only for rows stored before mmsafe kept it.
  const template = protocolSpec(run.benchmark, run.protocol as ProtocolName)?.prompt;
  const prompt = row.prompt ?? (sample && template ? template(sample) : '(dataset not available)');
  const reference = row.reference ?? sample?.reference;
  const at = ids.indexOf(sid);
  const link = (i: number) => (i >= 0 && i < ids.length ? `/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(ids[i])}${query(keep)}` : '');
  const img = `/image/${encodeURIComponent(id)}/${encodeURIComponent(sid)}`;
  return `<h1>Sample ${e(sid)} <span class="muted">of <a href="/runs/${encodeURIComponent(id)}/samples">${e(id)}</a></span></h1>
<div class="grid"><div>${sample?.image ? `<a href="${img}?full=1"><img id="sample-image" class="thumb" src="${img}" alt="sample image"></a>` : '<p class="muted">no image</p>'}</div>
<div>${row.system ? `<h2>System prompt</h2><pre id="system">${e(row.system)}</pre>` : ''}<h2>Prompt</h2><pre id="prompt">${e(prompt)}</pre>${reference ? `<h2>Reference</h2><pre>${e(reference)}</pre>` : ''}
${goldAndVerdict(row, run.protocol)}<p>subset ${e(row.subset)} · ${e(row.scenario ?? row.category ?? '')}</p></div></div>
<h2>Response</h2><pre id="response">${e(row.response ?? `${row.errorKind}: ${row.errorMessage}`)}</pre>
${repeatsTable(v)}${verdictCards(v)}
<p class="pager">${at > 0 ? `<a id="prev" href="${link(at - 1)}">&larr; previous (<kbd>p</kbd>)</a>` : ''}${at < ids.length - 1 ? `<a id="next" href="${link(at + 1)}">next (<kbd>n</kbd>) &rarr;</a>` : ''}
${others.length ? `<a href="/samples/${encodeURIComponent(sid)}${query({ runs: [id, ...others].join(',') })}">this sample in all ${e(run.benchmark)} runs</a>` : ''}</p>`;
}

/** One sample with its image, answer and verdict, and the human-label form and export. */
export const samplePages: Routes = (app, { store, samples, token }) => {
  app.get('/assets/keys.js', (c) => {
    c.header('content-type', 'text/javascript; charset=utf-8');
    return c.body(KEYS_JS);
  });

  app.get('/runs/:id/samples/:sid', async (c) => {
    const id = c.req.param('id');
    const sid = c.req.param('sid');
    const run = await store.getRun(id);
    const repeats = run ? await store.resultsOf(id, sid) : [];
    const row = repeats[0];
    if (!run || !row) return c.html(page('not found', `<p>No sample ${e(sid)} in run ${e(id)}.</p>`), 404);
    // Previous / next walk the list the person filtered to, so a labelling pass covers exactly it.
    const { ids, keep } = await walkList(store, id, sid, filterOf((k) => c.req.query(k)));
    const view: SampleView = {
      run,
      row,
      repeats,
      sample: await samples.sample(id, sid),
      label: (await store.labels(id)).find((l) => l.sampleId === sid),
      ids,
      keep,
      others: (await store.listRuns()).filter((r) => r.id !== id && r.benchmark === run.benchmark).map((r) => r.id),
      token,
    };
    return c.html(page(`${id} ${sid}`, samplePage(view), '/assets/keys.js'));
  });

  app.post('/runs/:id/samples/:sid/label', async (c) => {
    const id = c.req.param('id');
    const sid = c.req.param('sid');
    if (!await store.result(id, sid)) return c.text('no such sample', 404);
    const form = await c.req.parseBody();
    if (form.verdict !== 'true' && form.verdict !== 'false') return c.text('verdict must be true or false', 400);
    await store.putLabel({ runId: id, sampleId: sid, verdict: form.verdict === 'true' });
    // Move on to the next sample of the list being labelled (the filtered one, if any).
    const { ids, keep } = await walkList(store, id, sid, filterOf((k) => (typeof form[k] === 'string' ? (form[k] as string) : undefined)));
    const next = ids[ids.indexOf(sid) + 1] ?? sid;
    return c.redirect(`/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(next)}${query(keep)}`, 303);
  });

  app.get('/runs/:id/labels.jsonl', async (c) => {
    const lines = (await store.labels(c.req.param('id'))).map((l) => JSON.stringify({ id: l.sampleId, verdict: l.verdict }));
    c.header('content-type', 'application/x-ndjson');
    return c.body(lines.length ? `${lines.join('\n')}\n` : '');
  });
};
