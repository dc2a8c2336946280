import type { ResultRow } from '../core/types.ts';
import { escapeHtml as e } from '../report/escape.ts';
import { scoredResults, type RunSummary } from '../report/summary.ts';
import { runDurationMs, type RunRecord, type Store } from '../store/store.ts';

/** Extra styles of the parts below: gold label and verdict as two distinct badges. */
export const PARTS_STYLE = `
.tag{display:inline-block;padding:0 .45em;border-radius:3px;font-weight:600;font-size:.9em;white-space:nowrap}
.gold{border:2px solid #1d2733;background:#fff;color:#1d2733}.said{border:2px dashed #666;background:#f4f4f4;color:#1d2733}
.gold.unsafe,.said.unsafe{color:#a32020}.gold.safe,.said.safe{color:#17692f}.mark{font-weight:700;margin-left:.3em}
.facts{display:grid;grid-template-columns:repeat(auto-fit,minmax(220px,1fr));gap:.3rem 1.2rem;border:1px solid #ddd;border-radius:4px;padding:.6rem .9rem;margin:.8rem 0}
.facts div b{display:inline-block;min-width:7.5em;color:#555;font-weight:600}
img.mini{width:64px;height:64px;object-fit:cover;border:1px solid #ccc;display:block}
td.prompt{max-width:36ch;font-size:.9em}.charts{display:block}.charts>div{margin:1rem 0}.charts svg{width:100%;height:auto;max-width:1250px}
.verdict-pair{display:flex;gap:1.2rem;align-items:center;flex-wrap:wrap;font-size:1.1em;margin:.6rem 0}`;

/** The benchmark's answer for a sample (solid badge) beside what the model or judge said (dashed badge), and whether they match. */
export function goldAndVerdict(r: ResultRow, protocol: string): string {
  const said = r.status === 'error' ? `error` : (r.prediction ?? '-');
  const mark = r.status === 'ok' && r.correct !== undefined ? `<span class="mark ${r.correct ? 'ok' : 'bad'}" title="${r.correct ? 'right' : 'wrong'}">${r.correct ? '✓ right' : '✗ wrong'}</span>` : '';
  const who = protocol === 'response' ? 'judge' : 'model';
  return `<span class="verdict-pair"><span>gold <span class="tag gold ${e(r.label)}" data-role="gold">${e(r.label)}</span></span><span>${who} <span class="tag said ${e(said)}" data-role="verdict">${e(said)}</span>${mark}</span></span>`;
}

/** The small versions for the sample table. */
export const goldCell = (r: ResultRow) => `<span class="tag gold ${e(r.label)}">${e(r.label)}</span>`;
export const verdictCell = (r: ResultRow) => {
  const said = r.status === 'error' ? 'error' : (r.prediction ?? '-');
  return `<span class="tag said ${e(said)}">${e(said)}</span>`;
};

/** A run's verdicts as the paired test counts them: right or not, by sample id, for the samples it answered (an item asked several times by its majority). */
export async function rightOf(store: Store, runId: string): Promise<Map<string, boolean>> {
  return new Map((await scoredResults(store, runId)).filter((r) => r.status === 'ok').map((r) => [r.sampleId, r.correct === true]));
}

/** The discordant pairs of two runs' verdicts: samples A got right and B wrong (`a-right`), and the reverse. Only samples both answered count. */
export function discordantOf(a: Map<string, boolean>, b: Map<string, boolean>): Record<'a-right' | 'b-right', Set<string>> {
  const out = { 'a-right': new Set<string>(), 'b-right': new Set<string>() };
  for (const [sid, aRight] of a) {
    const bRight = b.get(sid);
    if (bRight === undefined || aRight === bRight) continue;
    out[aRight ? 'a-right' : 'b-right'].add(sid);
  }
  return out;
}

/** The discordant pairs of a paired comparison of runs A and B, one direction. */
export async function discordantIds(store: Store, a: string, b: string, which: 'a-right' | 'b-right'): Promise<Set<string>> {
  return discordantOf(await rightOf(store, a), await rightOf(store, b))[which];
}

const pct = (x: number) => `${(x * 100).toFixed(1)}%`;

