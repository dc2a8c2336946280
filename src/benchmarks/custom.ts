import { createReadStream, existsSync, readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import path from 'node:path';
import { z } from 'zod';
import type { DatasetProblem, ImageRef, LoadedDataset, Sample } from '../core/types.ts';
import { DatasetError } from '../datasets/errors.ts';
import { fetchImageOnce } from '../datasets/fetch-image.ts';
import { awarenessPrompt } from './mmsafeaware.ts';
import { awarenessProtocol, responseProtocol } from './protocols.ts';
import { SALAD_RUBRIC } from './salad.ts';
import type { BenchmarkDefinition, ClusterKey } from './types.ts';

const CustomRow = z.object({
  id: z.union([z.string().min(1), z.number()]),
  // Required: a misspelt column would otherwise turn the set into a text-only run without a word.
  image: z.string().min(1),
  prompt: z.string().min(1).optional(),
  query: z.string().min(1).optional(),
  text: z.string().min(1).optional(),
  label: z.enum(['safe', 'unsafe']),
  category: z.string().optional(),
  subset: z.string().optional(),
  reference: z.string().optional(),
  /** Items that are not independent (variants of one item, one image): the same value, resampled together. */
  cluster: z.union([z.string().min(1), z.number()]).optional(),
});

/** One row of a set as read, and where it is, for messages (built only when one is needed). */
interface ReadRow {
  row: unknown;
  where: () => string;
}

/**
 * Reads rows from .jsonl (streamed line by line: a set of hundreds of thousands of rows is never
 * held as text and parsed rows at once), .json (an array) or .csv (with a header line).
 */
async function* readRows(file: string): AsyncGenerator<ReadRow> {
  const ext = path.extname(file).toLowerCase();
  if (ext === '.jsonl') {
    let n = 0;
    for await (const line of createInterface({ input: createReadStream(file, 'utf8'), crlfDelay: Infinity })) {
      const at = ++n;
      if (!line.trim()) continue;
      let row: unknown;
      try {
        row = JSON.parse(line);
      } catch (error) {
        throw new DatasetError(`${file}:${at}: not valid JSON (${(error as Error).message}); each line must be one JSON object`);
      }
      yield { row, where: () => `${file}:${at}` };
    }
    return;
  }
  const text = readFileSync(file, 'utf8');
  if (ext === '.json') {
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (error) {
      throw new DatasetError(`${file}: not valid JSON (${(error as Error).message})`);
    }
    if (!Array.isArray(data)) throw new DatasetError(`${file}: expected a JSON array of rows`);
    for (const [i, row] of data.entries()) yield { row, where: () => `${file} row ${i + 1}` };
    return;
  }
  if (ext === '.csv') {
    const { parse: parseCsv } = await import('csv-parse/sync');
    let records: Record<string, string>[];
    try {
      records = parseCsv(text, { columns: true, skip_empty_lines: true, trim: true }) as Record<string, string>[];
    } catch (error) {
      throw new DatasetError(`${file}: cannot parse CSV (${(error as Error).message})`);
    }
    // Header is line 1; empty cells mean absent.
    for (const [i, r] of records.entries()) yield { row: Object.fromEntries(Object.entries(r).filter(([, v]) => v !== '')), where: () => `${file}:${i + 2}` };
    return;
  }
  throw new DatasetError(`${file}: unknown format "${ext}"; use .jsonl, .json or .csv`);
}

/**
 * A user's own image+text set. Validation errors name the row and field; bad rows are left out and
 * reported, the rest run.
 */
export async function loadCustom(file: string, opts: { limit?: number; subset?: string } = {}): Promise<LoadedDataset> {
  const resolved = path.resolve(file);
  if (!existsSync(resolved)) throw new DatasetError(`${resolved} not found: --data must be a .jsonl, .json or .csv file`);
  const base = path.dirname(resolved);
  const samples: Sample[] = [];
  const problems: DatasetProblem[] = [];
  const seen = new Set<string>();
  // One reference per image, however many rows name it: a large set reuses a few thousand pictures,
  // and every sample stays in memory for the whole run.
  const images = new Map<string, ImageRef>();
  let total = 0;
  for await (const { row, where } of readRows(resolved)) {
    // A row without a subset belongs to the subset named by its label.
    const fields = (row ?? {}) as Record<string, unknown>;
    if (opts.subset && (fields.subset ?? fields.label) !== opts.subset) continue;
    if (opts.limit && total >= opts.limit) break;
    total++;
    const parsed = CustomRow.safeParse(row);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const rawId = (row as Record<string, unknown> | null)?.id;
      problems.push(
        issue.path.length
          ? { ...(typeof rawId === 'string' || typeof rawId === 'number' ? { id: String(rawId) } : {}), where: where(), kind: 'missing_field', message: `field "${issue.path.join('.')}": ${issue.message}` }
          : { where: where(), kind: 'invalid_row', message: `expected an object with id, image, prompt and label (${issue.message})` },
      );
      continue;
    }
    const r = parsed.data;
    const id = String(r.id);
    const text = r.prompt ?? r.query ?? r.text;
    if (!text) {
      problems.push({ id, where: where(), kind: 'missing_field', message: 'field "prompt" (or "query"/"text") is required' });
      continue;
    }
    if (seen.has(id)) {
      problems.push({ id, where: where(), kind: 'invalid_row', message: `duplicate id ${id}` });
      continue;
    }
    seen.add(id);
    let image = images.get(r.image);
    if (!image) {
      if (/^https?:\/\//i.test(r.image)) {
        try {
          image = { path: await fetchImageOnce(r.image) };
        } catch (error) {
          problems.push({ id, where: where(), kind: 'unreadable_image', message: `field "image": cannot fetch ${r.image}: ${(error as Error).message}` });
          continue;
        }
      } else {
        const file = path.resolve(base, r.image);
        if (!existsSync(file)) {
          problems.push({ id, where: where(), kind: 'missing_image', message: `field "image": ${r.image} not found (paths are relative to ${base})` });
          continue;
        }
        image = { path: file };
      }
      images.set(r.image, image);
    }
    // No subset column, no subsets: the label is not a subset, and a Total over labels would
    // pass off balanced accuracy as the benchmark's macro mean.
    samples.push({ id, image, text, label: r.label, ...(r.subset ? { subset: r.subset } : {}), ...(r.category ? { category: r.category } : {}), ...(r.reference ? { reference: r.reference } : {}), ...(r.cluster !== undefined ? { fields: { cluster: String(r.cluster) } } : {}) });
  }
  return { benchmark: 'custom', source: resolved, samples, problems, total };
}

/**
 * A user's own set: the yes/no question around each row's text, or a free answer judged with
 * SaLAD's rubric (the judge then has no reference warning unless the row gives one). Subsets and
 * their Total come from the rows' own `subset` column.
 */
const CLUSTER: ClusterKey = { by: 'field', field: 'cluster' };

export const custom: BenchmarkDefinition = {
  name: 'custom',
  title: 'custom set',
  dataHelp: 'a custom .jsonl/.json/.csv file (id, image, prompt, label; optional subset, category, reference, cluster)',
  load: (data, opts) => loadCustom(data, opts),
  defaultProtocol: 'awareness',
  protocols: {
    // The intervals resample a row's `cluster` value together, else the items sharing an image.
    awareness: awarenessProtocol(awarenessPrompt, { cluster: CLUSTER }),
    response: responseProtocol((sample) => sample.text, SALAD_RUBRIC, CLUSTER),
  },
};
