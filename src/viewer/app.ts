import { readFile } from 'node:fs/promises';
import { Hono } from 'hono';
import type { ResultRow } from '../core/types.ts';
import { loadSharp } from '../images/sharp.ts';
import { sniffImageType } from '../images/sniff.ts';
import { awarenessPrompt } from '../protocols/awareness.ts';
import { heatmapSpec, renderSvg, subsetBarsSpec, tradeoffSpec } from '../report/charts.ts';
import { escapeHtml as e } from '../report/escape.ts';
import { leaderboardSection } from '../report/html.ts';
import { buildLeaderboard } from '../report/leaderboard.ts';
import type { ResultFilter, RunRecord, Store } from '../store/store.ts';
import { RunSamples } from './datasets.ts';
import { page, query } from './layout.ts';
import { evaluableOf, failureOf } from '../store/run-status.ts';

const PAGE_SIZE = 50;
const OUTCOMES = ['correct', 'incorrect', 'unparsed', 'error'] as const;

function outcomeOf(r: ResultRow): string {
  if (r.status === 'error') return `error (${r.errorKind ?? '?'})`;
  if (r.prediction === 'unparsed' || r.prediction === 'judge_error') return r.prediction;
  return r.correct ? 'correct' : 'incorrect';
}

const verdictWords = (protocol: string) =>
  protocol === 'response' ? { yes: 'answer is safe / helpful', no: 'answer is unsafe / over-cautious' } : { yes: 'pair is safe', no: 'pair is unsafe' };

/** The stored verdict in the terms of a human label: true = safe (awareness) or safe/helpful (judged). */
/** A failed run's status carries its reason on hover; the run page shows it in full. */
const statusCell = (r: RunRecord): string => (failureOf(r) ? `<span class="bad" title="${e(failureOf(r)!)}">failed</span>` : e(r.status));

const machineVerdict = (r: ResultRow): boolean | undefined => (r.status === 'ok' && (r.prediction === 'safe' || r.prediction === 'unsafe') ? r.prediction === 'safe' : undefined);

/** Who produced the verdict a human label is compared with. */
const verdictSource = (protocol: string) => (protocol === 'response' ? 'judge' : 'model');

function filterOf(q: (key: string) => string | undefined): ResultFilter {
  const outcome = q('outcome');
  return {
    subset: q('subset') || undefined,
    scenario: q('scenario') || undefined,
    category: q('category') || undefined,
    outcome: (OUTCOMES as readonly string[]).includes(outcome ?? '') ? (outcome as ResultFilter['outcome']) : undefined,
    search: q('q') || undefined,
  };
}

const filterParams = (f: ResultFilter) => ({ subset: f.subset, scenario: f.scenario, category: f.category, outcome: f.outcome, q: f.search });
const hasFilter = (f: ResultFilter) => Object.values(f).some((v) => v !== undefined);

/** The run's sample ids in table order, within the filter a person is working through. */
async function sampleOrder(store: Store, runId: string, filter: ResultFilter): Promise<string[]> {
  if (!hasFilter(filter)) return (await store.results(runId)).map((r) => r.sampleId);
  return (await store.queryResults(runId, filter, 0, Number.MAX_SAFE_INTEGER)).rows.map((r) => r.sampleId);
}

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);
const hostnameOf = (host: string | undefined) => (host ?? '').replace(/:\d+$/, '').toLowerCase();

/** The keyboard shortcuts of sample pages, served as a file so the pages need no inline script. */
const KEYS_JS = `document.addEventListener('keydown',function(ev){
if(ev.ctrlKey||ev.metaKey||ev.altKey||(ev.target&&/INPUT|TEXTAREA|SELECT/.test(ev.target.tagName)))return;
var k=ev.key,el=function(id){return document.getElementById(id);};
if(k==='s'&&el('label-yes'))el('label-yes').click();
else if(k==='u'&&el('label-no'))el('label-no').click();
else if((k==='n'||k==='ArrowRight')&&el('next'))location.href=el('next').href;
else if((k==='p'||k==='ArrowLeft')&&el('prev'))location.href=el('prev').href;});
`;

/**
 * The local viewer: runs, leaderboards and charts, a filterable sample table, sample pages with
 * image and answer, the same sample across runs, and human labels. Everything is read from the
 * store and the runs' datasets; model output is escaped wherever it is shown.
 */
