import type { Store } from '../store/store.ts';
import { displayLocation } from '../store/open.ts';

const DEFAULT_DB = './mmsafe.db';

/** How the user reaches the CLI: `npx mmsafe` inside the clone when started by an npm script. */
function command(): string {
  return process.env.npm_lifecycle_event ? 'npx mmsafe' : 'mmsafe';
}

function quote(arg: string): string {
  return /^[\w@%+=:,./-]+$/.test(arg) ? arg : `'${arg.replace(/'/g, `'\\''`)}'`;
}

/**
 * What to type after a run, with the real names: the viewer, and an HTML report of this run beside
 * the other finished runs of its benchmark (newest first, a few).
 */
export async function nextSteps(store: Store, db: string, runs: { ids: string[]; benchmark: string; protocol: string }): Promise<string> {
  const others = (await store.listRuns())
    .filter((r) => !runs.ids.includes(r.id) && r.benchmark === runs.benchmark && r.protocol === runs.protocol && r.status === 'done' && r.done > r.errors)
    .sort((a, b) => b.createdAt.localeCompare(a.createdAt))
    .slice(0, Math.max(0, 5 - runs.ids.length))
    .map((r) => r.id);
  const dbFlag = db === DEFAULT_DB || db === 'mmsafe.db' ? '' : ` --db ${quote(displayLocation(db))}`;
  const mmsafe = command();
  return [
    'next:',
    `  ${mmsafe} view${dbFlag}   # every answer, in the browser`,
    `  ${mmsafe} report${dbFlag} --runs ${quote([...runs.ids, ...others].join(','))} --format html --out report.html`,
    '',
  ].join('\n');
}
