import type { Command } from 'commander';
import { benchmarkNames } from '../benchmarks/registry.ts';
import { pullBenchmark } from '../datasets/pull.ts';
import { UsageError } from './usage.ts';
import { say, show } from './print.ts';
import { summaryOf } from './commands.ts';

export function registerData(program: Command): void {
  const data = program.command('data').description(summaryOf('data'));
  data
    .command('pull <benchmark>')
    .description(`download a benchmark (${benchmarkNames({ pullable: true }).join(', ')}) from its public upstream, verify it, and print the --data path`)
    .option('--dir <dir>', 'where to keep it (default ~/.cache/mmsafe/data)')
    .option('--from <url>', 'download from this URL instead (a mirror; .zip, .tar or .tar.gz); again for an images archive published elsewhere ("-" keeps the default repository URL)', (v: string, prev: string[] = []) => [...prev, v])
    .action(async (benchmark: string, flags: { dir?: string; from?: string[] }) => {
      if (!benchmarkNames({ pullable: true }).includes(benchmark)) throw new UsageError(`cannot pull "${benchmark}"; known: ${benchmarkNames({ pullable: true }).join(', ')}`);
      const { path: where, dataset, todo } = await pullBenchmark(benchmark, { ...flags, log: (s) => say(`mmsafe: ${s}\n`) });
      const missing = dataset.problems.filter((p) => p.kind === 'missing_image').length;
      say(
        `mmsafe: ${benchmark}: ${dataset.total} items, ${dataset.samples.length} ready, ${missing} without an image, ${dataset.problems.length - missing} other problems\n`,
      );
      for (const t of todo) say(`mmsafe: still to fetch by hand: ${t}\n`);
      show(`${where}\n`);
    });
}
