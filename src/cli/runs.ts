import type { Command } from 'commander';
import { displayLocation, openExistingStore } from '../store/open.ts';
import { renderTable } from '../report/text-table.ts';
import { show } from './print.ts';
import { evaluableOf, failureOf } from '../store/run-status.ts';
import { summaryOf } from './commands.ts';

export function registerRuns(program: Command): void {
  program
    .command('runs')
    .description(summaryOf('runs'))
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--json', 'machine-readable output')
    .action(async (flags: { db: string; json?: boolean }) => {
      const store = await openExistingStore(flags.db, { readOnly: true });
      try {
        const runs = (await store.listRuns()).map(({ config, ...r }) => ({ ...r, evaluable: evaluableOf({ ...r, config }), ...(failureOf({ config }) ? { failure: failureOf({ config }) } : {}) }));
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
        // Reasons are long: under the table, one line each, so the table stays readable.
        for (const r of runs) if (r.failure) show(`${r.id} failed: ${oneLine(r.failure)}\n`);
      } finally {
        await store.close();
      }
    });
}

function oneLine(text: string, max = 200): string {
  const flat = text.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 3)}...` : flat;
}
