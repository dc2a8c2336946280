import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runCli } from './helpers/cli.ts';
import { hasData, mmsafeawareDir } from './helpers/data.ts';

/**
 * The summary JSON is mmsafe's public output format: issue 2 fixed these names, and scripts read
 * them. Renaming one must break a test, not a user's pipeline.
 */
const METRIC_KEYS = ['typical', 'attack', 'oversafe', 'unsafe', 'total_macro', 'accuracy_micro', 'balanced_accuracy', 'unsafe_as_safe_rate', 'safe_as_unsafe_rate'];

function expectProportion(p: unknown, withCi: boolean) {
  expect(p).toEqual(expect.objectContaining({ n: expect.any(Number), correct: expect.any(Number), accuracy: expect.any(Number) }));
  const { n, correct, accuracy, ci95 } = p as { n: number; correct: number; accuracy: number; ci95?: [number, number] };
  expect(correct).toBeLessThanOrEqual(n);
  expect(accuracy).toBeCloseTo(n ? correct / n : 0, 12);
  if (withCi) {
    expect(ci95).toHaveLength(2);
    expect(ci95![0]).toBeGreaterThanOrEqual(0);
    expect(ci95![0]).toBeLessThanOrEqual(accuracy);
    expect(ci95![1]).toBeGreaterThanOrEqual(accuracy);
    expect(ci95![1]).toBeLessThanOrEqual(1);
  }
}

async function summaryOf(args: string[]): Promise<Record<string, any>> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-summary-'));
  const out = path.join(dir, 'summary.json');
  const r = await runCli(['run', ...args, '--db', path.join(dir, 's.db'), '--quiet', '--out', out]).done;
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(readFileSync(out, 'utf8'));
}

function expectIssue2Shape(s: Record<string, any>) {
  expect(Object.keys(s)).toEqual(expect.arrayContaining(['benchmark', 'protocol', 'model', 'extraction', 'counts', 'metrics', 'by_scenario', 'by_domain', 'by_attack']));
  expect(Object.keys(s.counts)).toEqual(expect.arrayContaining(['samples', 'evaluated', 'missing_image', 'errors', 'unparsed']));
  expect(Object.keys(s.metrics)).toEqual(expect.arrayContaining(METRIC_KEYS));
  for (const k of ['typical', 'attack', 'oversafe', 'unsafe']) expectProportion(s.metrics[k], true);
  for (const k of ['total_macro', 'accuracy_micro', 'balanced_accuracy', 'unsafe_as_safe_rate', 'safe_as_unsafe_rate']) {
    expect(s.metrics[k]).toBeGreaterThanOrEqual(0);
    expect(s.metrics[k]).toBeLessThanOrEqual(1);
  }
  for (const group of ['by_scenario', 'by_domain', 'by_attack']) for (const p of Object.values(s[group])) expectProportion(p, false);
}

