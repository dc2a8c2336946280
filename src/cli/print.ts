import { once } from 'node:events';
import { forTerminal } from '../core/terminal.ts';

/**
 * Everything the CLI prints goes through here, so text from outside (API error messages, run
 * ids, model answers) can never drive the terminal: see forTerminal.
 */
export function say(text: string): void {
  process.stderr.write(forTerminal(text));
}

/**
 * One message line on stderr. Line breaks inside it (an API error message, a file's text) become
 * spaces, so text from outside cannot start a line that looks like one of ours.
 */
export function sayLine(text: string): void {
  process.stderr.write(`${forTerminal(text, { oneLine: true })}\n`);
}

/** Human-readable output (tables, lists) on stdout. */
export function show(text: string): void {
  process.stdout.write(forTerminal(text));
}

/**
 * Data (CSV, JSONL, HTML, Markdown) on stdout: byte for byte into a pipe or file, cleaned only
 * when a terminal would interpret it.
 */
export function emit(text: string): void {
  process.stdout.write(process.stdout.isTTY ? forTerminal(text) : text);
}

/** emit for output made in pieces: each written as it comes, waiting while the pipe is full. */
export async function emitAll(pieces: Iterable<string> | AsyncIterable<string>): Promise<void> {
  for await (const piece of pieces) {
    if (!process.stdout.write(process.stdout.isTTY ? forTerminal(piece) : piece)) await once(process.stdout, 'drain');
  }
}
