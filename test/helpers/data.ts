import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
export const sharedData = path.resolve(repoRoot, '../shared/data');
export const mmsafeawareDir = path.join(sharedData, 'mmsafeaware');
export const saladSampleDir = path.join(sharedData, 'salad-sample');
/** The sinwang20/SIUO repository as `mmsafe data pull siuo` leaves it (images in data/images, when fetched). */
export const siuoDir = path.join(sharedData, 'siuo');

/** True when the real data sits beside the repo; otherwise says loudly which tests are skipped. */
export function hasData(dir: string, what: string): boolean {
  const ok = existsSync(dir);
  if (!ok) console.warn(`[mmsafe tests] SKIPPING ${what}: ${dir} not found (the real data lives in ../shared/data beside the repo)`);
  return ok;
}
