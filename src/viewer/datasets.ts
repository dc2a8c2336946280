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
   * directory or the image cache. Folders may be reached through symlinks (a dataset's images/ on
   * another disk): the file is served when its real path lies inside a root's real path, or when
   * its name lies inside a root and its real path inside the real path of the folder it is named
   * in. A file that is itself a link to somewhere else is never served.
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
    const named = [dataDir, settings.images ?? '', imageCacheDir()].filter(Boolean).map((r) => path.resolve(r));
    const roots = (await Promise.all(named.map((r) => realpath(r).catch(() => undefined)))).filter((r): r is string => Boolean(r));
    const inside = (file: string, dir: string) => file.startsWith(dir + path.sep);
    const resolved = await realpath(file).catch(() => undefined);
    if (!resolved) return undefined;
    if (roots.some((r) => inside(resolved, r))) return resolved;
    const folder = await realpath(path.dirname(path.resolve(file))).catch(() => undefined);
    return folder && named.some((r) => inside(path.resolve(file), r)) && inside(resolved, folder) ? resolved : undefined;
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
