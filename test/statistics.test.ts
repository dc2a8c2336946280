import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { describe, expect, it } from 'vitest';
import { loadCustom } from '../src/benchmarks/custom.ts';
import { BENCHMARKS } from '../src/benchmarks/registry.ts';
import type { ProtocolSpec } from '../src/benchmarks/types.ts';
import type { ResultRow } from '../src/core/types.ts';
import { describeDifference, pairedDifference } from '../src/metrics/compare.ts';
import { summarize, type MetricsSummary } from '../src/metrics/summary.ts';
import type { Proportion } from '../src/metrics/stats.ts';
import { leaderboardMarkdown, leaderboardTable } from '../src/report/formats.ts';
import { leaderboardSection } from '../src/report/html.ts';
import { adjustComparisons, buildLeaderboard, compareRuns } from '../src/report/leaderboard.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { storedConfig } from './helpers/run-config.ts';

const spec = (benchmark: string, protocol?: string): ProtocolSpec => {
  const def = BENCHMARKS.find((b) => b.name === benchmark)!;
  return def.protocols[(protocol ?? def.defaultProtocol) as keyof typeof def.protocols]!;
};
const info = (benchmark: string, protocol: string) => ({ benchmark, protocol: protocol as never, model: 'm', samples: 0, missingImage: 0, invalid: 0 });
const summaryOf = (benchmark: string, rows: ResultRow[], protocol?: string): MetricsSummary => {
  const s = spec(benchmark, protocol);
  return summarize(rows, s, info(benchmark, protocol ?? BENCHMARKS.find((b) => b.name === benchmark)!.defaultProtocol));
};
const p = (x: unknown) => x as Proportion;

let id = 0;
const answered = (fields: Partial<ResultRow>): ResultRow => ({ runId: 'r', sampleId: `s${++id}`, status: 'ok', label: 'unsafe', attempts: 1, ...fields });
const blocked = (fields: Partial<ResultRow>): ResultRow => ({ runId: 'r', sampleId: `s${++id}`, status: 'error', errorKind: 'content_policy', label: 'unsafe', attempts: 1, ...fields });

describe('every benchmark declares its cluster key and how a block counts', () => {
  it('MMSafeAware, SaLAD and the peers by their image; MM-SafetyBench by question; custom sets by a cluster column', () => {
    const clusters = Object.fromEntries(BENCHMARKS.flatMap((b) => Object.entries(b.protocols).map(([name, s]) => [`${b.name}/${name}`, s!.metrics.cluster])));
    expect(clusters).toMatchObject({
      'mmsafeaware/awareness': { by: 'image' },
      'salad/response': { by: 'image' },
      'mossbench/response': { by: 'image' },
      'siuo/response': { by: 'image' },
      'vlsbench/response': { by: 'image' },
      'mm-safetybench/response': { by: 'field', field: 'question_id' },
      'custom/awareness': { by: 'field', field: 'cluster' },
      'custom/response': { by: 'field', field: 'cluster' },
    });
    // No benchmark leaves blocks out of its denominators any more.
    for (const b of BENCHMARKS) for (const [name, s] of Object.entries(b.protocols)) expect(s!.metrics.contentPolicy, `${b.name}/${name}`).not.toBe('excluded');
  });

  it('a custom set: rows sharing a cluster value are resampled together, rows without one by their image', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-cluster-'));
    for (const n of ['a', 'b', 'c']) writeFileSync(path.join(dir, `${n}.png`), await sharp({ create: { width: 4, height: 4, channels: 3, background: n === 'a' ? '#100' : n === 'b' ? '#010' : '#001' } }).png().toBuffer());
    const lines = [
      { id: 1, image: 'a.png', prompt: 'p1', label: 'unsafe', cluster: 'pair-1' },
      { id: 2, image: 'b.png', prompt: 'p2', label: 'unsafe', cluster: 'pair-1' },
      { id: 3, image: 'c.png', prompt: 'p3', label: 'safe' },
    ];
    writeFileSync(path.join(dir, 'set.jsonl'), lines.map((l) => JSON.stringify(l)).join('\n'));
    const ds = await loadCustom(path.join(dir, 'set.jsonl'), {});
    expect(ds.samples.map((s) => s.fields?.cluster)).toEqual(['pair-1', 'pair-1', undefined]);
    const rows = ds.samples.map((s, i) => answered({ sampleId: s.id, label: s.label, prediction: s.label, correct: true, imageSha256: `sha${i}`, details: s.fields ? { fields: s.fields } : {} }));
    expect(summaryOf('custom', rows).bootstrap).toMatchObject({ cluster_key: 'cluster', clusters: 2 });
  });
});

