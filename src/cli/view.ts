import type { Command } from 'commander';
import { openExistingStore } from '../store/open.ts';
import { startViewer } from '../viewer/serve.ts';
import { openBrowser } from './open-browser.ts';
import { parsePositiveInt, UsageError } from './usage.ts';
import { say, show } from './print.ts';
import { summaryOf } from './commands.ts';

export function registerView(program: Command): void {
  program
    .command('view')
    .description(summaryOf('view'))
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--port <n>', 'port (default: a free one)', parsePositiveInt)
    .option('--open', 'open it in the browser')
    .action(async (flags: { db: string; port?: number; open?: boolean }) => {
      const store = await openExistingStore(flags.db);
      let viewer: Awaited<ReturnType<typeof startViewer>>;
      try {
        viewer = await startViewer(store, flags.port ?? 0);
      } catch (error) {
        await store.close();
        const code = (error as NodeJS.ErrnoException).code;
        if (code === 'EADDRINUSE') throw new UsageError(`port ${flags.port} is in use (another viewer?); drop --port to take a free one`);
        if (code === 'EACCES') throw new UsageError(`port ${flags.port} needs privileges; drop --port to take a free one`);
        throw error;
      }
      show(`mmsafe viewer: ${viewer.url}\n`);
      if (flags.open) openBrowser(viewer.url, (message) => say(`mmsafe: ${message}\n`));
      const stop = () => void viewer.close().then(() => store.close()).then(() => process.exit(0));
      process.on('SIGINT', stop);
      process.on('SIGTERM', stop);
    });
}
