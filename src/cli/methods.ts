import { DEFAULT_BENCHMARK } from '../benchmarks/registry.ts';
import path from 'node:path';
import { Option, type Command } from 'commander';
import { parseSplit } from '../datasets/split.ts';
import { loadMethodPrompts } from '../methods/prompts.ts';
import { CAPTION_PROMPT, TYPOGRAPHIC_QUESTIONS } from '../methods/ablations.ts';
import { exportSft, SftError, type SftFormat } from '../methods/sft-export.ts';
import { createProvider } from '../providers/registry.ts';
import { parseNumber, UsageError } from './usage.ts';
import { say, show } from './print.ts';
import { summaryOf } from './commands.ts';

export function registerMethods(program: Command): void {
  program
    .command('methods')
    .description(summaryOf('methods'))
    .option('--method-prompts <file>', 'show these prompt texts instead of the built-in ones')
    .action((flags: { methodPrompts?: string }) => {
      const p = loadMethodPrompts(flags.methodPrompts);
      show(
        [
          'Methods (--method):',
          `  safety-prompt   system prompt: "${p['safety-prompt']}"`,
          `  fusion-prompt   added before the question: "${p['fusion-prompt']}"`,
          `  cot             added after the question (awareness): "${p.cot}"`,
          `                  (response protocol): "${p['cot-response']}"`,
          '                  the scorer reads the final Yes/No, not the first word',
          '  few-shot:K      K worked examples (image, question, correct Yes/No) as earlier turns; --shots FILE or the benchmark, seeded (--method-seed); never the sample itself',
          '  vcd             visual contrastive decoding on the first token: the question is asked with the image and with a DDPM-diffused copy (--noise-step, default 500),',
          '                  (1+alpha)*logp(orig) - alpha*logp(distorted) over tokens with p >= beta * max p (--alpha 1, --beta 0.1); needs an API with logprobs',
          '',
          'Ablations (--ablation):',
          '  text-only       no image',
          '  blank-image     a neutral gray image of the same size',
          '  noise-image     Gaussian noise of the same size',
          '  caption         the image replaced by a caption from --captioner provider:model (captions stored and reused);',
          `                  the captioner is asked: "${CAPTION_PROMPT}"`,
          '                  the model gets "Image description: <caption>" before the question',
          '  typographic     the text rendered into the image (FigStep-style); the prompt only points at it:',
          `                  (awareness): "${TYPOGRAPHIC_QUESTIONS.awareness}"`,
          `                  (response): "${TYPOGRAPHIC_QUESTIONS.response}"`,
          '',
          'Reasoning fine-tuning: mmsafe export-sft writes the training data; mmsafe run --split test evaluates the tuned model on the held-out items.',
          '',
        ].join('\n'),
      );
    });
}

export function registerExportSft(program: Command): void {
  program
    .command('export-sft')
    .description(summaryOf('export-sft'))
    .option('--benchmark <name>', 'benchmark', DEFAULT_BENCHMARK)
    .requiredOption('--data <path>', 'dataset')
    .option('--split <spec>', 'train side and ratio, e.g. train:0.7', 'train:0.7')
    .addOption(new Option('--format <format>', 'openai (chat fine-tuning JSONL), llava or sharegpt').choices(['openai', 'llava', 'sharegpt']).default('openai'))
    .option('--teacher <provider:model>', 'write step-by-step reasoning ending in the gold label with this model')
    .option('--seed <n>', 'split seed (use the same with run --split)', parseNumber, 0)
    .option('--out <dir>', 'output directory', './sft')
    .option('--subset <name>', 'only one subset')
    .action(async (flags: { benchmark: string; data: string; split: string; format: SftFormat; teacher?: string; seed: number; out: string; subset?: string }) => {
      let split;
      try {
        split = parseSplit(flags.split);
      } catch (error) {
        throw new UsageError((error as Error).message);
      }
      if (split.part !== 'train') throw new UsageError('--split for export-sft names the train side, e.g. train:0.7');
      const teacher = flags.teacher ? createProvider(flags.teacher, {}) : undefined;
      const r = await exportSft({ benchmark: flags.benchmark, data: path.resolve(flags.data), out: path.resolve(flags.out), format: flags.format, ratio: split.ratio, seed: flags.seed, subset: flags.subset, teacher }).catch((error) => {
        throw error instanceof SftError ? new UsageError(error.message) : error;
      });
      say(`mmsafe: ${r.train} training items, ${r.test} held out${teacher ? `, ${r.teacherRejected} without teacher reasoning` : ''}\n`);
      for (const f of r.files) show(`${f}\n`);
    });
}
