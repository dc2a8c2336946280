import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { ZodError } from 'zod';
import type { DatasetProblem } from '../core/types.ts';
import { unreadableImageReason } from '../benchmarks/salad.ts';
import { DatasetError } from './errors.ts';

// What loaders of JSON releases share: reading the file, and turning a bad row or image into a problem.

export function readJsonFile(file: string): unknown {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DatasetError(`${file}: not valid JSON (${(error as Error).message})`);
  }
}

/** The first schema issue of a row, as the problem reported for it. */
export function fieldProblem(where: string, error: ZodError, id?: string): DatasetProblem {
  const issue = error.issues[0];
  return { ...(id ? { id } : {}), where, kind: 'missing_field', message: `field "${issue.path.join('.')}": ${issue.message}` };
}

/**
 * An item's image resolved against `base`: its path, or the problem (outside the folder, missing,
 * or not an image). `hint` says where the images were expected. `seen` caches verdicts of shared images.
 */
export function resolveImage(base: string, rel: string, at: { id: string; where: string; hint?: string }, seen?: Map<string, string | undefined>): { path: string } | { problem: DatasetProblem } {
  const file = path.resolve(base, rel);
  if (!file.startsWith(base + path.sep) || !existsSync(file)) {
    return { problem: { id: at.id, where: at.where, kind: 'missing_image', message: `image ${rel} not found in ${base}${at.hint ? ` (${at.hint})` : ''}` } };
  }
  if (seen && !seen.has(file)) seen.set(file, unreadableImageReason(file));
  const unreadable = seen ? seen.get(file) : unreadableImageReason(file);
  return unreadable ? { problem: { id: at.id, where: at.where, kind: 'unreadable_image', message: `image ${rel}: ${unreadable}` } } : { path: file };
}
