import { mkdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCHMARKS, benchmarkNames } from '../benchmarks/registry.ts';
import type { LoadedDataset } from '../core/types.ts';
import { download, extract, findFolderWith } from './archive.ts';
import { DatasetError } from './errors.ts';
import { loadBenchmark } from './registry.ts';

export function defaultDataDir(): string {
  return process.env.MMSAFE_CACHE_DIR ? path.join(process.env.MMSAFE_CACHE_DIR, 'data') : path.join(os.homedir(), '.cache', 'mmsafe', 'data');
}

export interface PullResult {
  benchmark: string;
  path: string;
  dataset: LoadedDataset;
}

/**
 * Downloads a benchmark archive, keeps its data folder under `dir/<benchmark>`, and verifies it by
 * loading it as a run would (counts, image presence).
 */
export async function pullBenchmark(benchmark: string, opts: { dir?: string; from?: string; log?: (s: string) => void } = {}): Promise<PullResult> {
  const source = BENCHMARKS.find((b) => b.name === benchmark)?.source;
  if (!source) throw new DatasetError(`no download source for "${benchmark}"; known: ${benchmarkNames({ pullable: true }).join(', ')}`);
  const log = opts.log ?? (() => undefined);
  const root = path.resolve(opts.dir ?? defaultDataDir());
  const target = path.join(root, benchmark);
  const work = path.join(root, `.pull-${benchmark}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const url = opts.from ?? source.urls[0];
    log(`downloading ${url}`);
    const archive = path.join(work, 'archive');
    await download(url, archive);
    log('extracting');
    await extract(archive, path.join(work, 'x'));
    const folder = findFolderWith(path.join(work, 'x'), source.marker);
    if (!folder) throw new DatasetError(`the archive from ${url} holds no ${source.marker}: is it ${source.note}?`);
    await source.afterExtract?.(folder, path.join(work, 'x'), log);
    rmSync(target, { recursive: true, force: true });
    renameSync(folder, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const dataset = await loadBenchmark(benchmark, target);
  return { benchmark, path: target, dataset };
}
