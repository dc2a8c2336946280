import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, renameSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { sniffImageType } from '../images/sniff.ts';

/** Far above any image an API takes; stops a wrong URL (a video, an archive) from filling the disk. */
const MAX_IMAGE_BYTES = 64 * 1024 * 1024;

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
  const declared = Number(res.headers.get('content-length'));
  if (declared > MAX_IMAGE_BYTES) throw new Error(`${url} is ${declared} bytes, more than the ${MAX_IMAGE_BYTES} an image may have`);
  const bytes = Buffer.from(await res.arrayBuffer());
  if (bytes.length > MAX_IMAGE_BYTES) throw new Error(`${url} is ${bytes.length} bytes, more than the ${MAX_IMAGE_BYTES} an image may have`);
  // A login page or error page served with 200 must not be cached as the image for good.
  if (!sniffImageType(bytes)) {
    throw new Error(`${url} did not return an image (${res.headers.get('content-type') ?? 'no content-type'}, ${bytes.length} bytes)`);
  }
  mkdirSync(dir, { recursive: true });
  // Write then rename: a crash mid-download never leaves a half image in the cache.
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, bytes);
  renameSync(tmp, file);
  return file;
}
