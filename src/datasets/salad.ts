import { existsSync, readFileSync } from 'node:fs';
import { createHash } from 'node:crypto';
import path from 'node:path';
import { z } from 'zod';
import type { DatasetProblem, LoadedDataset, Sample } from '../core/types.ts';
import { DatasetError } from './errors.ts';

export const SALAD_CATEGORIES = ['Activity', 'Sports', 'Food', 'Game', 'Health', 'Home', 'Office', 'Research', 'Study', 'Travel'] as const;

// Both release schemas: the public sample calls the query `query`; the full release `text` plus `id`.
const SaladRow = z
  .object({
    id: z.union([z.string(), z.number()]).optional(),
    query: z.string().optional(),
    text: z.string().optional(),
    category: z.string(),
    'safety type': z.enum(['safe', 'unsafe']),
    'safety warning': z.string().optional(),
    'safe suggestion': z.string().optional(),
    image: z.string().min(1),
  })
  .passthrough();

export interface SaladOptions {
  images?: string;
  limit?: number;
  subset?: string;
}

/** A stable id where the release gives none: the same row always gets the same id. */
function synthId(row: { image: string; query: string }): string {
  return `${path.parse(row.image).name}-${createHash('sha256').update(row.query).digest('hex').slice(0, 8)}`;
}

/** SaLAD's data.json (`--data` a directory holding it, or the file itself). */
export async function loadSalad(data: string, opts: SaladOptions = {}): Promise<LoadedDataset> {
  const resolved = path.resolve(data);
  const file = existsSync(resolved) && resolved.endsWith('.json') ? resolved : path.join(resolved, 'data.json');
  if (!existsSync(file)) throw new DatasetError(`${file} not found: --data must be SaLAD's data directory (data.json and images/) or the data.json file`);
  const dir = path.dirname(file);
  const imageDir = path.resolve(opts.images ?? path.join(dir, 'images'));
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new DatasetError(`${file}: not valid JSON (${(error as Error).message}); expected a JSON array of SaLAD rows`);
  }
  if (!Array.isArray(raw)) throw new DatasetError(`${file}: expected a JSON array of rows, found ${typeof raw}`);

  let rows = raw.map((r, i) => ({ r, i }));
  if (opts.subset) rows = rows.filter(({ r }) => (r as Record<string, unknown>)?.['safety type'] === opts.subset);
  if (opts.limit) rows = rows.slice(0, opts.limit);

  const samples: Sample[] = [];
  const problems: DatasetProblem[] = [];
  const seen = new Map<string, number>();
  for (const { r, i } of rows) {
    const where = `${file} row ${i + 1}`;
    const parsed = SaladRow.safeParse(r);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      problems.push({ where, kind: 'missing_field', message: `field "${issue.path.join('.')}": ${issue.message}` });
      continue;
    }
    const row = parsed.data;
    const query = row.text ?? row.query;
    if (!query) {
      problems.push({ where, kind: 'missing_field', message: 'no "query" (or "text") field' });
      continue;
    }
    const reference = row['safety type'] === 'unsafe' ? row['safety warning'] : row['safe suggestion'];
    // The judge of an unsafe item compares the answer with this warning: without it there is no verdict.
    if (row['safety type'] === 'unsafe' && !reference) {
      problems.push({ where, kind: 'missing_field', message: 'unsafe row without a "safety warning"' });
      continue;
    }
    const id = row.id !== undefined ? String(row.id) : synthId({ image: row.image, query });
    if (seen.has(id)) {
      problems.push({ id, where, kind: 'invalid_row', message: `duplicate id ${id} (first at row ${seen.get(id)})` });
      continue;
    }
    seen.set(id, i + 1);
    const imagePath = path.resolve(imageDir, row.image);
    if (!imagePath.startsWith(imageDir + path.sep) || !existsSync(imagePath)) {
      problems.push({ id, where, kind: 'missing_image', message: `image ${row.image} not found in ${imageDir}` });
      continue;
    }
    samples.push({
      id,
      image: { path: imagePath },
      text: query,
      label: row['safety type'],
      subset: row['safety type'],
      category: row.category === 'Exercise' ? 'Sports' : row.category,
      reference,
    });
  }
  return { benchmark: 'salad', source: dir, samples, problems, total: rows.length };
}
