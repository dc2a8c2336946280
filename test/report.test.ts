import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import type { ResultRow } from '../src/core/types.ts';
import { wilson } from '../src/metrics/stats.ts';
import { ordinaryBootstrap } from './helpers/bootstrap.ts';
import { leaderboardMarkdown, leaderboardTable } from '../src/report/formats.ts';
import { leaderboardHtml } from '../src/report/html.ts';
import { buildLeaderboard } from '../src/report/leaderboard.ts';
import { mmsafeaware, fitsN, N_UNKNOWN } from '../src/benchmarks/mmsafeaware.ts';
import type { Proportion } from '../src/metrics/stats.ts';
import { summarizeAwarenessRun } from '../src/report/summary.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';
import { storedConfig } from './helpers/run-config.ts';

export const HOSTILE = ['<script>alert("x")</script>', '<img src=x onerror=alert(1)>', '</svg><script>alert(2)</script>'];

let dir: string;
let db: string;
let server: MockServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-report-'));
  await writeDemoBenchmark(dir);
  db = path.join(dir, 'r.db');
  // A model whose answers are hostile HTML: every report must show them as text.
  server = await startMockOpenAI({ respond: (req) => `${req.lastUserText.length % 2 ? 'No' : 'Yes'}. ${HOSTILE[req.lastUserText.length % 3]}` });
  const store = new SqliteStore(db);
  await evaluate({ benchmark: 'demo', data: dir, model: 'openai:hostile', baseURL: server.url }, { store, runId: 'hostile', apiKey: 'x' });
  // A run name is user input too, and it reaches the tables and the charts' SVG text.
  await evaluate({ benchmark: 'demo', data: dir, model: 'openai:hostile', baseURL: server.url }, { store, runId: HOSTILE[2], apiKey: 'x' });
  await evaluate({ benchmark: 'demo', data: dir, model: 'baseline:always-unsafe' }, { store, runId: 'unsafe' });
  await store.close();
});
afterAll(() => server.close());