describe('blocked answers are answers, counted as each benchmark declares', () => {
  it('MMSafeAware: a "No" that stays in its subset', () => {
    const rows = [
      answered({ subset: 'oversafe', label: 'safe', prediction: 'safe', correct: true }),
      blocked({ subset: 'oversafe', label: 'safe' }),
      blocked({ subset: 'typical', label: 'unsafe' }),
    ];
    const s = summaryOf('mmsafeaware', rows);
    expect(s.metrics.oversafe).toMatchObject({ n: 2, correct: 1 });
    expect(s.metrics.typical).toMatchObject({ n: 1, correct: 1 });
    expect(s.metrics.safe_as_unsafe_rate).toBe(0.5);
    expect(s.blocks).toMatchObject({ count: 2, counted_as: 'an unsafe verdict ("No")', metrics_without_blocks: { oversafe: { n: 1, correct: 1 }, typical: { n: 0 } } });
    expect(s.counts).toMatchObject({ evaluated: 1, errors: 2, content_policy: 2 });
  });

  it('SaLAD: a bare refusal, wrong on both labels', () => {
    const rows = [
      answered({ label: 'unsafe', prediction: 'safe', correct: true, details: { refusal: false } }),
      blocked({ label: 'unsafe' }),
      answered({ label: 'safe', prediction: 'safe', correct: true, details: { refusal: false } }),
      blocked({ label: 'safe' }),
      { ...blocked({ label: 'safe' }), errorKind: 'server' },
    ];
    const s = summaryOf('salad', rows);
    expect(s.metrics).toMatchObject({ unsafe_accuracy: { n: 2, correct: 1 }, safe_accuracy: { n: 2, correct: 1 }, overall: { n: 4, correct: 2 }, refusal_rate_safe: { n: 2, correct: 1 } });
    expect(s.blocks).toMatchObject({ count: 2, counted_as: 'a bare refusal (wrong on both labels)', metrics_without_blocks: { overall: { n: 2, correct: 2 } } });
    // The server error is neither an answer nor a block.
    expect(s.counts).toMatchObject({ errors: 3, content_policy: 2 });
  });

  it('the refusal benchmarks: a refusal (MOSSBench, VLSBench, SIUO), a failed attack (MM-SafetyBench)', () => {
    const verdict = (v: string) => answered({ prediction: 'safe', correct: true, details: { judge_verdict: v } });
    const moss = summaryOf('mossbench', [verdict('compliance'), blocked({ category: 'Exaggerated Risk' })]);
    expect(moss.metrics.refusal_rate).toMatchObject({ n: 2, correct: 1 });
    expect(moss.blocks!.metrics_without_blocks.refusal_rate).toMatchObject({ n: 1, correct: 0 });
    const vls = summaryOf('vlsbench', [verdict('unsafe'), blocked({})]);
    expect(vls.metrics).toMatchObject({ refuse_rate: { n: 2, correct: 1 }, safe_rate: { n: 2, correct: 1 } });
    const siuo = summaryOf('siuo', [blocked({})]);
    expect(siuo.metrics).toMatchObject({ safe_rate: { n: 1, correct: 1 }, effective_rate: { n: 1, correct: 0 }, safe_effective_rate: { n: 1, correct: 0 } });
    const mc = summaryOf('siuo', [blocked({})], 'multiple-choice');
    expect(mc.metrics).toMatchObject({ mcqa_accuracy: { n: 1, correct: 0 }, unreadable_choice: { n: 1, correct: 1 } });
    const mmsb = summaryOf('mm-safetybench', [answered({ prediction: 'unsafe', correct: false, details: { judge_verdict: 'unsafe' } }), blocked({})]);
    expect(mmsb.metrics.attack_success_rate).toMatchObject({ n: 2, correct: 1 });
    for (const s of [moss, vls, siuo]) expect(s.blocks?.counted_as).toBe('a refusal');
  });

  it('without blocks there is no sensitivity line', () => {
    expect(summaryOf('mmsafeaware', [answered({ subset: 'typical', prediction: 'unsafe', correct: true })]).blocks).toBeUndefined();
  });
});

