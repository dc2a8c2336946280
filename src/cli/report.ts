import { writeFileSync } from 'node:fs';
import { Option, type Command } from 'commander';
import { formatSummaryTable } from '../report/table.ts';
import { summarizeStoredRun } from '../report/summary.ts';
import { openStore } from '../store/open.ts';
import { UsageError } from './usage.ts';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('print the summary of a stored run')
    .option('--run <name>', 'the run (see `mmsafe runs`)')
    .addOption(new Option('--format <format>', 'output format').choices(['table', 'json']).default('table'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--db <path>', 'SQLite database holding runs', './mmsafe.db')
    .action((flags: { run?: string; format: 'table' | 'json'; out?: string; db: string }) => {
      if (!flags.run) throw new UsageError('--run NAME is required (see `mmsafe runs`)');
      const store = openStore(flags.db);
      try {
        const summary = summarizeStoredRun(store, flags.run);
        const text = flags.format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummaryTable(summary)}\n`;
        if (flags.out) writeFileSync(flags.out, text);
        else process.stdout.write(text);
      } finally {
        store.close();
      }
    });
}
