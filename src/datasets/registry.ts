import type { LoadedDataset } from '../core/types.ts';
import { loadDemo } from '../demo/dataset.ts';
import { DatasetError } from './errors.ts';
import { loadMmSafeAware } from './mmsafeaware.ts';

export interface LoadOptions {
  subset?: string;
  limit?: number;
}

type Loader = (data: string, opts: LoadOptions) => Promise<LoadedDataset>;

/** One line per benchmark. */
const LOADERS: Record<string, Loader> = {
  mmsafeaware: (data, opts) => loadMmSafeAware(data, opts as Parameters<typeof loadMmSafeAware>[1]),
  demo: (data, opts) => loadDemo(data, opts),
};

export const BENCHMARKS = Object.keys(LOADERS);

export async function loadBenchmark(name: string, data: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const loader = LOADERS[name];
  if (!loader) throw new DatasetError(`unknown benchmark "${name}"; known: ${BENCHMARKS.join(', ')}`);
  return loader(data, opts);
}
