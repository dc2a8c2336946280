import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** Picks the store for a --db value: a postgres:// URL means PostgreSQL, anything else a SQLite file. */
export async function openStore(location: string, opts: { readOnly?: boolean } = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) return PostgresStore.connect(location);
  return new SqliteStore(location, opts);
}

/** A --db that names no database, given to a command that only reads. */
export class MissingDatabaseError extends Error {}

/**
 * For commands that only read (runs, report, export, view...): a SQLite file that is not there is a
 * typo, not a new empty database, so nothing is created and the message lists the databases nearby.
 */
export async function openExistingStore(location: string, opts: { readOnly?: boolean } = {}): Promise<Store> {
  if (!/^postgres(ql)?:\/\//.test(location) && location !== ':memory:' && !existsSync(location)) {
    let nearby: string[] = [];
    try {
      nearby = readdirSync(path.dirname(path.resolve(location))).filter((f) => f.endsWith('.db')).slice(0, 5);
    } catch {
      // the folder is not there either
    }
    throw new MissingDatabaseError(
      `no database at ${location}: no run was stored there${nearby.length ? ` (databases in that folder: ${nearby.join(', ')})` : ''}; \`mmsafe run --db ${location}\` creates it`,
    );
  }
  return openStore(location, opts);
}

/** A --db value fit to print: a PostgreSQL URL loses its password (and user), a file path stays. */
export function displayLocation(location: string): string {
  if (!/^postgres(ql)?:\/\//.test(location)) return location;
  try {
    const u = new URL(location);
    u.password = '';
    u.username = '';
    return u.toString();
  } catch {
    return 'the PostgreSQL database';
  }
}
