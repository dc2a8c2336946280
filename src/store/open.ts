import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** Picks the store for a --db value: a postgres:// URL means PostgreSQL, anything else a SQLite file. */
export async function openStore(location: string, opts: { readOnly?: boolean } = {}): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) return PostgresStore.connect(location);
  return new SqliteStore(location, opts);
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
