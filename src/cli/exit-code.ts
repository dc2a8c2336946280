import { CommanderError } from 'commander';
import { ZodError } from 'zod';
import { DatasetError } from '../datasets/errors.ts';
import { MethodError } from '../methods/registry.ts';
import { RunSetupError } from '../runner/evaluate.ts';
import { UnknownRunError } from '../report/summary.ts';
import { UsageError } from './usage.ts';
import { say, sayLine } from './print.ts';
import { redactSecrets } from '../core/redact.ts';
import { PreflightError, PreflightInterrupted } from '../runner/preflight.ts';
import { RunNameError } from '../store/run-names.ts';
import { MissingDatabaseError } from '../store/open.ts';

// Loaded only when a command failed: the error classes live beside the code that throws them.

/** Prints an error as one line (secrets removed) and says which exit code it means. */
export function exitCodeFor(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander already printed its message; help and --version are not errors.
    return error.exitCode === 0 ? 0 : 2;
  }
  if (error instanceof UsageError || error instanceof RunSetupError || error instanceof DatasetError || error instanceof UnknownRunError || error instanceof MethodError || error instanceof RunNameError || error instanceof MissingDatabaseError) {
    say(`mmsafe: ${error.message}\n`);
    return 2;
  }
  if (error instanceof PreflightError) {
    sayLine(`mmsafe: ${redactSecrets(error.message)}`);
    return 1;
  }
  if (error instanceof PreflightInterrupted) {
    sayLine(`mmsafe: ${error.message}`);
    return 130;
  }
  if (error instanceof ZodError) {
    const issue = error.issues[0];
    say(`mmsafe: invalid setting ${issue?.path.join('.') || ''}: ${issue?.message}\n`);
    return 2;
  }
  sayLine(`mmsafe: ${redactSecrets(error instanceof Error ? error.message : String(error))}`);
  if (process.env.MMSAFE_DEBUG && error instanceof Error) say(`${error.stack}\n`);
  return 1;
}
