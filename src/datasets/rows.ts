import { closeSync, existsSync, openSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import type { ZodError } from 'zod';
import type { DatasetProblem } from '../core/types.ts';
import { sniffImageType } from '../images/sniff.ts';
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

/**
 * Why an image cannot be used, from its first bytes; undefined when it looks like an image. A
 * full decode waits for the run (once per distinct image); this only catches what no decoder
 * could read (empty files, HTML error pages saved as .jpg, placeholders), so those rows are
 * reported with the dataset instead of counted as model errors.
 */
export function unreadableImageReason(file: string): string | undefined {
  let fd: number | undefined;
  try {
    fd = openSync(file, 'r');
    const head = Buffer.alloc(32);
    const n = readSync(fd, head, 0, head.length, 0);
    if (n === 0) return 'the file is empty (0 bytes)';
    if (!sniffImageType(head.subarray(0, n))) return `not a recognised image format (starts with ${JSON.stringify(head.subarray(0, Math.min(n, 8)).toString('latin1'))})`;
    return undefined;
  } catch (error) {
    return `cannot read it (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`;
  } finally {
    if (fd !== undefined) closeSync(fd);
  }
}
