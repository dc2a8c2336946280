import path from 'node:path';
import type { Command } from 'commander';
import { benchmarkNames, defaultProtocol, getBenchmark, protocolSpec } from '../benchmarks/registry.ts';
import type { ProtocolName } from '../benchmarks/types.ts';
import { DatasetError } from '../datasets/errors.ts';
import { defaultDataDir } from '../datasets/pull.ts';
import { formatSuiteTable, suiteEntry, suiteHtml, type SuiteEntry } from '../report/suite.ts';
import { protocolAlias, type RunConfigInput } from '../runner/config.ts';
import { evaluate, RunSetupError } from '../runner/evaluate.ts';
import type { Store } from '../store/store.ts';
import { defaultRunId } from '../store/run-names.ts';
import { openStore } from '../store/open.ts';
import { writeFileAtomic } from '../core/atomic-write.ts';
import { onInterrupt } from './interrupt.ts';
import { say, show } from './print.ts';
import { BOOTSTRAP_HELP, bootstrapOf, parsePositiveInt, parseReplicates, UsageError } from './usage.ts';
import { summaryOf } from './commands.ts';

interface SuiteFlags {
  benchmarks: string;
  model: string;
  bootstrap?: number;
  baseUrl?: string;
  judge?: string;
  judgeBaseUrl?: string;
  data: string[];
  images: string[];
  protocol: string[];
  limit?: number;
  samples?: number;
  concurrency?: number;
  db: string;
  html?: string;
  out?: string;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

/** "name=path" pairs into a map, refusing names that are not in the suite. */
function perBenchmark(pairs: string[], names: string[], flag: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const p of pairs) {
    const i = p.indexOf('=');
    const name = p.slice(0, i);
    if (i < 1 || !names.includes(name)) throw new UsageError(`${flag} "${p}": expected <benchmark>=<path> for one of ${names.join(', ')}`);
    out.set(name, path.resolve(p.slice(i + 1)));
  }
  return out;
}

/** "name=protocol" pairs: each a protocol the named benchmark defines. */
function protocolsOf(pairs: string[], names: string[]): Map<string, ProtocolName> {
  const out = new Map<string, ProtocolName>();
  for (const p of pairs) {
    const [name, typed = ''] = p.split('=', 2);
    const protocol = protocolAlias(typed);
    const defined = names.includes(name) ? Object.keys(getBenchmark(name).protocols) : [];
    if (!defined.includes(protocol)) {
      throw new UsageError(`--protocol "${p}": expected <benchmark>=<protocol> for one of ${names.join(', ')}${defined.length ? `; ${name} has ${defined.join(', ')}` : ''}`);
    }
    out.set(name, protocol as ProtocolName);
  }
  return out;
}

/** A dry run of one benchmark; its errors name the benchmark and keep their kind (exit 2). */
async function preflight(input: RunConfigInput & { benchmark: string }, store: Store): Promise<void> {
  try {
    await evaluate(input, { store, dryRun: true });
  } catch (error) {
    if (error instanceof DatasetError || error instanceof RunSetupError) throw new UsageError(`${input.benchmark}: ${error.message} (nothing was asked)`);
    throw error;
  }
}

