import { benchmarkNames, findBenchmark, getBenchmark } from '../benchmarks/registry.ts';
import type { LoadOptions } from '../benchmarks/types.ts';
import type { LoadedDataset } from '../core/types.ts';
import { DatasetError } from './errors.ts';

export type { LoadOptions } from '../benchmarks/types.ts';

/** The names `--benchmark` accepts. */
export const BENCHMARKS = benchmarkNames();

/** The subsets a benchmark defines (undefined for a custom set, whose rows say). */
export const benchmarkSubsets = (name: string): readonly string[] | undefined => findBenchmark(name)?.subsets;

/**
 * Loads a benchmark, refusing a selection with nothing to ask: a misspelt --subset or a file whose
 * every row is bad would otherwise "finish" a run of zero samples with exit code 0 and a table of
 * dashes, which reads like a result.
 */
export async function loadBenchmark(name: string, data: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const def = getBenchmark(name);
  const loader = def.load;
  const known = def.subsets;
  if (opts.subset !== undefined && known && !known.includes(opts.subset)) {
    throw new DatasetError(`unknown subset "${opts.subset}" for ${name}; use one of: ${known.join(', ')}`);
  }
  const dataset = await loader(data, opts);
  if (opts.subset !== undefined && dataset.total === 0) {
    const all = await loader(data, { ...opts, subset: undefined, limit: undefined });
    const found = [...new Set(all.samples.map((s) => s.subset).filter((x): x is string => Boolean(x)))].sort();
    throw new DatasetError(`${dataset.source}: no rows in subset "${opts.subset}"; the subsets present are: ${found.join(', ') || 'none'}`);
  }
  if (dataset.samples.length === 0) throw new DatasetError(nothingToEvaluate(dataset, def.missingImageHint));
  return dataset;
}

function nothingToEvaluate(dataset: LoadedDataset, imageHint?: string): string {
  if (dataset.total === 0) return `${dataset.source}: holds no rows; is it the right file, or was it cut short?`;
  const first = dataset.problems[0];
  const missing = dataset.problems.filter((p) => p.kind === 'missing_image').length;
  const hint = missing === dataset.problems.length ? `; are the images where the dataset expects them${imageHint ? ` (${imageHint})` : ''}?` : '';
  return `${dataset.source}: none of its ${dataset.total} rows can be evaluated (${missing} without an image, ${dataset.problems.length - missing} invalid); first: ${first ? `${first.where}: ${first.message}` : 'no reason recorded'}${hint}`;
}
