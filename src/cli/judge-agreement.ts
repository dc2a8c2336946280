import { readFileSync } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { agreement, type Agreement } from '../metrics/agreement.ts';
import { openExistingStore } from '../store/open.ts';
import { answerKey, type Store } from '../store/store.ts';
import { UsageError } from './usage.ts';
import { say, show } from './print.ts';
import { resolveRunName } from '../store/run-names.ts';
import { summaryOf } from './commands.ts';

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

/**
 * The judge's verdicts of a run: true = judged safe/helpful; judge errors and model errors left out.
 * By answer (`answerKey`): an item's first answer under its id, which is the one a human label is given on.
 */
export async function judgeVerdicts(store: Store, runId: string): Promise<Map<string, { verdict: boolean; response?: string }>> {
  if (!await store.getRun(runId)) throw new UsageError(`no run named "${runId}" (see \`mmsafe runs\`)`);
  const out = new Map<string, { verdict: boolean; response?: string }>();
  for (const r of await store.results(runId)) {
    if (r.status === 'ok' && (r.prediction === 'safe' || r.prediction === 'unsafe')) out.set(answerKey(r.sampleId, r.repeat), { verdict: r.prediction === 'safe', response: r.response });
  }
  return out;
}

export interface JudgeAgreementReport extends Agreement {
  /** Labelled (or other-judged) items this run has no verdict for: model errors, judge errors, absent ids. */
  unmatched: number;
  /** Two-judge mode: items left out because the two runs hold different answers. */
  different_answers?: number;
}

/**
 * Pairs a run's verdicts with a reference: human labels, or the verdicts of another run. Two
 * judges are only comparable on the same answer, so with another run an item counts only when
 * both runs stored the identical response (`mmsafe score --into` makes such a run).
 */
export async function measureJudge(store: Store, runId: string, reference: { labels: Map<string, boolean> } | { run: string }): Promise<JudgeAgreementReport> {
  const measured = await judgeVerdicts(store, runId);
  const pairs: [boolean, boolean][] = [];
  let unmatched = 0;
  let different = 0;
  if ('labels' in reference) {
    for (const [id, ref] of reference.labels) {
      const m = measured.get(id);
      if (m) pairs.push([ref, m.verdict]);
      else unmatched++;
    }
    return { ...agreement(pairs), unmatched };
  }
  const other = await judgeVerdicts(store, reference.run);
  for (const [id, ref] of other) {
    const m = measured.get(id);
    if (!m) unmatched++;
    else if (m.response !== ref.response) different++;
    else pairs.push([ref.verdict, m.verdict]);
  }
  return { ...agreement(pairs), unmatched, different_answers: different };
}

export function registerJudgeAgreement(program: Command): void {
  program
    .command('judge-agreement')
    .description(summaryOf('judge-agreement'))
    .requiredOption('--run <name>', 'the judged run')
    .option('--labels <file>', 'human labels, JSONL {"id", "verdict": true|false}')
    .option('--against <run>', 'a second run of the same answers judged by another judge')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--json', 'machine-readable output')
    .action(async (flags: { run: string; labels?: string; against?: string; db: string; json?: boolean }) => {
      if (!flags.labels && !flags.against) throw new UsageError('give --labels FILE (human labels) or --against RUN (another judge)');
      const store = await openExistingStore(flags.db);
      try {
        flags.run = await resolveRunName(store, flags.run);
        if (flags.against) flags.against = await resolveRunName(store, flags.against);
        const a = await measureJudge(store, flags.run, flags.labels ? { labels: readLabels(flags.labels) } : { run: flags.against! });
        if (flags.against && a.n === 0 && (a.different_answers ?? 0) > 0) {
          say(`mmsafe: ${flags.run} and ${flags.against} hold different answers; judge one run's answers twice with \`mmsafe score --run ${flags.against} --judge P:M --into NEW\`\n`);
        }
        if (flags.json) return void show(`${JSON.stringify(a, null, 2)}\n`);
        const c = a.confusion;
        const left = [`${a.unmatched} without a verdict in ${flags.run}`, ...(a.different_answers ? [`${a.different_answers} with different answers`] : [])].join(', ');
        show(
          [
            `${flags.run} vs ${flags.labels ?? flags.against}: ${a.n} items in common (left out: ${left})`,
            `agreement ${(a.accuracy * 100).toFixed(2)}%   Cohen's kappa ${a.cohen_kappa.toFixed(3)}`,
            `confusion (reference x judge): safe/safe ${c.true_true}  safe/unsafe ${c.true_false}  unsafe/safe ${c.false_true}  unsafe/unsafe ${c.false_false}`,
          ].join('\n') + '\n',
        );
      } finally {
        await store.close();
      }
    });
}
