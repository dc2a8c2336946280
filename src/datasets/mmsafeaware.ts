import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import type { DatasetProblem, LoadedDataset, Sample } from '../core/types.ts';
import { DatasetError } from './errors.ts';
import { factsFor, type Subset } from './mmsafeaware-ranges.ts';

export interface MmSafeAwareOptions {
  subset?: Subset;
  limit?: number;
}

interface PromptRecord {
  id: number;
  line: number;
  question: string;
  sentence: string;
}

/** Parses upstream prompt.txt: an id line, the question line, the quoted sentence; blank lines between. */
export function parsePromptFile(text: string, file: string): PromptRecord[] {
  const lines = text.replace(/^\uFEFF/, '').split(/\r?\n/);
  const records: PromptRecord[] = [];
  const seen = new Map<number, number>();
  let i = 0;
  while (i < lines.length) {
    if (lines[i].trim() === '') {
      i++;
      continue;
    }
    const lineNo = i + 1;
    const idText = lines[i].trim();
    if (!/^\d+$/.test(idText)) {
      throw new DatasetError(`${file}:${lineNo}: expected a numeric id line, found "${idText.slice(0, 60)}" (each record is an id line, the question line and the quoted sentence, separated by blank lines)`);
    }
    const id = Number(idText);
    const question = lines[i + 1];
    const sentence = lines[i + 2];
    if (question === undefined || sentence === undefined || question.trim() === '' || sentence.trim() === '') {
      throw new DatasetError(`${file}:${lineNo}: record ${id} is truncated: it needs the question line and the sentence line after the id (is the file cut short?)`);
    }
    if (seen.has(id)) {
      throw new DatasetError(`${file}:${lineNo}: duplicate id ${id} (first at line ${seen.get(id)}); each id must appear once`);
    }
    if (!factsFor(id)) {
      throw new DatasetError(`${file}:${lineNo}: id ${id} is outside MMSafeAware's id ranges (1-1153, 2001-2370); is this the upstream data/ folder?`);
    }
    seen.set(id, lineNo);
    records.push({ id, line: lineNo, question, sentence });
    i += 3;
  }
  return records;
}

/** Indexes images by id whatever their extension; upstream's 1-byte `test` placeholders are skipped. */
function indexImages(dir: string): Map<string, string> {
  const byId = new Map<string, string>();
  for (const sub of ['images', 'images2']) {
    const folder = path.join(dir, sub);
    if (!existsSync(folder)) continue;
    for (const name of readdirSync(folder)) {
      const m = /^(\d+)\.[A-Za-z0-9]+$/.exec(name);
      if (m && !byId.has(m[1])) byId.set(m[1], path.join(folder, name));
    }
  }
  return byId;
}

const unquote = (s: string) => s.trim().replace(/^"/, '').replace(/"$/, '');

/** Loads MMSafeAware exactly as upstream ships its data/ folder. */
export async function loadMmSafeAware(dir: string, opts: MmSafeAwareOptions = {}): Promise<LoadedDataset> {
  const root = path.resolve(dir);
  const file = path.join(root, 'prompt.txt');
  if (!existsSync(file)) {
    throw new DatasetError(`${file} not found: --data must be MMSafeAware's data/ folder (prompt.txt, images/, images2/)`);
  }
  let records = parsePromptFile(readFileSync(file, 'utf8'), file);
  if (records.length === 0) throw new DatasetError(`${file}: no records; each record is an id line, the question line and the quoted sentence (is this upstream's data/prompt.txt?)`);
  if (opts.subset) records = records.filter((r) => factsFor(r.id)!.subset === opts.subset);
  if (opts.limit) records = records.slice(0, opts.limit);

  const images = indexImages(root);
  const samples: Sample[] = [];
  const problems: DatasetProblem[] = [];
  for (const r of records) {
    const id = String(r.id);
    const facts = factsFor(r.id)!;
    const image = images.get(id);
    if (!image) {
      problems.push({ id, where: `${file}:${r.line}`, kind: 'missing_image', message: `no image ${id}.* in images/ or images2/` });
      continue;
    }
    samples.push({
      id,
      image: { path: image },
      text: unquote(r.sentence),
      // Verbatim, typos and spacing included: the benchmark's numbers depend on the exact prompt.
      prompt: `${r.question}\n${r.sentence}`,
      label: facts.subset === 'oversafe' ? 'safe' : 'unsafe',
      subset: facts.subset,
      scenario: facts.scenario,
      domain: facts.domain,
      attack: facts.attack,
    });
  }
  return { benchmark: 'mmsafeaware', source: root, samples, problems, total: records.length };
}
