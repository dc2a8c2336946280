import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Command } from 'commander';
import { parseEndpoints } from '../providers/endpoints.ts';
import type { RunConfigInput } from '../runner/config.ts';
import { defaultWorkerId, runWorker } from '../runner/worker.ts';
import { displayLocation, openStore } from '../store/open.ts';
import { isWorkQueue } from '../store/queue.ts';
import { safeUrl } from '../store/postgres.ts';
import { resolveRunName, RunNameError } from '../store/run-names.ts';
import type { Store } from '../store/store.ts';
import { createProgressReporter } from './progress.ts';
import { onInterrupt } from './interrupt.ts';
import { parseNumber, parsePositiveInt, UsageError } from './usage.ts';
import { say } from './print.ts';
import { summaryOf } from './commands.ts';

interface WorkerFlags {
  db: string;
  runs?: string;
  concurrency?: number;
  baseUrl?: string;
  endpoints?: string;
  data?: string;
  lease: number;
  poll?: number;
  wait?: boolean;
  workerId?: string;
  quiet?: boolean;
}

export function registerWorker(program: Command): void {
  program
    .command('worker')
    .description(summaryOf('worker'))
    .requiredOption('--db <url>', 'the shared store, postgres://user:password@host:5432/db')
    .option('--runs <ids>', 'only these runs, comma-separated (default: every run with queued samples)')
    .option('--concurrency <n>', "requests in flight at most (default: each run's own setting)", parsePositiveInt)
    .option('--base-url <url>', "this machine's replica(s) of the model, overriding the run's (comma-separated for several)")
    .option('--endpoints <file>', "this machine's replicas of the model, one URL per line (optionally followed by its concurrency limit)")
    .option('--data <path>', 'where the dataset is on this machine, when not at the path the run was created with')
    .option('--lease <seconds>', 'how long a claim lasts without renewal; a dead worker\'s samples return to the queue after it', parseNumber, 60)
    .option('--poll <seconds>', 'how often to look again while the remaining samples are leased by others', parseNumber)
    .option('--wait', 'keep waiting for new runs when the queue is empty, instead of exiting')
    .option('--worker-id <name>', 'this worker\'s name in the leases (default: host-pid-random)')
    .option('--quiet', 'no progress display')
    .action(async (flags: WorkerFlags) => {
      await workerCommand(flags);
    });
}

async function workerCommand(flags: WorkerFlags): Promise<void> {
  if (!/^postgres(ql)?:\/\//.test(flags.db)) throw new UsageError('mmsafe worker needs a shared store: --db postgres://user:password@host:5432/db');
  if (!(flags.lease > 0)) throw new UsageError('--lease must be a positive number of seconds');
  const overrides = workerOverrides(flags);
  const store = await openStore(flags.db);
  if (!isWorkQueue(store)) throw new UsageError(`${displayLocation(flags.db)}: not a shared store`);
  let runIds: string[] | undefined;
  try {
    runIds = await workerRuns(store, flags);
  } catch (error) {
    await store.close();
    throw error;
  }
  const interrupt = onInterrupt('worker stopping: requests in flight are cancelled; their samples and its other claims go back to the queue to be asked again');
  const workerId = flags.workerId ?? defaultWorkerId();
  say(`mmsafe: worker ${workerId} on ${safeUrl(flags.db)}${runIds ? ` (runs ${runIds.join(', ')})` : ''}\n`);
  let progress = createProgressReporter();
  try {
    const result = await runWorker({
      queue: store,
      runIds,
      workerId,
      leaseMs: Math.round(flags.lease * 1000),
      pollMs: flags.poll !== undefined ? Math.max(10, Math.round(flags.poll * 1000)) : undefined,
      wait: flags.wait,
      overrides,
      signal: interrupt.signal,
      onRun: (runId, session) => {
        progress = createProgressReporter();
        say(`mmsafe: worker ${workerId}: run ${runId} (${session.config.benchmark}, ${session.config.model})\n`);
      },
      onProgress: flags.quiet ? undefined : (p) => progress.update(p),
      onRunDone: (_runId, r) => {
        if (!flags.quiet) progress.finish(r.progress);
      },
    });
    const answered = Object.entries(result.answered);
    say(
      `mmsafe: worker ${workerId} stored ${answered.reduce((a, [, n]) => a + n, 0)} samples` +
        (answered.length ? ` (${answered.map(([r, n]) => `${r}: ${n}`).join(', ')})` : '') +
        '\n',
    );
    if (result.stopped) {
      say(`mmsafe: worker stopped on run ${result.stopped.runId}: ${result.stopped.reason}\n`);
      process.exitCode = result.stopped.fatal ? 1 : result.stopped.budget ? 3 : 130;
    } else if (interrupt.signal.aborted) {
      process.exitCode = 130;
    }
  } finally {
    interrupt.dispose();
    await store.close();
  }
}

/**
 * --runs names resolved as every command resolves them (unique prefix, `latest`, "did you mean").
 * With --wait, a name no run has yet is kept as typed: the worker waits for that run to be queued.
 */
async function workerRuns(store: Store, flags: WorkerFlags): Promise<string[] | undefined> {
  const names = flags.runs?.split(',').map((s) => s.trim()).filter(Boolean);
  if (!names) return undefined;
  const out: string[] = [];
  for (const name of names) {
    try {
      out.push(await resolveRunName(store, name));
    } catch (error) {
      if (!(flags.wait && name !== 'latest' && error instanceof RunNameError && !(await store.listRuns()).some((r) => r.id.startsWith(name)))) throw error;
      say(`mmsafe: no run named "${name}" yet: waiting for it to be queued\n`);
      out.push(name);
    }
  }
  return out;
}

function workerOverrides(flags: WorkerFlags): Partial<RunConfigInput> | undefined {
  const o: Partial<RunConfigInput> = {};
  if (flags.concurrency) o.concurrency = flags.concurrency;
  if (flags.data) o.data = path.resolve(flags.data);
  try {
    if (flags.endpoints) o.endpoints = parseEndpoints(readFileSync(flags.endpoints, 'utf8'));
    else if (flags.baseUrl?.includes(',')) o.endpoints = parseEndpoints(flags.baseUrl);
    else if (flags.baseUrl) o.baseURL = flags.baseUrl;
  } catch (error) {
    throw new UsageError(`${flags.endpoints ?? '--base-url'}: ${(error as Error).message}`);
  }
  return Object.keys(o).length ? o : undefined;
}
