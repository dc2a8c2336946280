import { Command, CommanderError } from 'commander';
import { COMMANDS } from './commands.ts';

// Start-up stays fast: `--help` and `--version` load commander and the command table only, and a
// command loads its own module (stores, viewer server, SDKs...) when it runs.

const program = new Command()
  .name('mmsafe')
  .description('Benchmark how vision-language models recognise unsafe content and over-refuse benign content.')
  .version('0.1.0')
  // One line for a mistake in the flags, as for every other usage error.
  .configureOutput({ outputError: (text, write) => write(`${text.trimEnd()} (run with --help for usage)\n`) })
  .exitOverride();

const words = process.argv.slice(2).filter((a) => !a.startsWith('-'));
// `mmsafe help run` is `mmsafe run --help`.
const named = COMMANDS.filter((c) => c.name === (words[0] === 'help' ? words[1] : words[0]));
if (named.length) {
  if (named.some((c) => c.longRunning)) (await import('./heap.ts')).favourMemoryOverGcTime();
  for (const c of named) (await c.load())(program);
} else {
  // The command list (--help, --version, a typo): each command as the list shows it, nothing loaded.
  for (const c of COMMANDS) program.command(c.name).description(c.summary);
  program.configureHelp({ subcommandTerm: (cmd) => COMMANDS.find((c) => c.name === cmd.name())?.term ?? cmd.name() });
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  process.exitCode = error instanceof CommanderError && error.exitCode === 0 ? 0 : (await import('./exit-code.ts')).exitCodeFor(error);
}