export function registerSuite(program: Command): void {
  program
    .command('suite')
    .description(summaryOf('suite'))
    .requiredOption('--benchmarks <list>', `comma-separated, from: ${benchmarkNames().join(', ')}`)
    .requiredOption('--model <provider:model>', 'the model under test')
    .option('--base-url <url>', "the model's API base URL")
    .option('--judge <provider:model>', 'judge for the benchmarks that are judged')
    .option('--judge-base-url <url>', "the judge's API base URL")
    .option('--data <benchmark=path>', 'where a benchmark\'s data is (repeatable; default: where `mmsafe data pull` keeps it)', collect, [])
    .option('--images <benchmark=dir>', "a benchmark's images directory (repeatable)", collect, [])
    .option('--protocol <benchmark=protocol>', "run a benchmark with another of its protocols, e.g. <benchmark>=mcqa (repeatable; default: the benchmark's own)", collect, [])
    .option('--limit <n>', 'the first N samples of each benchmark', parsePositiveInt)
    .option('--samples <k>', 'ask each item K times and score the majority verdict per item (see `mmsafe run --samples`)', parsePositiveInt)
    .option('--concurrency <n>', 'requests in flight at most', parsePositiveInt)
    .option('--db <path>', 'where runs are stored', './mmsafe.db')
    .option('--html <file>', 'write the table and the profile chart as an HTML page')
    .option('--out <file>', 'write the suite as JSON')
    .option('--bootstrap <n>', BOOTSTRAP_HELP, parseReplicates)
    .action(async (flags: SuiteFlags) => {
      const names = flags.benchmarks.split(',').map((s) => s.trim()).filter(Boolean);
      const unknown = names.filter((n) => !benchmarkNames().includes(n));
      if (unknown.length || !names.length) throw new UsageError(`--benchmarks: unknown ${unknown.join(', ') || '(none given)'}; known: ${benchmarkNames().join(', ')}`);
      const protocols = protocolsOf(flags.protocol, names);
      const judged = names.filter((n) => protocolSpec(n, protocols.get(n) ?? defaultProtocol(n))?.scorer.kind === 'judge');
      if (judged.length && !flags.judge) throw new UsageError(`${judged.join(', ')} ${judged.length > 1 ? 'are' : 'is'} judged: give --judge provider:model`);
      const data = perBenchmark(flags.data, names, '--data');
      const images = perBenchmark(flags.images, names, '--images');
      const store = await openStore(flags.db);
      const interrupt = onInterrupt('stopping after requests in flight');
      const entries: SuiteEntry[] = [];
      const inputs = names.map((benchmark) => ({
        benchmark,
        data: data.get(benchmark) ?? path.join(defaultDataDir(), benchmark),
        model: flags.model,
        ...(protocols.has(benchmark) ? { protocol: protocols.get(benchmark) } : {}),
        ...(flags.baseUrl ? { baseURL: flags.baseUrl } : {}),
        ...(images.has(benchmark) ? { images: images.get(benchmark) } : {}),
        ...(judged.includes(benchmark) ? { judge: flags.judge, ...(flags.judgeBaseUrl ? { judgeBaseURL: flags.judgeBaseUrl } : {}) } : {}),
        ...(flags.limit ? { limit: flags.limit } : {}),
        ...(flags.samples ? { samples: flags.samples } : {}),
        ...(flags.concurrency ? { concurrency: flags.concurrency } : {}),
      }));
      try {
        // Every benchmark's data and settings are checked (a dry run: nothing sent or stored) before
        // any is asked: a wrong path found after the first benchmarks were paid for would leave no table.
        for (const input of inputs) await preflight(input, store);
        for (const input of inputs) {
          const { benchmark } = input;
          // The model's name and the benchmark's (gpt-4o-<benchmark>), numbered when taken.
          const runId = await defaultRunId(store, { model: `${flags.model}-${benchmark}` });
          say(`mmsafe: suite: ${benchmark} (run ${runId})\n`);
          await evaluate(input, { store, runId, signal: interrupt.signal });
          if (interrupt.signal.aborted) break;
          entries.push(await suiteEntry(store, runId, bootstrapOf(flags.bootstrap)));
        }
        show(`${formatSuiteTable(flags.model, entries)}\n`);
        // Like every --out: a kill mid-write leaves the previous file whole.
        if (flags.out) writeFileAtomic(flags.out, `${JSON.stringify({ model: flags.model, benchmarks: entries }, null, 2)}\n`);
        if (flags.html) writeFileAtomic(flags.html, await suiteHtml(flags.model, entries));
      } finally {
        interrupt.dispose();
        await store.close();
      }
    });
}