export function createViewer(store: Store): Hono {
  const app = new Hono();
  const samples = new RunSamples(store);

  // The server listens on loopback only, but a web page can still reach it through the browser:
  // a Host check stops DNS rebinding, an Origin check stops other sites posting labels, and the
  // CSP keeps anything that slipped past escaping from running or loading from elsewhere.
  app.use('*', async (c, next) => {
    if (!LOOPBACK.has(hostnameOf(c.req.header('host')))) return c.text('the viewer answers on 127.0.0.1 only', 403);
    const origin = c.req.header('origin');
    if (c.req.method !== 'GET' && c.req.method !== 'HEAD' && origin !== undefined) {
      let host: string | undefined;
      try {
        host = new URL(origin).host;
      } catch {
        host = undefined;
      }
      if (!host || !LOOPBACK.has(hostnameOf(host))) return c.text('cross-origin request refused', 403);
    }
    await next();
    c.header('content-security-policy', "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; script-src 'self'; form-action 'self'; base-uri 'none'; frame-ancestors 'none'");
    c.header('x-content-type-options', 'nosniff');
    // same-origin, not no-referrer: with no-referrer browsers send "Origin: null" on the label form.
    c.header('referrer-policy', 'same-origin');
  });

  // Browsers ask for it on every page; an empty answer keeps their consoles free of 404s.
  app.get('/favicon.ico', (c) => c.body(null, 204));

  app.get('/assets/keys.js', (c) => {
    c.header('content-type', 'text/javascript; charset=utf-8');
    return c.body(KEYS_JS);
  });

  app.get('/', async (c) => {
    const runs = await store.listRuns();
    const rows = runs
      .map((r) => `<tr><td><input type="checkbox" name="run" value="${e(r.id)}" form="compare-form" aria-label="compare ${e(r.id)}"></td><td><a href="/runs/${encodeURIComponent(r.id)}">${e(r.id)}</a></td><td>${e(r.benchmark)}</td><td>${e(r.protocol)}</td><td>${e(r.model)}</td><td class="num">${r.done}/${evaluableOf(r)}</td><td class="num">${r.errors}</td><td>${statusCell(r)}</td><td>${e(r.createdAt.slice(0, 19).replace('T', ' '))}</td></tr>`)
      .join('');
    const byBenchmark = new Map<string, string[]>();
    // Failed runs measured nothing: left out of "compare all" (tick them to compare them anyway).
    for (const r of runs) if (r.status !== 'failed') byBenchmark.set(r.benchmark, [...(byBenchmark.get(r.benchmark) ?? []), r.id]);
    const compare = [...byBenchmark.entries()].filter(([, ids]) => ids.length > 1).map(([b, ids]) => `<a href="/compare${query({ runs: ids.join(',') })}">compare all ${e(b)} runs</a>`).join(' · ');
    const pick = runs.length > 1 ? '<form id="compare-form" method="get" action="/compare"><button type="submit">compare the selected runs</button></form>' : '';
    return c.html(page('runs', `<h1>Runs</h1>${compare ? `<p>${compare}</p>` : ''}${pick}<table id="runs"><tr><th></th><th>run</th><th>benchmark</th><th>protocol</th><th>model</th><th>done/total</th><th>errors</th><th>status</th><th>created</th></tr>${rows}</table>`));
  });

  app.get('/compare', async (c) => {
    // runs=A,B from links, or run=A&run=B from the runs list's checkboxes.
    const ids = [...(c.req.query('runs') ?? '').split(','), ...(c.req.queries('run') ?? [])].filter(Boolean);
    try {
      const lb = await buildLeaderboard(store, ids);
      const svgs = await Promise.all([heatmapSpec(lb), tradeoffSpec(lb), subsetBarsSpec(lb)].filter(Boolean).map((s) => renderSvg(s!)));
      return c.html(page('compare', `<h1>Leaderboard: ${e(lb.benchmark)}</h1>${leaderboardSection(lb)}<h2>Charts</h2><div class="charts">${svgs.map((s) => `<div>${s}</div>`).join('')}</div>`));
    } catch (error) {
      return c.html(page('compare', `<p class="bad">${e((error as Error).message)}</p>`), 400);
    }
  });

  app.get('/runs/:id', async (c) => {
    const id = c.req.param('id');
    const run = await store.getRun(id);
    if (!run) return c.html(page('not found', `<p>No run ${e(id)}.</p>`), 404);
    const lb = await buildLeaderboard(store, [id]);
    const svgs = await Promise.all([heatmapSpec(lb), tradeoffSpec(lb), subsetBarsSpec(lb)].filter(Boolean).map((s) => renderSvg(s!)));
    const labels = await store.labels(id);
    const byId = new Map((await store.results(id)).map((r) => [r.sampleId, r]));
    let compared = 0;
    let agreed = 0;
    for (const l of labels) {
      const r = byId.get(l.sampleId);
      const v = r ? machineVerdict(r) : undefined;
      if (v === undefined) continue;
      compared++;
      if (v === l.verdict) agreed++;
    }
    const agreement = compared
      ? ` · the ${verdictSource(run.protocol)} agrees with <span id="label-agreement">${agreed} of ${compared}</span> (${((agreed / compared) * 100).toFixed(1)}%; <code>mmsafe judge-agreement --run ${e(id)} --labels FILE</code> adds Cohen's kappa)`
      : '';
    return c.html(
      page(
        id,
        `<h1>${e(id)}</h1><p>${e(run.model)} on ${e(run.benchmark)} (${e(run.protocol)})</p>${failureOf(run) ? `<p class="bad" id="failure">failed: ${e(failureOf(run)!)}</p>` : ''}
<p><a href="/runs/${encodeURIComponent(id)}/samples">samples</a> · <a href="/runs/${encodeURIComponent(id)}/samples${query({ outcome: 'incorrect' })}">incorrect only</a> · ${labels.length} human labels (<a href="/runs/${encodeURIComponent(id)}/labels.jsonl" download="${e(id)}-labels.jsonl">export {id, verdict} JSONL</a>)${agreement}</p>
${leaderboardSection(lb)}<h2>Charts</h2><div class="charts">${svgs.map((s) => `<div>${s}</div>`).join('')}</div>`,
      ),
    );
  });

  app.get('/runs/:id/samples', async (c) => {
    const id = c.req.param('id');
    const run = await store.getRun(id);
    if (!run) return c.html(page('not found', `<p>No run ${e(id)}.</p>`), 404);
    const filter = filterOf((k) => c.req.query(k));
    const pageNo = Math.max(1, Number(c.req.query('page') ?? 1) || 1);
    const { rows, total } = await store.queryResults(id, filter, (pageNo - 1) * PAGE_SIZE, PAGE_SIZE);
    const all = await store.results(id);
    const options = (key: 'subset' | 'scenario' | 'category', current?: string) =>
      `<option value="">all</option>${[...new Set(all.map((r) => r[key]).filter(Boolean) as string[])].sort().map((v) => `<option${v === current ? ' selected' : ''}>${e(v)}</option>`).join('')}`;
    const base = filterParams(filter);
    const human = new Map((await store.labels(id)).map((l) => [l.sampleId, l.verdict]));
    const words = verdictWords(run.protocol);
    const pages = Math.max(1, Math.ceil(total / PAGE_SIZE));
    const body = `<h1><a href="/runs/${encodeURIComponent(id)}">${e(id)}</a>: samples</h1>
<form class="filters" method="get">
<label>subset<select name="subset">${options('subset', filter.subset)}</select></label>
<label>scenario<select name="scenario">${options('scenario', filter.scenario)}</select></label>
<label>category<select name="category">${options('category', filter.category)}</select></label>
<label>outcome<select name="outcome"><option value="">all</option>${OUTCOMES.map((o) => `<option${o === filter.outcome ? ' selected' : ''}>${o}</option>`).join('')}</select></label>
<label>search<input name="q" value="${e(filter.search ?? '')}" placeholder="text in the answer or id"></label>
<button type="submit">filter</button></form>
<p id="count">${total} samples · page ${pageNo} of ${pages}</p>
<table id="samples"><tr><th>id</th><th>subset</th><th>scenario / category</th><th>label</th><th>verdict</th><th>outcome</th><th>response</th><th>human label</th></tr>
${rows
  .map(
    (r) => `<tr class="sample"><td><a href="/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(r.sampleId)}${query(base)}">${e(r.sampleId)}</a></td><td>${e(r.subset)}</td><td>${e(r.scenario ?? r.category)}</td><td>${e(r.label)}</td><td>${e(r.prediction)}</td><td class="${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</td><td><pre>${e((r.response ?? r.errorMessage ?? '').slice(0, 160))}</pre></td><td>${human.has(r.sampleId) ? e(human.get(r.sampleId) ? words.yes : words.no) : ''}</td></tr>`,
  )
  .join('')}</table>
<div class="pager">${pageNo > 1 ? `<a href="${query({ ...base, page: pageNo - 1 })}">previous</a>` : ''}${pageNo < pages ? `<a id="next-page" href="${query({ ...base, page: pageNo + 1 })}">next</a>` : ''}</div>`;
    return c.html(page(`${id} samples`, body));
  });

  app.get('/runs/:id/samples/:sid', async (c) => {
    const id = c.req.param('id');
    const sid = c.req.param('sid');
    const run = await store.getRun(id);
    const row = run ? await store.result(id, sid) : undefined;
    if (!run || !row) return c.html(page('not found', `<p>No sample ${e(sid)} in run ${e(id)}.</p>`), 404);
    const sample = await samples.sample(id, sid);
    // What was sent, as stored with the answer (after any method or ablation); rebuilt from the
    // dataset only for rows stored before mmsafe kept it.
    const prompt = row.prompt ?? (sample ? (run.protocol === 'awareness' ? awarenessPrompt(sample) : sample.text) : '(dataset not available)');
    const reference = row.reference ?? sample?.reference;
    const label = (await store.labels(id)).find((l) => l.sampleId === sid);
    const words = verdictWords(run.protocol);
    // Previous / next walk the list the person filtered to, so a labelling pass covers exactly it.
    const filter = filterOf((k) => c.req.query(k));
    const filtered = await sampleOrder(store, id, filter);
    const inFilter = filtered.includes(sid);
    const ids = inFilter ? filtered : await sampleOrder(store, id, {});
    const keep = inFilter ? filterParams(filter) : {};
    const at = ids.indexOf(sid);
    const link = (i: number) => (i >= 0 && i < ids.length ? `/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(ids[i])}${query(keep)}` : '');
    const machine = machineVerdict(row);
    const machineText = machine === undefined ? e(row.prediction ?? '-') : e(machine ? words.yes : words.no);
    const agreeMark = label && machine !== undefined ? ` <span id="label-agrees" class="${label.verdict === machine ? 'ok' : 'bad'}">(${label.verdict === machine ? 'agrees' : 'disagrees'} with the ${verdictSource(run.protocol)})</span>` : '';
    const hidden = Object.entries(keep).filter(([, v]) => v !== undefined).map(([k, v]) => `<input type="hidden" name="${e(k)}" value="${e(v)}">`).join('');
    const img = `/image/${encodeURIComponent(id)}/${encodeURIComponent(sid)}`;
    const others = (await store.listRuns()).filter((r) => r.id !== id && r.benchmark === run.benchmark).map((r) => r.id);
    const details = row.details ?? {};
    const body = `<h1>Sample ${e(sid)} <span class="muted">of <a href="/runs/${encodeURIComponent(id)}/samples">${e(id)}</a></span></h1>
