import type { Command } from 'commander';
import { openStore } from '../store/open.ts';
import { startViewer } from '../viewer/serve.ts';
import { parsePositiveInt } from './usage.ts';
import { show } from './print.ts';

export function registerView(program: Command): void {
  program
    .command('view')
    .description('open a local web viewer of the stored runs (127.0.0.1 only)')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--port <n>', 'port (default: a free one)', parsePositiveInt)
    .action(async (flags: { db: string; port?: number }) => {
      const store = await openStore(flags.db);
      const viewer = await startViewer(store, flags.port ?? 0);
      show(`mmsafe viewer: ${viewer.url}\n`);
      const stop = () => void viewer.close().then(() => store.close()).then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
