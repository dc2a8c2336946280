import { Option, type Command } from 'commander';
import { samplesCsv, samplesJsonl } from '../report/formats.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { inIdOrder } from '../report/order.ts';
import { openExistingStore } from '../store/open.ts';
import { emit } from './print.ts';
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
        const text =
          flags.format === 'csv'
            ? await samplesCsv(store, [run])
            : flags.format === 'jsonl'
              ? await samplesJsonl(store, run)
              : inIdOrder(await store.results(run))
                .filter((r) => r.status === 'ok')
                .map((r) => `${JSON.stringify({ id: /^\d+$/.test(r.sampleId) ? Number(r.sampleId) : r.sampleId, response: r.response ?? '', ...(r.repeat ? { repeat: r.repeat } : {}) })}\n`)
                .join('');
        if (flags.out) writeFileAtomic(flags.out, text);
        else emit(text);
      } finally {
        await store.close();
      }
    });
}