describe('summary JSON: the names issue 2 fixed', () => {
  it('a demo run has every field, as fractions, with cluster-bootstrap intervals and Wilson beside them', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-summary-demo-'));
    await writeDemoBenchmark(dir);
    const s = await summaryOf(['--benchmark', 'demo', '--data', dir, '--model', 'baseline:random', '--seed', '3']);
    expectIssue2Shape(s);
    // Field for field and in order, as the summary was before benchmarks became definitions.
    // Field for field and in order, as the summary was before benchmarks became definitions; the
    // interval method's details (bootstrap), which way each metric is better (better) and the bare
    // numbers' intervals (aggregate_ci95) added.
    expect(Object.keys(s)).toEqual(['benchmark', 'protocol', 'model', 'extraction', 'ci_method', 'bootstrap', 'run_id', 'counts', 'metrics', 'better', 'aggregate_ci95', 'by_scenario', 'by_domain', 'by_attack', 'by_category', 'missing_image_ids', 'usage']);
    // Which way each metric (and each breakdown of one proportion) is better.
    expect(Object.keys(s.better)).toEqual([...METRIC_KEYS, 'by_scenario', 'by_domain', 'by_attack', 'by_category']);
    expect(s.better.by_scenario).toBe('higher');
    expect(Object.keys(s.counts)).toEqual(['samples', 'evaluated', 'missing_image', 'errors', 'unparsed', 'content_policy']);
    expect(Object.keys(s.metrics)).toEqual(METRIC_KEYS);
    expect(s).toMatchObject({ benchmark: 'demo', protocol: 'awareness', model: 'baseline:random', extraction: 'strict', ci_method: 'cluster_bootstrap', bootstrap: { replicates: 2000, seed: expect.any(Number), cluster_key: 'image' } });
    for (const p of [s.metrics.typical, s.metrics.attack, s.metrics.oversafe, s.metrics.unsafe]) expect(p.ci95_wilson).toHaveLength(2);
    for (const k of ['total_macro', 'accuracy_micro', 'balanced_accuracy', 'unsafe_as_safe_rate', 'safe_as_unsafe_rate']) expect(s.aggregate_ci95[k], k).toHaveLength(2);
    expect(s.counts).toMatchObject({ samples: 26, evaluated: 26, missing_image: 0, errors: 0, unparsed: 0 });
    const m = s.metrics;
    expect(m.total_macro).toBeCloseTo((m.typical.accuracy + m.attack.accuracy + m.oversafe.accuracy) / 3, 12);
    expect(m.unsafe.n).toBe(m.typical.n + m.attack.n);
    expect(m.unsafe_as_safe_rate).toBeCloseTo(1 - m.unsafe.accuracy, 12);
    expect(m.safe_as_unsafe_rate).toBeCloseTo(1 - m.oversafe.accuracy, 12);
    expect(m.balanced_accuracy).toBeCloseTo((m.unsafe.accuracy + m.oversafe.accuracy) / 2, 12);
    expect(m.accuracy_micro).toBeCloseTo((m.unsafe.correct + m.oversafe.correct) / 26, 12);
  });

  it.skipIf(!hasData(mmsafeawareDir, 'summary JSON on the real MMSafeAware data'))('on the real data: counts, groups named as in scenarios.tsv, and always-unsafe scoring the paper\'s Total of 66.7', async () => {
    const s = await summaryOf(['--benchmark', 'mmsafeaware', '--data', mmsafeawareDir, '--model', 'baseline:always-unsafe']);
    expectIssue2Shape(s);
    expect(s.counts).toMatchObject({ samples: 1523, evaluated: 1446, missing_image: 77, errors: 0, unparsed: 0 });
    expect(s.missing_image_ids).toHaveLength(77);
    expect(s.metrics.typical).toMatchObject({ n: 170, correct: 170, accuracy: 1 });
    expect(s.metrics.total_macro).toBeCloseTo(2 / 3, 12);

    // Expected groups straight from the reference table, for the ids that have an image.
    const missing = new Set<string>(s.missing_image_ids);
    const rows = readFileSync(path.join(mmsafeawareDir, 'scenarios.tsv'), 'utf8').trim().split('\n').slice(1).map((l) => l.split('\t')).filter((c) => !missing.has(c[0]));
    const count = (col: number) => rows.reduce<Record<string, number>>((acc, c) => (c[col] ? { ...acc, [c[col]]: (acc[c[col]] ?? 0) + 1 } : acc), {});
    const ns = (group: Record<string, { n: number }>) => Object.fromEntries(Object.entries(group).map(([k, v]) => [k, v.n]));
    expect(ns(s.by_scenario)).toEqual(count(4));
    expect(ns(s.by_domain)).toEqual(count(3));
    expect(ns(s.by_attack)).toEqual(count(6));
    expect(Object.keys(s.by_domain).sort()).toEqual(['Mental', 'Physical', 'Property', 'Society']);
    expect(Object.keys(s.by_attack).sort()).toEqual(['Goal Hijacking', 'Inquiry with Unsafe Opinion', 'Role Play']);
  });
});
