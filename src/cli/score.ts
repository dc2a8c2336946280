import { Option, type Command } from 'commander';
import { createProvider } from '../providers/registry.ts';
import { summarizeStoredRun } from '../report/summary.ts';
import { formatSummaryTable } from '../report/table.ts';
import { copyRun } from '../runner/copy-run.ts';
import { rescoreRun } from '../runner/rescore.ts';
import { openExistingStore } from '../store/open.ts';
import { BOOTSTRAP_HELP, bootstrapOf, parsePositiveInt, parseReplicates, UsageError } from './usage.ts';
import { say, show } from './print.ts';
import { resolveRunName } from '../store/run-names.ts';
import { summaryOf } from './commands.ts';

export function registerScore(program: Command): void {
  program
    .command('score')
    .description(summaryOf('score'))
    .option('--run <name>', 'the run (see `mmsafe runs`)')
    .option('--judge <provider:model>', 'response runs: the judge to use')
    .option('--judge-base-url <url>', 'base URL for the judge API')
    .addOption(new Option('--extraction <mode>', 'awareness runs: strict, paper or final (a reasoning answer\'s final Yes/No)').choices(['strict', 'paper', 'final']))
    .option('--concurrency <n>', 'judge requests in flight', parsePositiveInt, 8)
    .option('--into <name>', 'store the re-scored answers as a new run and leave --run as it is (compare the two with judge-agreement --against)')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--bootstrap <n>', BOOTSTRAP_HELP, parseReplicates)
    .action(async (flags: { run?: string; judge?: string; judgeBaseUrl?: string; extraction?: 'strict' | 'paper' | 'final'; concurrency: number; into?: string; db: string; bootstrap?: number }) => {
      if (!flags.run) throw new UsageError('--run NAME is required (see `mmsafe runs`)');
      const store = await openExistingStore(flags.db);
      try {
        flags.run = await resolveRunName(store, flags.run);
        const run = (await store.getRun(flags.run))!;
        // Checked before anything is copied or sent, so a usage mistake leaves the database as it was.
        if (run.protocol === 'response' && !flags.judge) throw new UsageError(`${flags.run} is judged: give the judge to use, --judge provider:model`);
        if (flags.into && (await store.getRun(flags.into))) throw new UsageError(`a run named "${flags.into}" already exists; pick another --into name`);
        let judge;
        try {
          judge = flags.judge ? createProvider(flags.judge, { baseURL: flags.judgeBaseUrl }) : undefined;
        } catch (error) {
          throw new UsageError((error as Error).message);
        }
        const target = flags.into ?? flags.run;
        if (flags.into) await copyRun(store, flags.run, flags.into);
        const { rescored } = await rescoreRun({ store, runId: target, judge, extraction: flags.extraction, concurrency: flags.concurrency });
        say(`mmsafe: re-scored ${rescored} stored answers of ${flags.run}${flags.into ? ` into ${flags.into}` : ''}\n`);
        show(`${formatSummaryTable(await summarizeStoredRun(store, target, bootstrapOf(flags.bootstrap)))}\n`);
      } finally {
        await store.close();
      }
    });
}
