import { InvalidArgumentError } from 'commander';

/** A mistake in how mmsafe was called: one line to stderr, exit code 2, before any request. */
export class UsageError extends Error {}

export function parsePositiveInt(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new InvalidArgumentError('expected a positive whole number');
  return n;
}

/**
 * `--bootstrap N`: cluster-bootstrap replicates for the 95% intervals and comparisons. 0 turns the
 * bootstrap off (Wilson intervals); otherwise at least 40, since with fewer the 2.5% tails of the
 * interval are a single draw.
 */
export function parseReplicates(value: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || (n !== 0 && n < 40)) throw new InvalidArgumentError('expected a whole number of replicates, at least 40 (or 0: Wilson intervals, no bootstrap)');
  return n;
}

export const BOOTSTRAP_HELP = 'cluster-bootstrap replicates for the 95% intervals and paired comparisons (default 2000; 0: Wilson intervals, no bootstrap)';

/** The bootstrap options of a `--bootstrap` flag (the defaults when absent). */
export const bootstrapOf = (replicates: number | undefined) => (replicates === undefined ? undefined : { replicates });

export function parseNumber(value: string): number {
  const n = Number(value);
  if (!Number.isFinite(n)) throw new InvalidArgumentError('expected a number');
  return n;
}

/** `--provider-option key=value`, repeatable; values that parse as JSON (numbers, true) are typed. */
export function collectKeyValue(value: string, previous: Record<string, unknown> = {}): Record<string, unknown> {
  const eq = value.indexOf('=');
  if (eq <= 0) throw new InvalidArgumentError('expected key=value');
  const key = value.slice(0, eq);
  const raw = value.slice(eq + 1);
  let parsed: unknown = raw;
  try {
    parsed = JSON.parse(raw);
  } catch {
    // a plain string
  }
  return { ...previous, [key]: parsed };
}
