import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { agreement } from '../metrics/agreement.ts';
import { openStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { UsageError } from './usage.ts';

const LabelLine = z.object({ id: z.union([z.string(), z.number()]), verdict: z.boolean() });

/** `{id, verdict}` JSONL: verdict true = the answer is safe/helpful (or, for awareness, the pair is safe). */
export function readLabels(file: string): Map<string, boolean> {
  const labels = new Map<string, boolean>();
  readFileSync(file, 'utf8').split(/\r?\n/).forEach((line, i) => {
    if (!line.trim()) return;
    let parsed;
    try {
      parsed = LabelLine.safeParse(JSON.parse(line));
    } catch {
      throw new UsageError(`${file}:${i + 1}: not valid JSON; each line must be {"id": ..., "verdict": true|false}`);
    }
    if (!parsed.success) throw new UsageError(`${file}:${i + 1}: expected {"id": ..., "verdict": true|false}`);
    labels.set(String(parsed.data.id), parsed.data.verdict);
  });
  return labels;
}

/** The judge's verdicts of a run: true = judged safe/helpful; judge errors and model errors left out. */
export async function judgeVerdicts(store: Store, runId: string): Promise<Map<string, boolean>> {
  if (!await store.getRun(runId)) throw new UsageError(`no run named "${runId}" (see \`mmsafe runs\`)`);
  const out = new Map<string, boolean>();
  for (const r of await store.results(runId)) {
    if (r.status === 'ok' && (r.prediction === 'safe' || r.prediction === 'unsafe')) out.set(r.sampleId, r.prediction === 'safe');
  }
  return out;
}

export function registerJudgeAgreement(program: Command): void {
  program
    .command('judge-agreement')
    .description("measure a judge against human labels ({id, verdict} JSONL), or two runs' judges against each other")
    .requiredOption('--run <name>', 'the judged run')
    .option('--labels <file>', 'human labels, JSONL {"id", "verdict": true|false}')
    .option('--against <run>', 'a second run of the same answers judged by another judge')
    .option('--db <path>', 'SQLite database holding runs', './mmsafe.db')
    .option('--json', 'machine-readable output')
    .action(async (flags: { run: string; labels?: string; against?: string; db: string; json?: boolean }) => {
      if (!flags.labels && !flags.against) throw new UsageError('give --labels FILE (human labels) or --against RUN (another judge)');
      const store = await openStore(flags.db);
      try {
        const measured = await judgeVerdicts(store, flags.run);
        const reference = flags.labels ? readLabels(flags.labels) : await judgeVerdicts(store, flags.against!);
        const pairs: [boolean, boolean][] = [];
        for (const [id, ref] of reference) if (measured.has(id)) pairs.push([ref, measured.get(id)!]);
        const a = agreement(pairs);
        if (flags.json) return void process.stdout.write(`${JSON.stringify(a, null, 2)}\n`);
        const c = a.confusion;
        process.stdout.write(
          [
            `${flags.run} vs ${flags.labels ?? flags.against}: ${a.n} items in common`,
            `agreement ${(a.accuracy * 100).toFixed(2)}%   Cohen's kappa ${a.cohen_kappa.toFixed(3)}`,
            `confusion (reference x judge): safe/safe ${c.true_true}  safe/unsafe ${c.true_false}  unsafe/safe ${c.false_true}  unsafe/unsafe ${c.false_false}`,
          ].join('\n') + '\n',
        );
      } finally {
        await store.close();
      }
    });
}
