// Opens a SQLite store at a given instant (argv: file, epoch ms) and prints `ok` or the error: several
// of these started together create one new database at the same moment (test/store.sqlite-race.test.ts).
import { SqliteStore } from '../../src/store/sqlite.ts';

const [file, at] = process.argv.slice(2);
await new Promise((resolve) => setTimeout(resolve, Math.max(0, Number(at) - Date.now() - 30)));
while (Date.now() < Number(at)) {
  // Spin the last moment rather than sleep: the processes reach the open within a millisecond of each other.
}
try {
  await new SqliteStore(file).close();
  process.stdout.write('ok\n');
} catch (error) {
  process.stdout.write(`${(error as Error).message}\n`);
}
