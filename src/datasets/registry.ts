import type { LoadedDataset } from '../core/types.ts';
import { loadDemo } from '../demo/dataset.ts';
import { DatasetError } from './errors.ts';
import { loadCustom } from './custom.ts';
import { loadMmSafeAware } from './mmsafeaware.ts';
import { loadSalad } from './salad.ts';

export interface LoadOptions {
  subset?: string;
  limit?: number;
  /** SaLAD: the images directory when not `<data>/images`. */
  images?: string;
}

type Loader = (data: string, opts: LoadOptions) => Promise<LoadedDataset>;

/** One line per benchmark. */
const LOADERS: Record<string, Loader> = {
  mmsafeaware: (data, opts) => loadMmSafeAware(data, opts as Parameters<typeof loadMmSafeAware>[1]),
  salad: (data, opts) => loadSalad(data, opts),
  custom: (data, opts) => loadCustom(data, opts),
  demo: (data, opts) => loadDemo(data, opts),
};

export const BENCHMARKS = Object.keys(LOADERS);

export async function loadBenchmark(name: string, data: string, opts: LoadOptions = {}): Promise<LoadedDataset> {
  const loader = LOADERS[name];
  if (!loader) throw new DatasetError(`unknown benchmark "${name}"; known: ${BENCHMARKS.join(', ')}`);
  return loader(data, opts);
}