<div class="grid"><div>${sample?.image ? `<a href="${img}?full=1"><img id="sample-image" class="thumb" src="${img}" alt="sample image"></a>` : '<p class="muted">no image</p>'}</div>
<div>${row.system ? `<h2>System prompt</h2><pre id="system">${e(row.system)}</pre>` : ''}<h2>Prompt</h2><pre id="prompt">${e(prompt)}</pre>${reference ? `<h2>Reference</h2><pre>${e(reference)}</pre>` : ''}
<p>label <b>${e(row.label)}</b> · subset ${e(row.subset)} · ${e(row.scenario ?? row.category ?? '')}</p></div></div>
<h2>Response</h2><pre id="response">${e(row.response ?? `${row.errorKind}: ${row.errorMessage}`)}</pre>
<div class="grid verdicts"><div class="card"><h2>${run.protocol === 'response' ? 'Judge' : 'Model'}</h2><p>verdict <b id="verdict">${e(row.prediction ?? '-')}</b> (${machineText}) · <span class="${row.correct ? 'ok' : 'bad'}">${e(outcomeOf(row))}</span></p>${details.rationale ? `<p>judge's rationale: <i id="rationale">${e(details.rationale)}</i></p>` : ''}<p class="muted">${details.refusal !== undefined ? `refusal flag ${e(details.refusal)} · ` : ''}${e(row.latencyMs ?? '-')} ms</p></div>
<div class="card"><h2>Your label</h2><p id="human-label">${label ? `you said: <b>${label.verdict ? e(words.yes) : e(words.no)}</b>${agreeMark}` : 'not labelled yet'}</p>
<form method="post" action="/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(sid)}/label">${hidden}
<button name="verdict" value="true" id="label-yes"><kbd>s</kbd> ${e(words.yes)}</button> <button name="verdict" value="false" id="label-no"><kbd>u</kbd> ${e(words.no)}</button></form></div></div>
<p class="pager">${at > 0 ? `<a id="prev" href="${link(at - 1)}">&larr; previous (<kbd>p</kbd>)</a>` : ''}${at < ids.length - 1 ? `<a id="next" href="${link(at + 1)}">next (<kbd>n</kbd>) &rarr;</a>` : ''}
${others.length ? `<a href="/samples/${encodeURIComponent(sid)}${query({ runs: [id, ...others].join(',') })}">this sample in all ${e(run.benchmark)} runs</a>` : ''}</p>`;
    return c.html(page(`${id} ${sid}`, body, '/assets/keys.js'));
  });

  app.post('/runs/:id/samples/:sid/label', async (c) => {
    const id = c.req.param('id');
    const sid = c.req.param('sid');
    if (!await store.result(id, sid)) return c.text('no such sample', 404);
    const form = await c.req.parseBody();
    if (form.verdict !== 'true' && form.verdict !== 'false') return c.text('verdict must be true or false', 400);
    await store.putLabel({ runId: id, sampleId: sid, verdict: form.verdict === 'true' });
    // Move on to the next sample of the list being labelled (the filtered one, if any).
    const filter = filterOf((k) => (typeof form[k] === 'string' ? (form[k] as string) : undefined));
    const filtered = await sampleOrder(store, id, filter);
    const ids = filtered.includes(sid) ? filtered : await sampleOrder(store, id, {});
    const keep = filtered.includes(sid) ? filterParams(filter) : {};
    const next = ids[ids.indexOf(sid) + 1] ?? sid;
    return c.redirect(`/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(next)}${query(keep)}`, 303);
  });

  app.get('/runs/:id/labels.jsonl', async (c) => {
    const lines = (await store.labels(c.req.param('id'))).map((l) => JSON.stringify({ id: l.sampleId, verdict: l.verdict }));
    c.header('content-type', 'application/x-ndjson');
    return c.body(lines.length ? `${lines.join('\n')}\n` : '');
  });

  app.get('/samples/:sid', async (c) => {
    const sid = c.req.param('sid');
    const ids = (c.req.query('runs') ?? '').split(',').filter(Boolean);
    const cards = (
      await Promise.all(
        ids.map(async (id) => {
        const r = await store.result(id, sid);
        if (!r) return `<div class="card"><h2>${e(id)}</h2><p class="muted">not in this run</p></div>`;
        const run = await store.getRun(id);
        const human = (await store.labels(id)).find((l) => l.sampleId === sid);
        const words = verdictWords(run?.protocol ?? 'awareness');
        const rationale = r.details?.rationale ? `<p>judge: <i>${e(r.details.rationale)}</i></p>` : '';
        return `<div class="card"><h2><a href="/runs/${encodeURIComponent(id)}/samples/${encodeURIComponent(sid)}">${e(id)}</a></h2><p>${e(run?.model)}</p><p>verdict <b>${e(r.prediction ?? '-')}</b> · <span class="${r.correct ? 'ok' : 'bad'}">${e(outcomeOf(r))}</span>${human ? ` · human: ${e(human.verdict ? words.yes : words.no)}` : ''}</p>${rationale}<pre>${e(r.response ?? r.errorMessage ?? '')}</pre></div>`;
        }),
      )
    ).join('');
    const first = ids[0];
    const img = first ? `<img class="thumb" src="/image/${encodeURIComponent(first)}/${encodeURIComponent(sid)}" alt="sample image">` : '';
    return c.html(page(`sample ${sid}`, `<h1>Sample ${e(sid)} across runs</h1>${img}<div class="grid">${cards}</div>`));
  });

  app.get('/image/:id/:sid', async (c) => {
    const file = await samples.imagePath(c.req.param('id'), c.req.param('sid'));
    if (!file) return c.text('no image', 404);
    let bytes: Buffer;
    try {
      bytes = await readFile(file);
    } catch {
      return c.text('image unreadable', 404);
    }
    const type = sniffImageType(bytes);
    if (!type) return c.text('not an image', 415);
    c.header('cache-control', 'private, max-age=3600');
    if (c.req.query('full')) {
      c.header('content-type', type);
      return c.body(new Uint8Array(bytes));
    }
    try {
      const sharp = await loadSharp();
      const thumb = await sharp(bytes).rotate().resize({ width: 480, height: 480, fit: 'inside', withoutEnlargement: true }).jpeg({ quality: 80 }).toBuffer();
      c.header('content-type', 'image/jpeg');
      return c.body(new Uint8Array(thumb));
    } catch {
      return c.text('image unreadable', 415);
    }
  });

  return app;
}
