import { Option, type Command } from 'commander';
import { samplesCsvStream, samplesJsonlStream, upstreamJsonlStream } from '../report/formats.ts';
import { writeFileAtomicFrom } from '../core/atomic-write.ts';
import { openExistingStore } from '../store/open.ts';
import { emitAll } from './print.ts';
import { resolveRunName } from '../store/run-names.ts';
import { summaryOf } from './commands.ts';

export function registerExport(program: Command): void {
  program
    .command('export')
    .description(summaryOf('export'))
    .requiredOption('--run <name>', 'the run')
    .addOption(new Option('--format <format>', 'upstream, jsonl or csv').choices(['upstream', 'jsonl', 'csv']).default('upstream'))
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .action(async (flags: { run: string; format: 'upstream' | 'jsonl' | 'csv'; out?: string; db: string }) => {
      const store = await openExistingStore(flags.db, { readOnly: true });
      try {
        const run = await resolveRunName(store, flags.run);
        // Streamed from the store to the output: a run of any size is exported with the memory of a few pages.
        const pieces = flags.format === 'csv' ? samplesCsvStream(store, [run]) : flags.format === 'jsonl' ? samplesJsonlStream(store, run) : upstreamJsonlStream(store, run);
        if (flags.out) await writeFileAtomicFrom(flags.out, pieces);
        else await emitAll(pieces);
      } finally {
        await store.close();
      }
    });
}
