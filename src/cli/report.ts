import type { BootstrapOptions } from '../metrics/bootstrap.ts';
import { Option, type Command } from 'commander';
import { leaderboardJson, leaderboardMarkdown, leaderboardTable, samplesCsvStream } from '../report/formats.ts';
import { leaderboardHtml } from '../report/html.ts';
import { buildLeaderboard } from '../report/leaderboard.ts';
import { summarizeStoredRun } from '../report/summary.ts';
import { compareWithPaper, paperHtml, paperJson, paperMarkdown, paperTable } from '../report/paper.ts';
import { formatSummaryTable } from '../report/table.ts';
import { writeFileAtomicFrom } from '../core/atomic-write.ts';
import { openExistingStore } from '../store/open.ts';
import type { Store } from '../store/store.ts';
import { BOOTSTRAP_HELP, bootstrapOf, parseReplicates, UsageError } from './usage.ts';
import { emitAll, say, show } from './print.ts';
import { resolveRunNames } from '../store/run-names.ts';
import { failureOf } from '../store/run-status.ts';
import { summaryOf } from './commands.ts';

type Format = 'table' | 'md' | 'csv' | 'json' | 'html';

/** The report's text, or for CSV its pieces streamed from the store (one line per sample, of runs of any size). */
async function render(store: Store, ids: string[], flags: { runs?: string; format: Format; bootstrap?: number; againstPaper?: string | boolean }): Promise<string | AsyncIterable<string>> {
  const bootstrap = bootstrapOf(flags.bootstrap);
  if (flags.againstPaper) return againstPaper(store, ids, flags.format, typeof flags.againstPaper === 'string' ? flags.againstPaper : undefined, bootstrap ?? {});
  // One run as table or JSON: its summary, in the public summary format.
  if (!flags.runs && (flags.format === 'json' || flags.format === 'table')) {
    const summary = await summarizeStoredRun(store, ids[0], bootstrap);
    return flags.format === 'json' ? `${JSON.stringify(summary, null, 2)}\n` : `${formatSummaryTable(summary)}\n`;
  }
  if (flags.format === 'csv') return samplesCsvStream(store, ids);
  const lb = await buildLeaderboard(store, ids, bootstrap);
  if (flags.format === 'html') return leaderboardHtml(lb, store);
  if (flags.format === 'md') return leaderboardMarkdown(lb);
  if (flags.format === 'json') return leaderboardJson(lb);
  return `${leaderboardTable(lb)}\n`;
}

/** Each run beside the published row of its model (or the row named), in the format asked for. */
async function againstPaper(store: Store, ids: string[], format: Format, row: string | undefined, bootstrap: BootstrapOptions = {}): Promise<string> {
  if (format === 'csv') throw new UsageError('--against-paper writes table, md, html or json');
  const list = [];
  for (const id of ids) list.push(await compareWithPaper(store, id, row, bootstrap));
  if (format === 'json') return paperJson(list);
  if (format === 'md') return paperMarkdown(list);
  if (format === 'html') return paperHtml(list);
  return `${paperTable(list)}\n`;
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description(summaryOf('report'))
    .option('--run <name>', 'one run (see `mmsafe runs`): its name, a unique prefix of it, or latest')
    .option('--runs <names>', 'comma-separated runs of one benchmark')
    .addOption(new Option('--format <format>', 'output format (csv: one line per sample)').choices(['table', 'md', 'csv', 'json', 'html']).default('table'))
    .option('--against-paper [row]', "set each run beside the benchmark's published row for its model (matched by name; or the row named): both numbers, whether the published value lies in the run's 95% interval, both n")
    .option('--out <file>', 'write to a file instead of stdout')
    .option('--db <path>', 'where runs are stored: a SQLite file or a postgres:// URL', './mmsafe.db')
    .option('--bootstrap <n>', BOOTSTRAP_HELP, parseReplicates)
    .action(async (flags: { run?: string; runs?: string; format: Format; out?: string; db: string; bootstrap?: number; againstPaper?: string | boolean }) => {
      if (!flags.run && !flags.runs) throw new UsageError('give --run NAME or --runs A,B,... (see `mmsafe runs`)');
      const store = await openExistingStore(flags.db, { readOnly: true });
      try {
        // Names as people type them: a unique prefix, latest (see `mmsafe runs`).
        const ids = await resolveRunNames(store, flags.runs ? flags.runs.split(',').map((x) => x.trim()).filter(Boolean) : [flags.run!]);
        const text = await render(store, ids, flags);
        for (const id of ids) {
          const failure = failureOf((await store.getRun(id))!);
          if (failure) say(`mmsafe: ${id} failed: ${failure}\n`);
        }
        const pieces = typeof text === 'string' ? [text] : text;
        if (flags.out) {
          await writeFileAtomicFrom(flags.out, pieces);
          say(`mmsafe: written to ${flags.out}\n`);
        } else if (typeof text === 'string' && flags.format === 'table') show(text);
        else await emitAll(pieces);
      } finally {
        await store.close();
      }
    });
}