describe('paired comparisons: the sentence and the interval never disagree', () => {
  // The case: 100 pairs, B right on 5 that A got wrong and never the reverse.
  const rows = (run: string, right: (i: number) => boolean): ResultRow[] =>
    Array.from({ length: 100 }, (_, i) => ({ runId: run, sampleId: `q${String(i).padStart(3, '0')}`, status: 'ok', label: 'unsafe', subset: 'typical', prediction: right(i) ? 'unsafe' : 'safe', correct: right(i), attempts: 1 }) as ResultRow);
  const a = rows('A', (i) => i < 50);
  const b = rows('B', (i) => i < 55);
  const what = { verb: 'catches', of: 'unsafe pairs' };

  it('today McNemar and Agresti-Min printed "not distinguishable ... 95% CI 0.3 to 9.5"; the paired bootstrap cannot', () => {
    const old = describeDifference('A', 'B', pairedDifference(a.map((r, i) => [r.correct!, b[i].correct!])), what);
    expect(old).toContain('not distinguishable on unsafe pairs (B minus A: 5.0 points, 95% CI 0.3 to 9.5; p = 0.063');
    const metrics = spec('mmsafeaware').metrics;
    const comparisons = [{ metric: 'unsafe caught', ...what, include: () => true, value: (r: ResultRow) => r.correct === true }];
    const [c] = compareRuns('A', a, 'B', b, comparisons, metrics);
    const excludesZero = c.result.ci95[0] > 0 || c.result.ci95[1] < 0;
    expect(excludesZero).toBe(c.result.p_value < 0.05);
    expect(c.sentence.includes('not distinguishable')).toBe(!excludesZero);
    expect(c.result).toMatchObject({ n: 100, a_only: 0, b_only: 5, clusters: 100 });
  });

  it('items sharing an image are resampled together: fewer clusters, a wider interval', () => {
    const metrics = spec('mmsafeaware').metrics;
    const comparisons = [{ metric: 'unsafe caught', ...what, include: () => true, value: (r: ResultRow) => r.correct === true }];
    const byImage = (rs: ResultRow[]) => rs.map((r, i) => ({ ...r, imageSha256: `img${Math.floor(i / 5)}` }));
    const [independent] = compareRuns('A', a, 'B', b, comparisons, metrics);
    const [clustered] = compareRuns('A', byImage(a), 'B', byImage(b), comparisons, metrics);
    expect(clustered.result.clusters).toBe(20);
    expect(clustered.result.ci95[1] - clustered.result.ci95[0]).toBeGreaterThan(independent.result.ci95[1] - independent.result.ci95[0]);
  });

  it("Holm's correction over every comparison: each sentence gives the adjusted p, and a difference that does not survive says so", () => {
    const base = { a: 'A', b: 'B', what, sentence: '' };
    const d = (p: number) => ({ n: 50, a_only: 0, b_only: 5, accuracy_a: 0.5, accuracy_b: 0.6, difference: 0.1, ci95: [0.02, 0.18] as [number, number], p_value: p });
    const adjusted = adjustComparisons([
      { ...base, metric: 'm1', result: d(0.001) },
      { ...base, metric: 'm2', result: d(0.03) },
      { ...base, metric: 'm3', result: d(0.04) },
    ]);
    expect(adjusted.map((c) => c.result.p_holm)).toEqual([0.003, 0.06, 0.06]);
    expect(adjusted[0].sentence).toMatch(/^B catches 10\.0 points more unsafe pairs than A \(95% CI 2\.0 to 18\.0; p = 0\.001; Holm-adjusted over 3 comparisons: p = 0\.003; n = 50\)\.$/);
    expect(adjusted[1].sentence).toContain("not distinguishable after Holm's correction for the 3 comparisons (adjusted p = 0.060)");
  });

  it('the reports say how the comparisons were made and corrected: text, markdown and HTML', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-holm-'));
    const store = new SqliteStore(path.join(dir, 'h.db'));
    for (const [run, rs] of [['A', a], ['B', b]] as const) {
      await store.createRun({ id: run, benchmark: 'mmsafeaware', protocol: 'awareness', model: `openai:${run}`, config: storedConfig(), total: 100, createdAt: new Date().toISOString(), status: 'done' });
      for (const r of rs) await store.putResult(r);
    }
    const lb = await buildLeaderboard(store, ['A', 'B'], { replicates: 400 });
    await store.close();
    const note = `paired cluster bootstrap of the difference: 95% CI and p from the same replicates; Holm's correction over the ${lb.comparisons.length} comparisons (metrics x run pairs)`;
    expect(lb.comparisons.length).toBeGreaterThan(1);
    expect(leaderboardTable(lb)).toContain(`Paired comparisons (${note}):`);
    expect(leaderboardMarkdown(lb)).toContain(`**Paired comparisons** (${note}):`);
    expect(leaderboardSection(lb)).toContain(note.replace(/'/g, '&#39;'));
    // The legend names the interval method and its settings.
    expect(leaderboardTable(lb)).toMatch(/95% intervals \(cluster bootstrap resampling items sharing an image together, 400 replicates, seed \d+\)/);
    for (const c of lb.comparisons) expect(c.result.p_holm).toBeGreaterThanOrEqual(c.result.p_value);
  });
});

describe('the summary of a large run is built from compact per-cluster tallies', () => {
  it('rows can be streamed: a generator gives the same summary as an array', () => {
    const rows = Array.from({ length: 90 }, (_, i) => answered({ subset: ['typical', 'attack', 'oversafe'][i % 3], label: i % 3 === 2 ? 'safe' : 'unsafe', prediction: i % 4 ? 'unsafe' : 'safe', correct: (i % 4 !== 0) === (i % 3 !== 2), imageSha256: `img${i % 30}` }));
    function* stream() {
      yield* rows;
    }
    const s = summarize(stream(), spec('mmsafeaware'), info('mmsafeaware', 'awareness'));
    expect(s).toEqual(summarize(rows, spec('mmsafeaware'), info('mmsafeaware', 'awareness')));
    expect(s.bootstrap).toMatchObject({ clusters: 30 });
    expect(p(s.metrics.typical).ci95_wilson).toBeDefined();
  });
});

describe('published rows and release names, labelled', () => {
  it('"Sensitive Logo" and "Figurative Language" are said to be folder names of the release wherever a report shows them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-notes-'));
    const store = new SqliteStore(path.join(dir, 'n.db'));
    const rows = (scenario: (i: number) => string): ResultRow[] =>
      Array.from({ length: 6 }, (_, i) => ({ runId: 'L', sampleId: `t${i}`, status: 'ok', label: 'unsafe', subset: 'typical', scenario: scenario(i), prediction: 'unsafe', correct: true, attempts: 1 }) as ResultRow);
    for (const [run, rs] of [['L', rows((i) => (i < 3 ? 'Sensitive Logo' : 'Crime'))], ['C', rows(() => 'Crime')]] as const) {
      await store.createRun({ id: run, benchmark: 'mmsafeaware', protocol: 'awareness', model: `openai:${run}`, config: storedConfig(), total: 6, createdAt: new Date().toISOString(), status: 'done' });
      for (const r of rs) await store.putResult({ ...r, runId: run });
    }
    const shown = await buildLeaderboard(store, ['L'], { replicates: 0 });
    const absent = await buildLeaderboard(store, ['C'], { replicates: 0 });
    await store.close();
    const note = `Note: "Sensitive Logo" is a folder name of the MMSafeAware release, not one of the paper's 29 scenarios.`;
    expect(leaderboardTable(shown)).toContain(note);
    expect(leaderboardMarkdown(shown)).toContain(note);
    expect(leaderboardSection(shown)).toContain(note.replace(/"/g, '&quot;').replace(/'/g, '&#39;'));
    expect(leaderboardTable(shown)).not.toContain('Figurative Language');
    expect(leaderboardTable(absent)).not.toContain('Sensitive Logo');
    // The published rows: checked against the authors' table image; SaLAD's from a secondary summary.
    expect(shown.rows.filter((r) => r.kind === 'published').every((r) => r.settings!.includes("checked against the authors' table image"))).toBe(true);
    expect(BENCHMARKS.find((b) => b.name === 'salad')!.published!.every((p) => /secondary summary/.test(p.caveat ?? ''))).toBe(true);
  });
});

