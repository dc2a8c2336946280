import type { RunRecord, Store } from './store.ts';

/**
 * Why a run failed (status `failed`). Kept in its stored config, so SQLite and PostgreSQL hold it
 * without a schema change; a resume rewrites the config, which clears it.
 */
export function failureOf(run: Pick<RunRecord, 'config'>): string | undefined {
  return run.config.failure;
}

export async function markFailed(store: Store, runId: string, reason: string): Promise<void> {
  await store.updateRunConfig(runId, (c) => ({ ...c, failure: reason }));
  await store.updateRun(runId, { status: 'failed' });
}

/**
 * A finished run with no answer at all measured nothing: the reason names the commonest error.
 * (A content-policy block is an answer on a safety benchmark, so it does not count as a failure.)
 */
export async function everySampleFailed(store: Store, runId: string): Promise<string | undefined> {
  const kinds = new Map<string, { count: number; example: string }>();
  let rows = 0;
  // Streamed, and the first answer ends it: a large finished run is not read into memory.
  for await (const r of store.scanResults(runId, { slim: true })) {
    if (r.status !== 'error' || r.errorKind === 'content_policy') return undefined;
    rows++;
    const k = kinds.get(r.errorKind ?? 'error') ?? { count: 0, example: r.errorMessage ?? '' };
    k.count++;
    kinds.set(r.errorKind ?? 'error', k);
  }
  if (!rows) return undefined;
  const [kind, top] = [...kinds.entries()].sort((a, b) => b[1].count - a[1].count)[0];
  return `every sample failed (${rows}); ${kind} x${top.count}: ${top.example}`;
}

/**
 * Samples the run can store: its total less the rows left out (missing image, invalid row), so a
 * finished run of 1523 items with 77 images missing reads 1446/1446, not 1446/1523. Derived from the stored problems because
 * they are what `mmsafe merge` sums over shards. `mmsafe runs` and the viewer both count this way.
 */
export function evaluableOf(run: Pick<RunRecord, 'total' | 'config'>): number {
  // Counted in answers, as the stored rows are: `--samples K` stores K per item.
  return Math.max(0, run.total - run.config.problems.length) * (run.config.run.samples ?? 1);
}
