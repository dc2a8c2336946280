import { findBenchmark, protocolSpec } from '../benchmarks/registry.ts';
import type { ProtocolName, PublishedRow } from '../benchmarks/types.ts';
import type { Store } from '../store/store.ts';
import { escapeHtml as e } from './escape.ts';
import { mdEscape } from './formats.ts';
import { cellsOf } from './leaderboard.ts';
import { summarizeRun, UnknownRunError } from './summary.ts';
import type { BootstrapOptions } from '../metrics/bootstrap.ts';
import { renderTable } from './text-table.ts';
import { metricLabels } from './table.ts';

/*
 * `mmsafe report --runs A --against-paper`: a run beside the benchmark's published rows for the
 * same model, cell by cell: both numbers, whether the published value lies inside the run's 95%
 * interval, and both n where the paper gives them (its n may be unknown). Everything comes from
 * the benchmark's definition (its published rows, their n and caveats); nothing here names one.
 */

export interface PaperCell {
  key: string;
  label: string;
  /** The run's value, its n and its 95% interval (the leaderboard's); absent without rows. */
  run?: { value: number; n: number; ci95: [number, number] };
  paper: number;
  /** The paper's n for this cell; absent when the paper's n is unknown. */
  paper_n?: number;
  /** Whether the published value lies inside the run's 95% interval (inclusive). */
  inside?: boolean;
  /** How the run's n and the paper's differ, in words. */
  n_note: string;
}

export interface PaperComparison {
  run: string;
  model: string;
  benchmark: string;
  protocol: ProtocolName;
  /** The published row set beside the run; absent when none matched (`candidates` lists them). */
  published?: { name: string; source: string; caveat?: string };
  candidates: string[];
  cells: PaperCell[];
}

/**
 * Model names as the papers and the APIs write them, made comparable: the provider prefix dropped,
 * lower case, split into tokens at any punctuation or space ("openai:gpt-4o-2024-08-06" ->
 * gpt 4o 2024 08 06; "GPT-4o (paper)" -> gpt 4o; "Gemini 1.5 Pro" -> gemini 1 5 pro).
 */
export function nameTokens(name: string): string[] {
  const bare = name.replace(/\s*\((?:paper|published)\)\s*$/i, '').replace(/^[a-z][a-z0-9-]*:/, '');
  return bare.toLowerCase().split(/[^a-z0-9]+/).filter(Boolean);
}

// A snapshot or release suffix of an API model name: 2024, 08, 20240229, 002, 0613, latest, preview, v2.
const SNAPSHOT = /^(?:\d{2,8}|latest|preview|v\d+)$/;

/**
 * A published row is the run's model when its tokens are the model's, or the model's followed by
 * nothing but a snapshot suffix: gpt-4o-2024-08-06 is GPT-4o, gemini-1.5-pro-002 is Gemini 1.5
 * Pro, but gpt-4o-mini is not GPT-4o and gemini-1.5-flash is not Gemini 1.5.
 */
export function sameModel(model: string, published: string): boolean {
  const m = nameTokens(model);
  const p = nameTokens(published);
  if (!p.length || p.length > m.length) return false;
  return p.every((t, i) => m[i] === t) && m.slice(p.length).every((t) => SNAPSHOT.test(t));
}

function nNote(runN: number | undefined, paperN: number | undefined): string {
  if (paperN === undefined) return runN === undefined ? 'no answers; paper n unknown' : `run n ${runN}; paper n unknown`;
  if (runN === undefined) return `no answers; paper n ${paperN}`;
  return runN === paperN ? `n ${runN} both` : `run n ${runN}, paper n ${paperN}`;
}

/** One run beside the published rows of its benchmark: `row` names one, else the run's model picks it. */
export async function compareWithPaper(store: Store, runId: string, row?: string, opts: BootstrapOptions = {}): Promise<PaperComparison> {
  const run = await store.getRun(runId);
  if (!run) throw new UnknownRunError(`no run named "${runId}" in this database (see \`mmsafe runs\`)`);
  const protocol = run.protocol as ProtocolName;
  const spec = protocolSpec(run.benchmark, protocol);
  if (!spec) throw new UnknownRunError(`run ${runId} uses the ${protocol} protocol, which no benchmark of this version defines`);
  const rows = (findBenchmark(run.benchmark)?.published ?? []).filter((p) => p.protocol === protocol);
  const candidates = rows.map((p) => p.name);
  const chosen: PublishedRow | undefined = row ? rows.find((p) => p.name === row || nameTokens(p.name).join(' ') === nameTokens(row).join(' ')) : rows.find((p) => sameModel(run.model, p.name));
  if (row && !chosen) throw new UnknownRunError(`no published row named "${row}" for ${run.benchmark} (${protocol}); there are: ${candidates.join(', ') || 'none'}`);
  const base = { run: run.id, model: run.model, benchmark: run.benchmark, protocol, candidates };
  if (!chosen) return { ...base, cells: [] };
  // The run's cells exactly as its leaderboard shows them (value, n, interval).
  const runCells = cellsOf((await summarizeRun(store, run.id, opts)).values);
  const labels = metricLabels(run.benchmark, protocol);
  const cells = Object.entries(chosen.values).map(([key, paper]): PaperCell => {
    const v = runCells[key];
    const measured = v?.n !== undefined && v.ci95 ? { value: v.value, n: v.n, ci95: v.ci95 } : undefined;
    const paperN = chosen.n?.[key];
    return {
      key,
      label: labels.get(key) ?? key,
      ...(measured ? { run: measured, inside: paper >= measured.ci95[0] - 1e-12 && paper <= measured.ci95[1] + 1e-12 } : {}),
      paper,
      ...(paperN !== undefined ? { paper_n: paperN } : {}),
      n_note: nNote(measured?.n, paperN),
    };
  });
  return { ...base, published: { name: chosen.name, source: chosen.source, ...(chosen.caveat ? { caveat: chosen.caveat } : {}) }, cells };
}

