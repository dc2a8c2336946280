import { existsSync } from 'node:fs';
import type { Command } from 'commander';
import { mergeStores } from '../store/merge.ts';
import { openStore } from '../store/open.ts';
import { UsageError } from './usage.ts';
import { say } from './print.ts';
import { summaryOf } from './commands.ts';

export function registerMerge(program: Command): void {
  program
    .command('merge <shards...>')
    .description(summaryOf('merge'))
    .requiredOption('--db <path>', 'the database to merge into (created if missing)')
    .action(async (shards: string[], flags: { db: string }) => {
      for (const s of shards) if (!existsSync(s)) throw new UsageError(`${s}: no such database`);
      const target = await openStore(flags.db);
      const sources = await Promise.all(shards.map((s) => openStore(s)));
      try {
        const { runs, rows } = await mergeStores(target, sources);
        say(`mmsafe: merged ${rows} rows of ${runs} runs from ${shards.length} databases into ${flags.db}\n`);
      } finally {
        for (const s of sources) await s.close();
        await target.close();
      }
    });
}
