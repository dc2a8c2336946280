import type { Command } from 'commander';
import { displayLocation, openStore } from '../store/open.ts';
import { show } from './print.ts';
import { summaryOf } from './commands.ts';

export function registerCache(program: Command): void {
  const cache = program.command('cache').description(summaryOf('cache'));
  cache
    .command('clear')
    .description('forget cached answers (the runs and their stored answers stay)')
    .option('--model <provider:model>', 'only this model\'s answers')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .action(async (flags: { model?: string; db: string }) => {
      const store = await openStore(flags.db);
      try {
        const removed = await store.clearCache(flags.model);
        show(`removed ${removed} cached answer${removed === 1 ? '' : 's'}${flags.model ? ` of ${flags.model}` : ''} from ${displayLocation(flags.db)}\n`);
      } finally {
        await store.close();
      }
    });
}
