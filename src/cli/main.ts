import { Command, CommanderError } from 'commander';
import { ZodError } from 'zod';
import { DatasetError } from '../datasets/errors.ts';
import { MethodError } from '../methods/registry.ts';
import { RunSetupError } from '../runner/evaluate.ts';
import { registerDemo } from './demo.ts';
import { registerReport } from './report.ts';
import { registerRun } from './run.ts';
import { registerRuns } from './runs.ts';
import { registerScore } from './score.ts';
import { registerData } from './data.ts';
import { registerJudgeAgreement } from './judge-agreement.ts';
import { registerExport } from './export.ts';
import { registerView } from './view.ts';
import { registerMethods } from './methods.ts';
import { registerMerge } from './merge.ts';
import { registerWorker } from './worker.ts';
import { registerCache } from './cache.ts';
import { registerSuite } from './suite.ts';
import { UnknownRunError } from '../report/summary.ts';
import { UsageError } from './usage.ts';
import { say } from './print.ts';
import { redactSecrets } from '../core/redact.ts';
import { PreflightError } from '../runner/preflight.ts';
import { RunNameError } from '../store/run-names.ts';
import { MissingDatabaseError } from '../store/open.ts';

const program = new Command()
  .name('mmsafe')
  .description('Benchmark how vision-language models recognise unsafe content and over-refuse benign content.')
  .version('0.1.0')
  // One line for a mistake in the flags, as for every other usage error.
  .configureOutput({ outputError: (text, write) => write(`${text.trimEnd()} (run with --help for usage)\n`) })
  .exitOverride();

registerRun(program);
registerRuns(program);
registerReport(program);
registerScore(program);
registerData(program);
registerJudgeAgreement(program);
registerExport(program);
registerView(program);
registerMethods(program);
registerMerge(program);
registerWorker(program);
registerCache(program);
registerSuite(program);
registerDemo(program);

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = exitCodeFor(error);
}

function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and --version are not errors.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UsageError || error instanceof RunSetupError || error instanceof DatasetError || error instanceof UnknownRunError || error instanceof MethodError || error instanceof RunNameError || error instanceof MissingDatabaseError) {
    say(`mmsafe: ${error.message}\n`);
    return 2;
  }
  if (error instanceof PreflightError) {
    say(`mmsafe: ${redactSecrets(error.message)}\n`);
    return 1;
  }
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    say(`mmsafe: invalid setting ${issue?.path.join('.') || ''}: ${issue?.message}\n`);
    return 2;
  }
  say(`mmsafe: ${redactSecrets(error instanceof Error ? error.message : String(error))}\n`);
  if (process.env.MMSAFE_DEBUG && error instanceof Error) say(`${error.stack}\n`);
  return 1;
}
