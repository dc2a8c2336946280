import type { Command } from 'commander';
import { displayLocation, openStore } from '../store/open.ts';
import { renderTable } from '../report/text-table.ts';
import type { StoredRunConfig } from '../runner/config.ts';
import { show } from './print.ts';

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description('list the runs stored in a database')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--json', 'machine-readable output')
    .action(async (flags: { db: string; json?: boolean }) => {
      const store = await openStore(flags.db, { readOnly: true });
      try {
        const runs = (await store.listRuns()).map(({ config, ...r }) => ({ ...r, evaluable: evaluableOf(r.total, config) }));
        if (flags.json) {
          show(`${JSON.stringify(runs, null, 2)}\n`);
          return;
        }
        if (runs.length === 0) {
          show(`no runs in ${displayLocation(flags.db)}\n`);
          return;
        }
        const rows = runs.map((r) => [r.id, r.benchmark, r.model, `${r.done}/${r.evaluable}`, String(r.errors), r.status, r.createdAt.slice(0, 19).replace('T', ' ')]);
        show(`${renderTable(['run', 'benchmark', 'model', 'done/total', 'errors', 'status', 'created'], rows)}\n`);
      } finally {
        await store.close();
      }
    });
}

/**
 * Samples the run can store: its total less the rows left out (missing image, invalid row), so a
 * finished MMSafeAware run reads 1446/1446, not 1446/1523. Derived from the stored problems because
 * they are what `mmsafe merge` sums over shards.
 */
function evaluableOf(total: number, config: StoredRunConfig): number {
  return Math.max(0, total - config.problems.length);
}
