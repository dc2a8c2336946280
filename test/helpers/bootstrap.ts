import { mulberry32 } from '../../src/metrics/bootstrap.ts';

/**
 * The ordinary (one item per cluster) bootstrap written out plainly, for checking summaries by
 * hand: outcomes are keyed by cluster and taken in key order, as mmsafe orders clusters, then n
 * are drawn with replacement per replicate; the interval is [k-th smallest, k-th largest] mean,
 * k = ceil(0.025 B).
 */
export function ordinaryBootstrap(outcomes: Record<string, boolean>, replicates = 2000, seed = 20250601): [number, number] {
  const values = Object.keys(outcomes).sort().map((k) => (outcomes[k] ? 1 : 0));
  const n = values.length;
  const rand = mulberry32(seed);
  const means = Array.from({ length: replicates }, () => {
    let s = 0;
    for (let j = 0; j < n; j++) s += values[Math.floor(rand() * n)];
    return s / n;
  }).sort((a, b) => a - b);
  const k = Math.ceil(0.025 * replicates);
  return [means[k - 1], means[replicates - k]];
}