/** The one number a runs list shows: Total for awareness runs, overall for judged ones; none for a partial run. */
export function headline(s: RunSummary | undefined): string {
  if (!s || s.counts.evaluated === 0) return '-';
  const m = s.metrics as Record<string, unknown>;
  if (s.protocol === 'response') {
    const p = m.overall as { accuracy: number; n: number } | undefined;
    return p?.n ? `overall ${pct(p.accuracy)}` : '-';
  }
  if ((s as { coverage?: unknown }).coverage || typeof m.total_macro !== 'number') return typeof m.accuracy_micro === 'number' ? `micro ${pct(m.accuracy_micro)} (partial)` : '-';
  return `Total ${pct(m.total_macro)}`;
}

/** What the runs list says a run was run with besides the model: method, ablation. */
export function methodOf(run: RunRecord): string {
  const c = (run.config.run ?? {}) as { method?: string; ablation?: string };
  return [c.method, c.ablation].filter(Boolean).join(', ') || 'plain';
}

const dollars = (x: number | null | undefined) => (x === null || x === undefined ? 'unknown' : `$${x.toFixed(x < 1 ? 4 : 2)}`);

/** `1 h 02 min`, `3 min 12 s`, `8.4 s`: a duration as a person reads it. */
export function formatDuration(ms: number): string {
  const s = ms / 1000;
  if (s < 60) return `${s.toFixed(1)} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min ${String(Math.round(s - m * 60)).padStart(2, '0')} s`;
  return `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** How long the run took, first start to last end (a resumed run's pause included), or how it stands. */
function durationOf(run: RunRecord): string {
  const ms = runDurationMs(run);
  if (ms !== undefined) return `<span id="duration">${formatDuration(ms)}</span> · ${e(run.startedAt!.slice(0, 19).replace('T', ' '))} to ${e(run.finishedAt!.slice(11, 19))}`;
  if (run.status === 'running' && run.startedAt) return `running since ${e(run.startedAt.slice(0, 19).replace('T', ' '))}`;
  return run.status === 'queued' ? 'not started' : 'not recorded';
}

/** The run page's summary block: counts, errors by kind, tokens, cost and the run's configuration. */
export function summaryBlock(run: RunRecord, s: RunSummary): string {
  const c = s.counts as Record<string, number>;
  const u = s.usage;
  const cfg = (run.config.run ?? {}) as Record<string, unknown>;
  const errors = s.errors_by_kind ? Object.entries(s.errors_by_kind).map(([k, v]) => `${e(k)} ×${v.count}`).join(', ') : 'none';
  const settings = ['temperature', 'maxTokens', 'seed', 'concurrency', 'extraction', 'judge', 'method', 'ablation', 'subset', 'limit', 'sample', 'cache']
    .filter((k) => cfg[k] !== undefined)
    .map((k) => `${k} ${e(Array.isArray(cfg[k]) ? (cfg[k] as unknown[]).length : cfg[k])}`)
    .join(' · ');
  const coverage = (s as { coverage?: { subsets: string[]; missing_subsets: string[] } }).coverage;
  const facts: [string, string][] = [
    ['status', `${e(run.status)} · created ${e(run.createdAt.slice(0, 19).replace('T', ' '))}`],
    ['samples', `${c.evaluated ?? 0} answered of ${c.samples ?? 0}${c.missing_image ? ` · ${c.missing_image} without image` : ''}${c.unparsed ? ` · ${c.unparsed} unparsed` : ''}${c.judge_errors ? ` · ${c.judge_errors} judge errors` : ''}`],
    ['errors', `${c.errors ?? 0}${c.errors ? ` (${errors})` : ''}`],
    ['duration', durationOf(run)],
    ['tokens', u ? `${u.input_tokens.toLocaleString('en-US')} in / ${u.output_tokens.toLocaleString('en-US')} out${u.cached_answers ? ` · ${u.cached_answers} answers from the cache` : ''}` : '-'],
    ['cost', u ? `${dollars(u.cost_usd)}${u.judge_cost_usd !== undefined ? ` + judge ${dollars(u.judge_cost_usd)}` : ''}` : '-'],
    ['model', `${e(run.model)} · ${e(run.benchmark)} (${e(run.protocol)})`],
    ['settings', settings || 'defaults'],
    ...(coverage ? [['covers', `${e(coverage.subsets.join(', ') || 'no subset')}; not ${e(coverage.missing_subsets.join(', '))}`] as [string, string]] : []),
  ];
  return `<div class="facts" id="run-summary">${facts.map(([k, v]) => `<div><b>${k}</b> ${v}</div>`).join('')}</div>`;
}
