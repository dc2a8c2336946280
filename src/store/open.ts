import { PostgresStore } from './postgres.ts';
import { SqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** Picks the store for a --db value: a postgres:// URL means PostgreSQL, anything else a SQLite file. */
export async function openStore(location: string): Promise<Store> {
  if (/^postgres(ql)?:\/\//.test(location)) return PostgresStore.connect(location);
  return new SqliteStore(location);
}
