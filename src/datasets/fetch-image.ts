import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Where images named by URL are kept, so each is downloaded once across runs. */
export function imageCacheDir(): string {
  return process.env.MMSAFE_CACHE_DIR ? path.join(process.env.MMSAFE_CACHE_DIR, 'images') : path.join(os.homedir(), '.cache', 'mmsafe', 'images');
}

/** Downloads an http(s) image once; later calls return the cached file. */
export async function fetchImageOnce(url: string, timeoutMs = 30_000): Promise<string> {
  const dir = imageCacheDir();
  const file = path.join(dir, createHash('sha256').update(url).digest('hex'));
  if (existsSync(file)) return file;
  const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  if (!res.ok) throw new Error(`HTTP ${res.status} fetching ${url}`);
  const bytes = Buffer.from(await res.arrayBuffer());
  mkdirSync(dir, { recursive: true });
  // Write then rename: a crash mid-download never leaves a half image in the cache.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return file;
}
