import type { ImageLimits, PreparedImage } from '../core/types.ts';
import { readAndPrepare } from './prepare.ts';

/**
 * Prepares each distinct image once per run (MMSafeAware: 444 images behind 1,446 samples, five
 * attack items share each typical item's image) while keeping memory bounded: least recently used
 * entries are dropped past `maxCacheBytes`. Failures are remembered so a corrupt file is decoded
 * once and reported on every sample that uses it.
 */
export class ImageCache {
  private readonly entries = new Map<string, { promise: Promise<PreparedImage>; bytes: number }>();
  private total = 0;
  readonly stats = { prepared: 0, hits: 0 };

  constructor(
    private readonly limits: ImageLimits,
    private readonly maxCacheBytes = 64 * 1024 * 1024,
  ) {}

  get(file: string): Promise<PreparedImage> {
    const hit = this.entries.get(file);
    if (hit) {
      this.stats.hits++;
      this.entries.delete(file);
      this.entries.set(file, hit);
      return hit.promise;
    }
    this.stats.prepared++;
    const entry = { promise: readAndPrepare(file, this.limits), bytes: 0 };
    this.entries.set(file, entry);
    entry.promise.then(
      (img) => {
        if (this.entries.get(file) !== entry) return;
        entry.bytes = img.bytes;
        this.total += img.bytes;
        this.evict();
      },
      () => undefined,
    );
    return entry.promise;
  }

  private evict(): void {
    for (const [key, entry] of this.entries) {
      if (this.total <= this.maxCacheBytes) break;
      if (entry.bytes === 0) continue;
      this.entries.delete(key);
      this.total -= entry.bytes;
    }
  }
}