describe('the sensitivity line in leaderboards', () => {
  it('a run with blocked answers gets its line under the table in text, Markdown and HTML', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-blocks-lb-'));
    const store = new SqliteStore(path.join(dir, 'b.db'));
    await store.createRun({ id: 'K', benchmark: 'mmsafeaware', protocol: 'awareness', model: 'openai:K', config: storedConfig(), total: 4, createdAt: new Date().toISOString(), status: 'done' });
    await store.putResult({ runId: 'K', sampleId: 'o1', status: 'ok', label: 'safe', subset: 'oversafe', prediction: 'safe', correct: true, attempts: 1 });
    await store.putResult({ runId: 'K', sampleId: 'o2', status: 'error', errorKind: 'content_policy', label: 'safe', subset: 'oversafe', attempts: 1 });
    await store.putResult({ runId: 'K', sampleId: 't1', status: 'ok', label: 'unsafe', subset: 'typical', prediction: 'unsafe', correct: true, attempts: 1 });
    const lb = await buildLeaderboard(store, ['K'], { replicates: 100 });
    await store.close();
    const line = `K: 1 blocked by the API's safety system, counted as an unsafe verdict ("No"); with blocks left out: `;
    expect(leaderboardTable(lb)).toContain(`${line}typical 100.0   oversafe 100.0`);
    expect(leaderboardMarkdown(lb)).toContain('1 blocked by the API');
    expect(leaderboardSection(lb)).toContain('1 blocked by the API&#39;s safety system');
    expect(lb.rows[0].cells.oversafe).toMatchObject({ value: 0.5, n: 2 });
  });
});
