import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { readRegularFile } from './read.ts';
import { ProviderError, type ImageLimits, type PreparedImage } from '../core/types.ts';
import { prepareImage } from './prepare.ts';

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

const MB = 1024 * 1024;
/** The cache's bounds: never below the old fixed size, never above a quarter gigabyte whatever the set. */
export const IMAGE_CACHE_FLOOR = 64 * MB;
export const IMAGE_CACHE_CEILING = 256 * MB;

/**
 * A cache budget that holds every distinct image of a set when they fit under the ceiling: a run
 * that cycles over more pictures than a fixed budget holds would otherwise miss on every sample
 * (least-recently-used eviction and a cyclic order), re-reading, re-hashing and re-checking each
 * image every time. Sizes are those on disk (a prepared image is the file itself, or a smaller
 * re-encoding); counting stops at the ceiling, so a set of a million pictures costs few stats.
 */
export function imageCacheBudget(files: Iterable<string>): number {
  let total = 0;
  for (const file of new Set(files)) {
    try {
      total += statSync(file).size;
    } catch {
      // A missing file is the loader's to report; it costs the cache nothing.
    }
    if (total >= IMAGE_CACHE_CEILING) return IMAGE_CACHE_CEILING;
  }
  return Math.max(IMAGE_CACHE_FLOOR, Math.ceil(total * 1.05));
}

/**
 * Prepares each distinct image once per run, however many samples or file names share it
 * (one benchmark has 444 distinct images behind 1,446 samples, each attack item has its own copy of its
 * typical item's picture). Files are keyed by content and prepared once; a file name seen before
 * is not read again while its image is cached (large runs reuse a few thousand pictures). Memory
 * stays bounded by dropping least recently used results past `maxCacheBytes` (and names past
 * `maxNames`). Failures are remembered too, so a corrupt file is decoded once and reported on every
 * sample that uses it.
 */
export class ImageCache {
  private readonly byContent = new Map<string, { promise: Promise<PreparedImage>; bytes: number }>();
  /** File name to content key, for names read before. */
  private readonly byName = new Map<string, string>();
  private total = 0;
  readonly stats = { prepared: 0, hits: 0 };

  constructor(
    private readonly limits: ImageLimits,
    private readonly maxCacheBytes = IMAGE_CACHE_FLOOR,
    private readonly maxNames = 10_000,
  ) {}

  async get(file: string): Promise<PreparedImage> {
    const known = this.byName.get(file);
    const cached = known === undefined ? undefined : this.byContent.get(known);
    if (cached) return this.hit(known!, cached);
    let raw: Buffer;
    try {
      raw = await readRegularFile(file);
    } catch (error) {
      throw new ProviderError('image', `cannot read image ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
    const key = sha256(raw);
    this.byName.delete(file);
    this.byName.set(file, key);
    if (this.byName.size > this.maxNames) this.byName.delete(this.byName.keys().next().value!);
    const hit = this.byContent.get(key);
    if (hit) return this.hit(key, hit);
    this.stats.prepared++;
    const entry = { promise: prepareImage(raw, this.limits, file, key), bytes: 0 };
    this.byContent.set(key, entry);
    entry.promise.then(
      (img) => {
        if (this.byContent.get(key) !== entry) return;
        entry.bytes = img.bytes;
        this.total += img.bytes;
        this.evict();
      },
      () => undefined,
    );
    return entry.promise;
  }

  private hit(key: string, entry: { promise: Promise<PreparedImage>; bytes: number }): Promise<PreparedImage> {
    this.stats.hits++;
    this.byContent.delete(key);
    this.byContent.set(key, entry);
    return entry.promise;
  }

  private evict(): void {
    for (const [key, entry] of this.byContent) {
      if (this.total <= this.maxCacheBytes) break;
      if (entry.bytes === 0) continue;
      this.byContent.delete(key);
      this.total -= entry.bytes;
    }
  }
}
