import type { Command } from 'commander';

// The commands, as `mmsafe --help` lists them, and where each is defined. `--help` and `--version`
// read only this table; a command's own module (and what it imports: the stores, the viewer's
// server, the SDKs...) is loaded when that command runs.

type Register = (program: Command) => void;

export interface CommandEntry {
  name: string;
  /** How the command list shows it (commander's subcommand term: name, [options], arguments). */
  term: string;
  summary: string;
  load: () => Promise<Register>;
  /** Asks models for as long as the work lasts: the process trades a little GC time for a smaller heap. */
  longRunning?: boolean;
}

export const COMMANDS: CommandEntry[] = [
  { name: 'run', term: 'run [options]', summary: 'evaluate a model on a benchmark; every answer is stored as it arrives', load: async () => (await import('./run.ts')).registerRun, longRunning: true },
  { name: 'runs', term: 'runs [options]', summary: 'list the runs stored in a database', load: async () => (await import('./runs.ts')).registerRuns },
  { name: 'report', term: 'report [options]', summary: 'the summary of a run (--run), or a leaderboard with paired comparisons over runs (--runs A,B,...)', load: async () => (await import('./report.ts')).registerReport },
  { name: 'score', term: 'score [options]', summary: 'score stored answers again (a new judge or extraction mode) without calling the model', load: async () => (await import('./score.ts')).registerScore },
  { name: 'data', term: 'data', summary: 'get benchmark data', load: async () => (await import('./data.ts')).registerData },
  { name: 'judge-agreement', term: 'judge-agreement [options]', summary: "measure a judge against human labels ({id, verdict} JSONL), or two runs' judges against each other", load: async () => (await import('./judge-agreement.ts')).registerJudgeAgreement },
  { name: 'export', term: 'export [options]', summary: "export a run's answers: upstream ({id, response} JSONL, what the upstream scoring scripts read), jsonl (every stored field, the prompt and system prompt sent included) or csv", load: async () => (await import('./export.ts')).registerExport },
  { name: 'view', term: 'view [options]', summary: 'open a local web viewer of the stored runs (127.0.0.1 only)', load: async () => (await import('./view.ts')).registerView },
  { name: 'methods', term: 'methods [options]', summary: 'list the mitigation methods and ablations, with the exact prompt texts', load: async () => (await import('./methods.ts')).registerMethods },
  { name: 'export-sft', term: 'export-sft [options]', summary: 'write fine-tuning data (train side of a deterministic split) and the held-out ids', load: async () => (await import('./methods.ts')).registerExportSft },
  { name: 'merge', term: 'merge [options] <shards...>', summary: 'merge shard databases (from `mmsafe run --shard i/N`) into one', load: async () => (await import('./merge.ts')).registerMerge },
  { name: 'worker', term: 'worker [options]', summary: 'answer queued samples of runs in a shared PostgreSQL store; start as many as you like, on any machines', load: async () => (await import('./worker.ts')).registerWorker, longRunning: true },
  { name: 'cache', term: 'cache', summary: 'the answer cache of `mmsafe run --cache`', load: async () => (await import('./cache.ts')).registerCache },
  { name: 'suite', term: 'suite [options]', summary: "run one model over several benchmarks and print each one's headline metrics with intervals, and the model's safety / over-sensitivity profile", load: async () => (await import('./suite.ts')).registerSuite, longRunning: true },
  { name: 'demo', term: 'demo [options]', summary: 'offline end-to-end demo: a built-in benchmark, baselines and a simulated model, no key needed', load: async () => (await import('./demo.ts')).registerDemo },
];

/** A command's one-line description: its definition reads it from here, so the two never differ. */
export function summaryOf(name: string): string {
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) throw new Error(`no command ${name} in src/cli/commands.ts`);
  return entry.summary;
}
