import { describe, expect, it } from 'vitest';
import {
  bootstrapPValue, clusterBootstrap, holm, meanOfCells, mulberry32, pairedClusterBootstrap, percentileInterval, pooled, type Observation,
} from '../src/metrics/bootstrap.ts';
import { wilson } from '../src/metrics/stats.ts';

const obs = (cluster: string, cell: string, ...values: number[]): Observation => ({ cluster, cell, values });

/** n items, the first `hits` correct, each its own cluster. */
const independent = (hits: number, n: number, cell = 'all') => Array.from({ length: n }, (_, i) => obs(`c${String(i).padStart(4, '0')}`, cell, i < hits ? 1 : 0));

describe('seeded PRNG', () => {
  it('is deterministic per seed and stays in [0, 1)', () => {
    const a = mulberry32(7);
    const b = mulberry32(7);
    const c = mulberry32(8);
    const xs = Array.from({ length: 1000 }, () => a());
    expect(xs).toEqual(Array.from({ length: 1000 }, () => b()));
    expect(xs.slice(0, 5)).not.toEqual(Array.from({ length: 5 }, () => c()));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(0);
    expect(Math.max(...xs)).toBeLessThan(1);
    // roughly uniform: the mean of 1000 draws is near 1/2
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeGreaterThan(0.45);
    expect(xs.reduce((s, x) => s + x, 0) / xs.length).toBeLessThan(0.55);
  });
});

describe('order-statistic interval and bootstrap p-value', () => {
  it('takes the k-th smallest and largest values, k = ceil(0.025 B)', () => {
    const values = Array.from({ length: 200 }, (_, i) => 200 - i); // 200..1, unsorted on purpose
    // k = ceil(5) = 5: the 5th smallest (5) and the 5th largest (196)
    expect(percentileInterval(values)).toEqual([5, 196]);
    expect(percentileInterval([3, 1, 2])).toEqual([1, 3]);
  });
  it('counts the replicates on either side of zero', () => {
    // 3 of 100 at or below zero: p = 2 * 3 / 100
    const values = [...Array(97).fill(0.1), -0.1, -0.2, 0];
    expect(bootstrapPValue(values)).toBeCloseTo(0.06, 12);
    expect(bootstrapPValue(Array(50).fill(0))).toBe(1);
  });
});

describe('cluster bootstrap', () => {
  it('with one item per cluster is the ordinary bootstrap', () => {
    const items = independent(13, 40);
    const got = clusterBootstrap(items, { p: pooled(['all']) }, { replicates: 500, seed: 11 }).p!;
    // The ordinary bootstrap written out by hand with the same generator: draw n items with replacement.
    const rand = mulberry32(11);
    const means = Array.from({ length: 500 }, () => {
      let s = 0;
      for (let j = 0; j < 40; j++) s += items[Math.floor(rand() * 40)].values[0];
      return s / 40;
    });
    const sorted = [...means].sort((a, b) => a - b);
    const k = Math.ceil(0.025 * 500);
    expect(got.estimate).toBeCloseTo(13 / 40, 12);
    expect(got.ci95).toEqual([sorted[k - 1], sorted[500 - k]]);
    expect(got.clusters).toBe(40);
  });

  it('with clusters of identical answers equals the bootstrap of one answer per cluster', () => {
    // 30 images, 5 items each answered alike: the information is that of 30 items, not 150.
    const perImage = independent(12, 30);
    const fivefold = perImage.flatMap((o) => Array.from({ length: 5 }, () => ({ ...o })));
    const opts = { replicates: 1000, seed: 3 };
    const clustered = clusterBootstrap(fivefold, { p: pooled(['all']) }, opts).p!;
    expect(clustered.ci95).toEqual(clusterBootstrap(perImage, { p: pooled(['all']) }, opts).p!.ci95);
    // Treating the 150 items as independent gives a much narrower, overconfident interval.
    const naive = clusterBootstrap(fivefold.map((o, i) => ({ ...o, cluster: `i${i}` })), { p: pooled(['all']) }, opts).p!;
    expect(clustered.ci95[1] - clustered.ci95[0]).toBeGreaterThan(1.8 * (naive.ci95[1] - naive.ci95[0]));
  });

  it('is close to Wilson for many independent items, and exact at 0% and 100%', () => {
    const got = clusterBootstrap(independent(300, 1000), { p: pooled(['all']) }).p!;
    const w = wilson(300, 1000);
    expect(Math.abs(got.ci95[0] - w[0])).toBeLessThan(0.01);
    expect(Math.abs(got.ci95[1] - w[1])).toBeLessThan(0.01);
    expect(clusterBootstrap(independent(20, 20), { p: pooled(['all']) }).p!.ci95).toEqual([1, 1]);
    expect(clusterBootstrap(independent(0, 20), { p: pooled(['all']) }).p!.ci95).toEqual([0, 0]);
  });

  it('is the same for the same seed and differs for another', () => {
    const items = independent(9, 31);
    const a = clusterBootstrap(items, { p: pooled(['all']) }, { seed: 1 }).p!;
    expect(clusterBootstrap(items, { p: pooled(['all']) }, { seed: 1 }).p!).toEqual(a);
    expect(clusterBootstrap(items, { p: pooled(['all']) }, { seed: 2, replicates: 2000 }).p!.ci95).not.toEqual([0, 0]);
    expect(a.replicates).toBe(2000);
  });

  it('gives aggregates: macro mean of cells and the item-weighted pool', () => {
    // typical 3/4, attack 1/2, oversafe 0/2
    const items = [
      obs('a', 'typical', 1), obs('b', 'typical', 1), obs('c', 'typical', 1), obs('d', 'typical', 0),
      obs('a', 'attack', 1), obs('b', 'attack', 0), obs('e', 'oversafe', 0), obs('f', 'oversafe', 0),
    ];
    const got = clusterBootstrap(items, { total: meanOfCells(['typical', 'attack', 'oversafe', 'absent']), micro: pooled(['typical', 'attack', 'oversafe']) }, { replicates: 300 });
    expect(got.total!.estimate).toBeCloseTo((0.75 + 0.5 + 0) / 3, 12);
    expect(got.micro!.estimate).toBeCloseTo(4 / 8, 12);
    for (const k of ['total', 'micro'] as const) {
      expect(got[k]!.ci95[0]).toBeLessThanOrEqual(got[k]!.estimate);
      expect(got[k]!.ci95[1]).toBeGreaterThanOrEqual(got[k]!.estimate);
    }
    // Replicates that drew no oversafe item cannot form the macro mean and are skipped.
    expect(got.total!.replicates).toBeLessThan(300);
    expect(got.micro!.replicates).toBe(300);
    expect(clusterBootstrap(items, { none: pooled(['nothing']) }).none).toBeUndefined();
  });
});

