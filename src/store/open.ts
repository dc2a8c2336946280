import { SqliteStore } from './sqlite.ts';
import type { Store } from './store.ts';

/** Picks the store for a --db value: a file path means SQLite. */
export function openStore(location: string): Store {
  if (/^postgres(ql)?:\/\//.test(location)) throw new Error('PostgreSQL support is not available yet: pass a SQLite file path to --db');
  return new SqliteStore(location);
}
