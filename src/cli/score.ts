import { Option, type Command } from 'commander';
import { createProvider } from '../providers/registry.ts';
import { summarizeStoredRun } from '../report/summary.ts';
import { formatSummaryTable } from '../report/table.ts';
import { rescoreRun } from '../runner/rescore.ts';
import { openStore } from '../store/open.ts';
import { parsePositiveInt, UsageError } from './usage.ts';

export function registerScore(program: Command): void {
  program
    .command('score')
    .description('score stored answers again (a new judge or extraction mode) without calling the model')
    .option('--run <name>', 'the run (see `mmsafe runs`)')
    .option('--judge <provider:model>', 'response runs: the judge to use')
    .option('--judge-base-url <url>', 'base URL for the judge API')
    .addOption(new Option('--extraction <mode>', 'awareness runs: strict, paper or final (a reasoning answer\'s final Yes/No)').choices(['strict', 'paper', 'final']))
    .option('--concurrency <n>', 'judge requests in flight', parsePositiveInt, 8)
    .option('--db <path>', 'SQLite database holding runs', './mmsafe.db')
    .action(async (flags: { run?: string; judge?: string; judgeBaseUrl?: string; extraction?: 'strict' | 'paper' | 'final'; concurrency: number; db: string }) => {
      if (!flags.run) throw new UsageError('--run NAME is required (see `mmsafe runs`)');
      const store = await openStore(flags.db);
      try {
        const judge = flags.judge ? createProvider(flags.judge, { baseURL: flags.judgeBaseUrl }) : undefined;
        const { rescored } = await rescoreRun({ store, runId: flags.run, judge, extraction: flags.extraction, concurrency: flags.concurrency });
        process.stderr.write(`mmsafe: re-scored ${rescored} stored answers of ${flags.run}\n`);
        process.stdout.write(`${formatSummaryTable(await summarizeStoredRun(store, flags.run))}\n`);
      } finally {
        await store.close();
      }
    });
}
