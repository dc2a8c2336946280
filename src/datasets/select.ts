import { createHash } from 'node:crypto';
import type { LoadedDataset, Sample } from '../core/types.ts';
import { DatasetError } from './errors.ts';

/** `--ids` then `--sample` (the sampling seed is the run's --seed, 0 when unset). */
export function selectSamples(dataset: LoadedDataset, config: { ids?: string[]; sample?: number; seed?: number }): LoadedDataset {
  const picked = config.ids ? selectIds(dataset, config.ids) : dataset;
  return config.sample ? sampleStratified(picked, config.sample, config.seed ?? 0) : picked;
}

/**
 * `--ids`: exactly these samples. An id the dataset does not have is a mistake worth stopping for
 * (a typo would otherwise shrink the run silently); rows left out (missing image) stay reported.
 */
export function selectIds(dataset: LoadedDataset, ids: string[]): LoadedDataset {
  const wanted = new Set(ids);
  const known = new Set([...dataset.samples.map((s) => s.id), ...dataset.problems.map((p) => p.id)]);
  const unknown = ids.filter((id) => !known.has(id));
  if (unknown.length) {
    const shown = unknown.slice(0, 5).join(', ') + (unknown.length > 5 ? `, ... (+${unknown.length - 5})` : '');
    throw new DatasetError(`--ids: ${unknown.length} id(s) not in ${dataset.source}: ${shown} (ids look like ${dataset.samples.slice(0, 3).map((s) => s.id).join(', ')})`);
  }
  return keep(dataset, (id) => wanted.has(id));
}

/**
 * `--sample N`: a stratified random sample, so a small trial still has every subset. Each subset
 * gets at least one sample (when N allows) and otherwise its share of N by size (largest
 * remainder); within a subset the draw is an order by hash of seed and id, so the same seed gives
 * the same samples on any machine, and a larger N only adds samples. Dataset order is kept.
 */
export function sampleStratified(dataset: LoadedDataset, n: number, seed = 0): LoadedDataset {
  if (n >= dataset.samples.length) return dataset;
  const groups = new Map<string, Sample[]>();
  for (const s of dataset.samples) {
    const k = s.subset ?? '';
    if (!groups.has(k)) groups.set(k, []);
    groups.get(k)!.push(s);
  }
  const quotas = allocate([...groups.values()].map((g) => g.length), n);
  const chosen = new Set<string>();
  [...groups.values()].forEach((g, i) => {
    const order = [...g].sort((a, b) => rank(seed, a.id).localeCompare(rank(seed, b.id)));
    for (const s of order.slice(0, quotas[i])) chosen.add(s.id);
  });
  return keep(dataset, (id) => chosen.has(id), true);
}

/** n split over groups of these sizes: one each first (largest groups first), then by largest remainder. */
export function allocate(sizes: number[], n: number): number[] {
  const total = sizes.reduce((a, b) => a + b, 0);
  const quotas = sizes.map(() => 0);
  const bySize = sizes.map((_, i) => i).sort((a, b) => sizes[b] - sizes[a] || a - b);
  let left = n;
  for (const i of bySize) if (left > 0 && sizes[i] > 0) (quotas[i] = 1), left--;
  while (left > 0) {
    // The group furthest below its proportional share (and not yet exhausted) gets the next one.
    let best = -1;
    let gap = -Infinity;
    for (const i of bySize) {
      if (quotas[i] >= sizes[i]) continue;
      const g = (sizes[i] * n) / total - quotas[i];
      if (g > gap) (gap = g), (best = i);
    }
    if (best < 0) break;
    quotas[best]++;
    left--;
  }
  return quotas;
}

const rank = (seed: number, id: string) => createHash('sha256').update(`${seed}\n${id}`).digest('hex');

/** `--ids FILE` or `a,b,c`: a file holds ids separated by lines, commas or spaces (# starts a comment). */
export function parseIdList(text: string): string[] {
  return [...new Set(text.split('\n').map((l) => l.replace(/#.*/, '')).join(',').split(/[,\s]+/).map((s) => s.trim()).filter(Boolean))];
}

function keep(dataset: LoadedDataset, pick: (id: string) => boolean, sampled = false): LoadedDataset {
  const samples = dataset.samples.filter((s) => pick(s.id));
  // Rows that could not be asked (no image) were never drawn; --ids keeps those it names, still reported.
  const problems = sampled ? [] : dataset.problems.filter((p) => p.id !== undefined && pick(p.id));
  return { ...dataset, samples, problems, total: samples.length + problems.length };
}
