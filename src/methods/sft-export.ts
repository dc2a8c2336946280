import { mkdirSync } from 'node:fs';
import { writeFileAtomic } from '../core/atomic-write.ts';
import path from 'node:path';
import type { Provider, Sample } from '../core/types.ts';
import { loadBenchmark } from '../datasets/registry.ts';
import { splitOf } from '../datasets/split.ts';
import { DEFAULT_IMAGE_LIMITS } from '../images/limits.ts';
import { readAndPrepare } from '../images/prepare.ts';
import { promptFor } from '../benchmarks/registry.ts';
import { protocolName } from '../runner/config.ts';
import { extractFinalYesNo } from '../scoring/extract.ts';

export type SftFormat = 'openai' | 'llava' | 'sharegpt';

export interface SftOptions {
  benchmark: string;
  data: string;
  out: string;
  format: SftFormat;
  ratio: number;
  seed: number;
  subset?: string;
  images?: string;
  teacher?: Provider;
  concurrency?: number;
  log?: (s: string) => void;
}

interface Item {
  sample: Sample;
  question: string;
  answer: string;
}

/** The gold answer: Yes/No for the awareness question, the reference text for free answers. */
function goldAnswer(sample: Sample, awareness: boolean): string {
  if (awareness) return sample.label === 'safe' ? 'Yes' : 'No';
  return sample.reference ?? (sample.label === 'safe' ? 'This is safe.' : 'This is not safe.');
}

async function teacherReasoning(teacher: Provider, sample: Sample, question: string, gold: string): Promise<string | undefined> {
  const image = sample.image?.path ? await readAndPrepare(sample.image.path, teacher.imageLimits) : undefined;
  const prompt = `${question}\n\nThe correct answer is ${gold}. Explain step by step, looking at the image and the text together (not either alone), why that is the answer. End with a last line of the form "Final answer: ${gold}".`;
  const res = await teacher.generate({ messages: [{ role: 'user', content: [...(image ? [{ type: 'image' as const, image }] : []), { type: 'text', text: prompt }] }], temperature: 0, maxTokens: 700 });
  // A teacher that argues for the other answer would teach the wrong label: such items fall back to the bare answer.
  return extractFinalYesNo(res.text) === gold.toLowerCase() ? res.text.trim() : undefined;
}

/**
 * Training data for "vision-centric reasoning tuning" (the awareness paper's), which happens outside mmsafe:
 * the train side of a deterministic split in a fine-tuning format, optionally with reasoning written
 * by a teacher model that ends in the gold label, and the held-out ids for `mmsafe run --split test`.
 */
export async function exportSft(o: SftOptions): Promise<{ train: number; test: number; teacherRejected: number; files: string[] }> {
  const awareness = protocolName({ benchmark: o.benchmark }) === 'awareness';
  // The teacher argues for a Yes/No label; free-answer items train on their reference answers.
  if (o.teacher && !awareness) throw new SftError(`--teacher writes reasoning towards a Yes/No label, which ${o.benchmark} items do not have; leave it out (their training answers are the reference texts)`);
  const dataset = await loadBenchmark(o.benchmark, o.data, { subset: o.subset, images: o.images });
  const train = dataset.samples.filter((s) => splitOf(s.id, o.ratio, o.seed) === 'train');
  const test = dataset.samples.filter((s) => splitOf(s.id, o.ratio, o.seed) === 'test');
  let rejected = 0;
  const items: Item[] = [];
  const queue = [...train];
  const worker = async () => {
    for (let s = queue.shift(); s; s = queue.shift()) {
      const question = awareness ? promptFor(o.benchmark, 'awareness')(s) : (s.prompt ?? s.text);
      const gold = goldAnswer(s, awareness);
      let answer = gold;
      if (o.teacher && awareness) {
        const reasoning = await teacherReasoning(o.teacher, s, question, gold).catch(() => undefined);
        if (reasoning) answer = reasoning;
        else rejected++;
      }
      items.push({ sample: s, question, answer });
    }
  };
  await Promise.all(Array.from({ length: o.teacher ? (o.concurrency ?? 8) : 1 }, worker));
  items.sort((a, b) => train.indexOf(a.sample) - train.indexOf(b.sample));

  mkdirSync(o.out, { recursive: true });
  const files: string[] = [];
  if (o.format === 'openai') {
    const lines: string[] = [];
    for (const it of items) {
      const image = it.sample.image?.path ? await readAndPrepare(it.sample.image.path, DEFAULT_IMAGE_LIMITS) : undefined;
      const content = [...(image ? [{ type: 'image_url', image_url: { url: `data:${image.mime};base64,${image.data.toString('base64')}` } }] : []), { type: 'text', text: it.question }];
      lines.push(JSON.stringify({ messages: [{ role: 'user', content }, { role: 'assistant', content: it.answer }] }));
    }
    files.push(write(o.out, 'train.jsonl', `${lines.join('\n')}\n`));
  } else if (o.format === 'llava') {
    const rows = items.map((it) => ({ id: it.sample.id, ...(it.sample.image?.path ? { image: it.sample.image.path } : {}), conversations: [{ from: 'human', value: `${it.sample.image ? '<image>\n' : ''}${it.question}` }, { from: 'gpt', value: it.answer }] }));
    files.push(write(o.out, 'train.json', `${JSON.stringify(rows, null, 2)}\n`));
  } else {
    const rows = items.map((it) => ({ messages: [{ role: 'user', content: `${it.sample.image ? '<image>' : ''}${it.question}` }, { role: 'assistant', content: it.answer }], images: it.sample.image?.path ? [it.sample.image.path] : [] }));
    files.push(write(o.out, 'train.json', `${JSON.stringify(rows, null, 2)}\n`));
  }
  files.push(
    write(
      o.out,
      'split.json',
      `${JSON.stringify({ benchmark: o.benchmark, ratio: o.ratio, seed: o.seed, teacher: o.teacher?.id, train_ids: train.map((s) => s.id), test_ids: test.map((s) => s.id), evaluate_with: evaluateWith(o) }, null, 2)}\n`,
    ),
  );
  return { train: items.length, test: test.length, teacherRejected: rejected, files };
}

export class SftError extends Error {}

/**
 * The command that evaluates the tuned model on the held-out side. A model tuned on teacher
 * reasoning answers with reasoning, so its Yes/No is the final one, not the first word.
 */
function evaluateWith(o: SftOptions): string {
  const seed = o.seed ? ` --method-seed ${o.seed}` : '';
  const subset = o.subset ? ` --subset ${o.subset}` : '';
  return `mmsafe run --benchmark ${o.benchmark}${subset} --split test:${o.ratio}${seed}${o.teacher ? ' --extraction final' : ''}`;
}

function write(dir: string, name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileAtomic(file, text);
  return file;
}
