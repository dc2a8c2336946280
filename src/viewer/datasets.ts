import { realpath, stat } from 'node:fs/promises';
import path from 'node:path';
import type { Sample } from '../core/types.ts';
import { imageCacheDir } from '../datasets/fetch-image.ts';
import { loadBenchmark } from '../datasets/registry.ts';
import type { Store } from '../store/store.ts';

/**
 * The viewer shows each sample's image and prompt, which live in the run's dataset, not in the
 * store: the dataset is loaded once per run, and images are served only from its directory (or
 * mmsafe's own image cache), never from a path a request names.
 */
export class RunSamples {
  private readonly cache = new Map<string, Promise<Map<string, Sample>>>();
  constructor(private readonly store: Store) {}

  samples(runId: string): Promise<Map<string, Sample>> {
    let entry = this.cache.get(runId);
    if (!entry) {
      entry = this.load(runId);
      this.cache.set(runId, entry);
    }
    return entry;
  }

  async sample(runId: string, sampleId: string): Promise<Sample | undefined> {
    return (await this.samples(runId)).get(sampleId);
  }

  /**
   * The image file of a sample, if it sits inside the run's dataset directory, its --images
   * directory or the image cache. Both sides are resolved through symlinks, so a link inside the
   * dataset cannot point the viewer at a file elsewhere.
   */
  async imagePath(runId: string, sampleId: string): Promise<string | undefined> {
    const run = await this.store.getRun(runId);
    const sample = await this.sample(runId, sampleId);
    const file = sample?.image?.path;
    if (!run || !file) return undefined;
    const settings = run.config.run;
    const source = run.config.data_source ?? '';
    // A custom benchmark's source is its rows file; its images are relative to the file's folder.
    const dataDir = source ? ((await stat(source).catch(() => undefined))?.isDirectory() ? source : path.dirname(source)) : '';
    const roots = (await Promise.all([dataDir, settings.images ?? '', imageCacheDir()].filter(Boolean).map((r) => realpath(r).catch(() => undefined))))
      .filter((r): r is string => Boolean(r))
      .map((r) => r + path.sep);
    const resolved = await realpath(file).catch(() => undefined);
    return resolved && roots.some((r) => resolved.startsWith(r)) ? resolved : undefined;
  }

  private async load(runId: string): Promise<Map<string, Sample>> {
    const run = await this.store.getRun(runId);
    if (!run) return new Map();
    const c = run.config.run;
    try {
      // No limit: the viewer must find every sample the run stored.
      const ds = await loadBenchmark(run.benchmark, c.data, { subset: c.subset, images: c.images });
      return new Map(ds.samples.map((s) => [s.id, s]));
    } catch {
      // The dataset moved or is gone: the viewer still shows answers, without images.
      return new Map();
    }
  }
}