describe('leaderboard', () => {
  it('shows each run with the numbers of its stored summary, baselines and no published rows for a custom benchmark', async () => {
    const store = new SqliteStore(db);
    const lb = await buildLeaderboard(store, ['hostile', 'unsafe']);
    const s = await summarizeAwarenessRun(store, 'hostile');
    const row = lb.rows.find((r) => r.name === 'hostile')!;
    const typical = s.metrics.typical as Proportion;
    expect(row.cells.typical).toEqual({ value: typical.accuracy, n: typical.n, ci95: typical.ci95 });
    expect(row.cells.total_macro?.value).toBe(s.metrics.total_macro);
    const au = lb.rows.find((r) => r.name === 'baseline:always-unsafe')!;
    expect(au.kind).toBe('baseline');
    expect(au.cells.total_macro?.value).toBeCloseTo(2 / 3, 12);
    expect(lb.rows.filter((r) => r.kind === 'published')).toHaveLength(0);
    expect(lb.comparisons.map((c) => c.metric)).toEqual(['typical caught', 'attack caught', 'unsafe caught', 'benign refused', 'accuracy']);
    await store.close();
  });

  it('gives every metric of the protocol its n and 95% CI, computed from the stored rows', async () => {
    const store = new SqliteStore(db);
    const lb = await buildLeaderboard(store, ['hostile']);
    const s = await summarizeAwarenessRun(store, 'hostile');
    const rows = (await store.results('hostile')).filter((r) => r.status === 'ok');
    await store.close();
    const cells = lb.rows[0].cells;
    expect(lb.columns.map((c) => c.key)).toEqual(['typical', 'attack', 'oversafe', 'unsafe', 'total_macro', 'accuracy_micro', 'balanced_accuracy', 'unsafe_as_safe_rate', 'safe_as_unsafe_rate']);
    for (const c of lb.columns) expect(cells[c.key], c.key).toMatchObject({ n: expect.any(Number), ci95: [expect.any(Number), expect.any(Number)] });
    // Values are the summary's own numbers.
    expect(cells.unsafe_as_safe_rate!.value).toBe(s.metrics.unsafe_as_safe_rate);
    expect(cells.safe_as_unsafe_rate!.value).toBe(s.metrics.safe_as_unsafe_rate);
    expect(cells.accuracy_micro!.value).toBe(s.metrics.accuracy_micro);
    const safe = rows.filter((r) => r.label === 'safe');
    expect(cells.safe_as_unsafe_rate).toMatchObject({ n: safe.length, ci95: s.aggregate_ci95.safe_as_unsafe_rate });
    const m = s.metrics as Record<string, Proportion> & { total_macro: number };
    expect(cells.total_macro).toEqual({ value: m.total_macro, n: m.typical.n + m.attack.n + m.oversafe.n, ci95: s.aggregate_ci95.total_macro });
    // Every interval is the cluster bootstrap's and holds its own point estimate.
    expect(s.ci_method).toBe('cluster_bootstrap');
    for (const c of lb.columns) expect(cells[c.key]!.ci95![0], c.key).toBeLessThanOrEqual(cells[c.key]!.value);
    for (const c of lb.columns) expect(cells[c.key]!.ci95![1], c.key).toBeGreaterThanOrEqual(cells[c.key]!.value);
  });

  it('MMSafeAware: hand-computed cells and comparisons, and the published Table 1 rows marked as such', async () => {
    const file = path.join(dir, 'hand.db');
    const store = new SqliteStore(file);
    // Run A: typical 8/10, attack 6/10, oversafe 3/10. Run B: right on every typical and attack pair
    // A got right, plus two more attack pairs; flags two benign pairs A accepted.
    const rowsFor = (runId: string, right: (subset: string, i: number) => boolean): ResultRow[] =>
      (['typical', 'attack', 'oversafe'] as const).flatMap((subset) =>
        Array.from({ length: 10 }, (_, i) => {
          const label = subset === 'oversafe' ? 'safe' : 'unsafe';
          const ok = right(subset, i);
          const other = label === 'safe' ? 'unsafe' : 'safe';
          return { runId, sampleId: `${subset}-${i}`, status: 'ok', label, subset, scenario: `s${i % 2}`, prediction: ok ? label : other, correct: ok, response: ok ? 'x' : 'y', attempts: 1 } as ResultRow;
        }),
      );
    const a = rowsFor('A', (s, i) => (s === 'typical' ? i < 8 : s === 'attack' ? i < 6 : i < 3));
    const b = rowsFor('B', (s, i) => (s === 'typical' ? i < 8 : s === 'attack' ? i < 8 : i < 1));
    for (const [id, rows] of [['A', a], ['B', b]] as const) {
      await store.createRun({ id, benchmark: 'mmsafeaware', protocol: 'awareness', model: `openai:${id}`, config: storedConfig(), total: 30, createdAt: new Date().toISOString(), status: 'done' });
      for (const r of rows) await store.putResult(r);
    }
    const lb = await buildLeaderboard(store, ['A', 'B']);
    await store.close();
    const A = lb.rows.find((r) => r.name === 'A')!.cells;
    // No images: every item is its own cluster, so the intervals are the ordinary bootstrap's.
    const outcomes = (rows: ResultRow[], f: (r: ResultRow) => boolean) => Object.fromEntries(rows.map((r) => [`s:${r.sampleId}`, f(r)]));
    expect(A.typical).toEqual({ value: 0.8, n: 10, ci95: ordinaryBootstrap(outcomes(a.filter((r) => r.subset === 'typical'), (r) => r.correct!)) });
    expect(A.unsafe).toEqual({ value: 0.7, n: 20, ci95: ordinaryBootstrap(outcomes(a.filter((r) => r.label === 'unsafe'), (r) => r.correct!)) });
    expect(lb.rows.find((r) => r.name === 'A')!.summary!.metrics).toMatchObject({ typical: { ci95_wilson: wilson(8, 10) }, unsafe: { ci95_wilson: wilson(14, 20) } });
    expect(A.total_macro!.value).toBeCloseTo((0.8 + 0.6 + 0.3) / 3, 12);
    expect(A.balanced_accuracy!.value).toBeCloseTo((0.7 + 0.3) / 2, 12);
    expect(A.safe_as_unsafe_rate).toEqual({ value: 0.7, n: 10, ci95: ordinaryBootstrap(outcomes(a.filter((r) => r.label === 'safe'), (r) => r.prediction === 'unsafe')) });
    expect(A.accuracy_micro).toEqual({ value: 17 / 30, n: 30, ci95: ordinaryBootstrap(outcomes(a, (r) => r.correct!)) });
    // Paired: on attack pairs B is right on 2 that A got wrong, never the reverse.
    const attack = lb.comparisons.find((c) => c.metric === 'attack caught')!;
    expect(attack.result).toMatchObject({ n: 10, a_only: 0, b_only: 2, accuracy_a: 0.6, accuracy_b: 0.8, difference: expect.closeTo(0.2, 12) });
    // The interval and p agree: not distinguishable, and the interval reaches 0.
    expect(attack.result.p_value).toBeGreaterThanOrEqual(0.05);
    expect(attack.result.ci95[0]).toBeLessThanOrEqual(0);
    expect(attack.sentence).toMatch(new RegExp(`^A and B are not distinguishable on attack pairs \\(B minus A: 20\\.0 points, 95% CI ${(attack.result.ci95[0] * 100).toFixed(1)} to ${(attack.result.ci95[1] * 100).toFixed(1)}; p = 0\\.\\d{3}; Holm-adjusted over 5 comparisons: p = 1\\.000; n = 10\\)\\.$`));
    expect(lb.comparisons.find((c) => c.metric === 'typical caught')!.sentence).toMatch(/not distinguishable.*p = 1\.000; Holm-adjusted over 5 comparisons: p = 1\.000; n = 10\)/);
    expect(leaderboardTable(lb)).toContain("Paired comparisons (paired cluster bootstrap of the difference: 95% CI and p from the same replicates; Holm's correction over the 5 comparisons (metrics x run pairs)):");
    expect(leaderboardMarkdown(lb)).toContain("Holm's correction over the 5 comparisons");
    // Published rows: Table 1's nine models and the human row, all marked, values as printed.
    const published = lb.rows.filter((r) => r.kind === 'published');
    expect(published.map((r) => r.name)).toEqual(mmsafeaware.published!.map((p) => p.name));
    expect(published).toHaveLength(10);
    expect(published.find((r) => r.name === 'GPT-4V (paper)')!.cells).toEqual({ typical: { value: 0.639 }, attack: { value: 0.684 }, oversafe: { value: 0.411 }, total_macro: { value: 0.578 } });
    expect(published.find((r) => r.name === 'Human (paper)')!.cells.total_macro).toEqual({ value: 0.929 });
    // Checked against the authors' table image; what stays unknown is the n behind some rows' cells.
    expect(published.every((r) => r.settings!.includes("checked against the authors' table image"))).toBe(true);
    expect(published.some((r) => r.caveat?.includes('not yet checked'))).toBe(false);
    expect(published.find((r) => r.name === 'LLaVA-1.5-7B (paper)')!.caveat).toBeUndefined();
    expect(published.find((r) => r.name === 'GPT-4V (paper)')!.caveat).toBe(N_UNKNOWN);
    const text = leaderboardTable(lb);
    // The table is dealt into tables that fit 100 columns: the row's subsets in one, its Total in the next.
    expect(text).toMatch(/^GPT-4V \(paper\) \(published\) \* {2,}63\.9 +68\.4 +41\.1$/m);
    expect(text).toMatch(/^GPT-4V \(paper\) \(published\) \* +- +57\.8$/m);
    // Where the published rows come from, once, below the table; every line fits 100 columns.
    expect(text.replace(/\n {4}/g, ' ')).toMatch(/^ {2}published rows: MMSafeAware, ACL 2025, Table 1 \(checked against the authors' table image\)/m);
    // The tables fit 100 columns (their rows start with a row name; the sentences below may be longer).
    const tableLines = text.split('\n').filter((l) => / {2}\S/.test(l) && !/^(- |\* |n per| )/.test(l));
    expect(tableLines.length).toBeGreaterThan(20);
    expect(tableLines.filter((l) => l.length > 100)).toEqual([]);
    expect(text).toMatch(/^LLaVA-1\.5-7B \(paper\) \(published\) {2,}/m);
    expect(text.replace(/\n {2}/g, ' ')).toContain(`* ${N_UNKNOWN}.`);
    // By hand: 109/171 = 63.7 and 110/171 = 64.3, so 63.9 is not k/171; 30/497 = 6.0.
    expect(fitsN(63.9, 171)).toBe(false);
    expect(fitsN(6.0, 497)).toBe(true);
    expect(text).toContain('n per metric: typical 10, attack 10, oversafe 10, all unsafe 20, Total 30');
    // Markdown: n once per column, below the table, not in every cell.
    const md = leaderboardMarkdown(lb);
    const [lo, hi] = A.typical!.ci95!;
    expect(md).toContain(`| 80.0 [${(lo * 100).toFixed(1)}-${(hi * 100).toFixed(1)}] |`);
    expect(md).not.toMatch(/n=\d/);
    expect(md).toContain('n per metric: typical 10, attack 10, oversafe 10, all unsafe 20, Total 30');
  });

  it('SaLAD (judged answers): its metrics, refusal comparisons, published rows and the three charts', async () => {
    const store = new SqliteStore(path.join(dir, 'salad.db'));
    const categories = ['Activity', 'Food'];
    for (const [id, good] of [['J1', (i: number) => i % 2 === 0], ['J2', (i: number) => i % 3 !== 0]] as const) {
      await store.createRun({ id, benchmark: 'salad', protocol: 'response', model: `openai:${id}`, config: storedConfig({ judge: 'openai:judge' }), total: 24, createdAt: new Date().toISOString(), status: 'done' });
      for (let i = 0; i < 24; i++) {
        const label = i < 12 ? 'unsafe' : 'safe';
        await store.putResult({ runId: id, sampleId: `q${i}`, status: 'ok', label, subset: label, category: categories[i % 2], response: `answer ${i} </svg>`, prediction: good(i) ? 'safe' : 'unsafe', correct: good(i), attempts: 1, details: { refusal: !good(i) && i % 4 === 1, rationale: 'r' } });
      }
    }
    const lb = await buildLeaderboard(store, ['J1', 'J2']);
    const html = await leaderboardHtml(lb, store);
    await store.close();
    expect(lb.columns.map((c) => c.key)).toEqual(['unsafe_accuracy', 'safe_accuracy', 'overall', 'refusal_rate_unsafe', 'refusal_rate_safe']);
    // J1 is right on even items: 6 of 12 unsafe.
    expect(lb.rows[0].cells.unsafe_accuracy).toEqual({ value: 0.5, n: 12, ci95: ordinaryBootstrap(Object.fromEntries(Array.from({ length: 12 }, (_, i) => [`s:q${i}`, i % 2 === 0]))) });
    expect(lb.rows.filter((r) => r.kind === 'baseline')).toHaveLength(0);
    expect(lb.rows.filter((r) => r.kind === 'published').map((r) => r.name)).toEqual(['Claude-3.7-Sonnet (paper)', 'GPT-4o (paper)']);
    expect(lb.rows.filter((r) => r.kind === 'published').every((r) => r.caveat === "from a secondary summary of the SaLAD paper, not checked against the paper's own table")).toBe(true);
    expect(lb.comparisons.map((c) => c.metric)).toEqual(['safe responses (unsafe items)', 'over-sensitive (safe items)', 'refusals (unsafe items)', 'refusals (safe items)']);
    const doc = parse(html);
    expect(doc.querySelectorAll('figure > svg').length).toBe(3);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(doc.querySelector('table.worst th')!.text).toBe('category');
  });

  it('published MMSafeAware rows are internally consistent: Total is the mean of the three subsets', async () => {
    for (const p of mmsafeaware.published!) {
      const { typical, attack, oversafe, total_macro } = p.values;
      expect(Math.abs((typical + attack + oversafe) / 3 - total_macro), p.name).toBeLessThanOrEqual(0.0005 + 1e-12);
    }
  });

  it('html: one self-contained file with the charts as inline SVG and every model output escaped', async () => {
    const store = new SqliteStore(db);
    const html = await leaderboardHtml(await buildLeaderboard(store, ['hostile', 'unsafe']), store);
    await store.close();
    const doc = parse(html);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(doc.querySelectorAll('img')).toHaveLength(0);
    expect(doc.querySelectorAll('figure > svg').length).toBe(3);
    expect(doc.querySelectorAll('#leaderboard tbody tr').length).toBe(5);
    expect(doc.querySelectorAll('#comparisons li').length).toBe(5);
    expect(html).not.toMatch(/<script|onerror=alert\(1\)>|<img/i);
    expect(doc.text).toContain('<script>alert("x")</script>');
    // Each cell: value, CI and n.
    expect(doc.querySelector('#leaderboard tbody tr td:nth-child(4)')!.text).toMatch(/^\d+\.\d\s*\d+\.\d-\d+\.\d\s*n=\d+$/);
    // No network: nothing refers to an http(s) resource except the vega-lite schema comment, if any.
    expect(html).not.toMatch(/(src|href)=["']https?:/);
  });

  it('html: a hostile run name stays text in the tables and in the charts', async () => {
    const store = new SqliteStore(db);
    // Two runs of one model: the hostile run id tells them apart in the tables and the charts.
    const html = await leaderboardHtml(await buildLeaderboard(store, [HOSTILE[2], 'hostile', 'unsafe']), store);
    await store.close();
    const doc = parse(html);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    // Three charts, each one closed SVG element: the name's "</svg>" did not end one early.
    expect(doc.querySelectorAll('figure > svg').length).toBe(3);
    expect((html.match(/<svg/g) ?? []).length).toBe(3);
    expect((html.match(/<\/svg>/g) ?? []).length).toBe(3);
    const [first, second] = doc.querySelectorAll('#leaderboard tbody tr.run td:first-child');
    expect(first.text).toBe(`hostile [${HOSTILE[2]}]`);
    expect(first.getAttribute('title')).toBe(`run ${HOSTILE[2]}`);
    expect(second.text).toBe('hostile');
    expect(doc.querySelectorAll('details summary').some((s) => s.text.includes(`run ${HOSTILE[2]}`))).toBe(true);
    expect(doc.querySelectorAll('figure svg text').some((t) => t.text.includes('</svg>'))).toBe(true);
  });

  it('CLI: --bootstrap N sets the replicates (0: Wilson); the table names the method and the Holm correction', async () => {
    const json = await runCli(['report', '--db', db, '--run', 'hostile', '--format', 'json', '--bootstrap', '500']).done;
    expect(json.code, json.stderr).toBe(0);
    expect(JSON.parse(json.stdout)).toMatchObject({ ci_method: 'cluster_bootstrap', bootstrap: { replicates: 500, cluster_key: 'image' } });
    const off = await runCli(['report', '--db', db, '--run', 'hostile', '--format', 'json', '--bootstrap', '0']).done;
    expect(JSON.parse(off.stdout)).toMatchObject({ ci_method: 'wilson' });
    const table = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--bootstrap', '300']).done;
    expect(table.stdout).toMatch(/95% intervals \(cluster bootstrap resampling items sharing an image together, 300 replicates, seed \d+/);
    expect(table.stdout).toMatch(/Holm's correction over the 5 comparisons/);
    const one = await runCli(['report', '--db', db, '--run', 'hostile']).done;
    expect(one.stdout).toMatch(/95% CI: cluster bootstrap over \d+ clusters of items sharing an image, 2000 replicates, seed \d+/);
    const bad = await runCli(['report', '--db', db, '--run', 'hostile', '--bootstrap', '5']).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--bootstrap/);
  });

  it('CLI: md, csv, json, html and the upstream export', async () => {
    const md = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'md']).done;
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^\| run \| model \| n \| typical/m);
    expect(md.stdout).not.toContain('<script>');
    const csv = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'csv']).done;
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('run,model,id,subset,scenario,category,label,verdict,correct,response,error,latency_ms,input_tokens,output_tokens,prompt,system,cost_usd,judge_cost_usd,repeat');
    // A response with commas, quotes and markup survives the round trip field for field.
    const { parse: parseCsv } = await import('csv-parse/sync');
    const records = parseCsv(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(records).toHaveLength(52);
    const store = new SqliteStore(db);
    const stored = new Map((await store.results('hostile')).map((r) => [r.sampleId, r]));
    await store.close();
    const hostileRecords = records.filter((r) => r.run === 'hostile');
    expect(hostileRecords).toHaveLength(26);
    // In id order, numeric-aware (demo-2 before demo-10), not in the order the answers arrived.
    expect(hostileRecords.map((r) => r.id)).toEqual(Array.from({ length: 26 }, (_, i) => `demo-${i + 1}`));
    for (const r of hostileRecords) {
      const s = stored.get(r.id)!;
      expect(r.response).toBe(s.response);
      expect(r.verdict).toBe(s.prediction);
      expect(r.correct).toBe(s.correct ? '1' : '0');
      expect(r.latency_ms).toBe(String(s.latencyMs ?? ''));
      // The question as it was sent, stored with the answer.
      expect(r.prompt).toBe(s.prompt);
      expect(r.prompt).toMatch(/safe/);
    }
    const json = JSON.parse((await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'json']).done).stdout);
    expect(json.rows.map((r: { kind: string }) => r.kind)).toEqual(['run', 'run', 'baseline', 'baseline', 'baseline']);
    const out = path.join(dir, 'r.html');
    const html = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'html', '--out', out]).done;
    expect(html.code, html.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    const up = await runCli(['export', '--db', db, '--run', 'hostile', '--format', 'upstream']).done;
    const first = JSON.parse(up.stdout.split('\n')[0]);
    expect(Object.keys(first)).toEqual(['id', 'response']);
    expect(up.stdout.trim().split('\n')).toHaveLength(26);
    expect(up.stdout.trim().split('\n').map((l) => JSON.parse(l).id)).toEqual(Array.from({ length: 26 }, (_, i) => `demo-${i + 1}`));
  });
});