const pct = (x: number) => (x * 100).toFixed(1);
const inside = (c: PaperCell) => (c.inside === undefined ? '-' : c.inside ? 'yes' : 'no');
const runText = (c: PaperCell) => (c.run ? `${pct(c.run.value)} [${pct(c.run.ci95[0])}-${pct(c.run.ci95[1])}]` : '-');
const HEADER = ['metric', 'run % [95% CI]', 'paper %', 'paper inside CI', 'n'];
const noMatch = (c: PaperComparison) => `no published row matches ${c.model}; give one with --against-paper NAME (${c.candidates.join(', ') || 'this benchmark has none'})`;
const heading = (c: PaperComparison) => `${c.run} (${c.model}) beside ${c.published!.name}, ${c.published!.source}`;
const INTERVAL_NOTE = "The run's 95% interval is the one its leaderboard shows; a published value outside it differs beyond sampling noise of the run alone.";

export function paperTable(list: PaperComparison[]): string {
  return list
    .map((c) => {
      if (!c.published) return `${c.run}: ${noMatch(c)}`;
      const rows = c.cells.map((x) => [x.label, runText(x), pct(x.paper), inside(x), x.n_note]);
      return [heading(c), renderTable(HEADER, rows), ...(c.published.caveat ? [`* ${c.published.caveat}.`] : [])].join('\n');
    })
    .concat(INTERVAL_NOTE)
    .join('\n\n');
}

export function paperMarkdown(list: PaperComparison[]): string {
  const parts = list.map((c) => {
    if (!c.published) return `${mdEscape(`${c.run}: ${noMatch(c)}`)}\n`;
    return [
      `### ${mdEscape(heading(c))}`,
      '',
      `| ${HEADER.join(' | ')} |`,
      `| --- | ---: | ---: | --- | --- |`,
      ...c.cells.map((x) => `| ${[mdEscape(x.label), runText(x), pct(x.paper), inside(x), mdEscape(x.n_note)].join(' | ')} |`),
      ...(c.published.caveat ? ['', `\\* ${mdEscape(c.published.caveat)}.`] : []),
      '',
    ].join('\n');
  });
  return `${parts.join('\n')}\n${INTERVAL_NOTE}\n`;
}

export function paperHtml(list: PaperComparison[]): string {
  const sections = list.map((c) => {
    if (!c.published) return `<p>${e(`${c.run}: ${noMatch(c)}`)}</p>`;
    const rows = c.cells.map((x) => `<tr><td>${e(x.label)}</td><td>${e(runText(x))}</td><td>${pct(x.paper)}</td><td>${inside(x)}</td><td class="text">${e(x.n_note)}</td></tr>`).join('');
    const caveat = c.published.caveat ? `<p class="ci">* ${e(c.published.caveat)}.</p>` : '';
    return `<h2>${e(heading(c))}</h2><table><tr>${HEADER.map((h) => `<th>${e(h)}</th>`).join('')}</tr>${rows}</table>${caveat}`;
  });
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>mmsafe: runs beside the published rows</title>
<style>body{font:14px/1.45 system-ui,sans-serif;margin:2rem auto;max-width:1100px;padding:0 1rem}table{border-collapse:collapse}th,td{border:1px solid #ddd;padding:.3rem .5rem;text-align:right}td:first-child,th:first-child,td.text{text-align:left}.ci{color:#777}</style></head>
<body><h1>Runs beside the published rows</h1>
${sections.join('\n')}
<p>${e(INTERVAL_NOTE)}</p>
</body></html>
`;
}

export const paperJson = (list: PaperComparison[]) => `${JSON.stringify({ against_paper: list }, null, 2)}\n`;