describe('paired cluster bootstrap', () => {
  it('identical runs differ by exactly zero, p = 1', () => {
    const items = independent(10, 30).map((o) => ({ ...o, values: [o.values[0], o.values[0]] }));
    const d = pairedClusterBootstrap(items, pooled(['all']))!;
    expect(d).toMatchObject({ difference: 0, ci95: [0, 0], p_value: 1 });
  });

  it('B right wherever A is, and more: a positive interval and a small p', () => {
    // 40 items: both right on 10, only B on 20, neither on 10.
    const items = Array.from({ length: 40 }, (_, i) => obs(`c${i}`, 'all', i < 10 ? 1 : 0, i < 30 ? 1 : 0));
    const d = pairedClusterBootstrap(items, pooled(['all']))!;
    expect(d.difference).toBeCloseTo(0.5, 12);
    expect(d.ci95[0]).toBeGreaterThan(0);
    expect(d.p_value).toBe(0);
  });

  it('the interval excludes 0 exactly when p < 0.05, whatever the data', () => {
    const rand = mulberry32(99);
    let significant = 0;
    for (let trial = 0; trial < 60; trial++) {
      const n = 20 + Math.floor(rand() * 40);
      const shift = rand() * 0.3;
      const items = Array.from({ length: n }, (_, i) => obs(`c${Math.floor(i / 3)}`, 'all', rand() < 0.5 ? 1 : 0, rand() < 0.5 + shift ? 1 : 0));
      const d = pairedClusterBootstrap(items, pooled(['all']), { replicates: 400, seed: trial })!;
      const excludes = d.ci95[0] > 0 || d.ci95[1] < 0;
      expect(excludes).toBe(d.p_value < 0.05);
      if (excludes) significant++;
    }
    // the check above is not vacuous: both outcomes occur
    expect(significant).toBeGreaterThan(0);
    expect(significant).toBeLessThan(60);
  });
});

describe('Holm adjustment', () => {
  it('matches a hand computation', () => {
    // sorted: 0.005*4 = 0.02, 0.01*3 = 0.03, 0.03*2 = 0.06, 0.04*1 = 0.04 -> kept monotone at 0.06
    const got = holm([0.01, 0.04, 0.03, 0.005]);
    expect(got.map((p) => Number(p.toFixed(10)))).toEqual([0.03, 0.06, 0.06, 0.02]);
    expect(holm([0.5, 0.9])).toEqual([1, 1]);
    expect(holm([])).toEqual([]);
  });
});
