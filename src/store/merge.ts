import type { StoredRunConfig } from '../runner/config.ts';
import type { Store } from './store.ts';

type ShardInfo = NonNullable<StoredRunConfig['shards']>[number];

/**
 * Brings runs from shard databases together: one run per id, each sample once (an answer wins
 * over an error), totals, reported problems and money spent summed over the distinct shards merged.
 * Merging the same shard twice changes nothing.
 */
export async function mergeStores(target: Store, sources: Store[]): Promise<{ runs: number; rows: number }> {
  let rows = 0;
  const runIds = new Set<string>();
  for (const source of sources) {
    for (const run of await source.listRuns()) {
      runIds.add(run.id);
      const { done: _done, errors: _errors, ...record } = run;
      const c = record.config;
      const shard = c.run.shard;
      const existing = await target.getRun(run.id);
      const shards: ShardInfo[] = [...(existing?.config.shards ?? [])];
      const fresh = shard ? !shards.some((s) => s.index === shard.index && s.count === shard.count) : !existing;
      if (shard && fresh) shards.push({ ...shard, total: run.total, problems: c.problems });
      const merged: StoredRunConfig = shards.length ? { ...c, run: { ...c.run, shard: undefined }, shards, problems: shards.flatMap((s) => s.problems) } : c;
      const total = shards.length ? shards.reduce((a, s) => a + s.total, 0) : Math.max(run.total, existing?.total ?? 0);
      if (!existing) await target.createRun({ ...record, config: merged, total });
      else await target.updateRun(run.id, { config: merged, total, status: existing.status === 'done' && run.status === 'done' ? 'done' : run.status });
      // What each shard spent is the merged run's spend (a resume under --max-cost starts from it).
      if (fresh) await target.settleBudget(run.id, `merge:${shard?.index ?? 'all'}`, await source.spentUsd(run.id));
      for (const row of await source.results(run.id)) {
        const have = await target.result(run.id, row.sampleId, row.repeat);
        if (have && have.status === 'ok' && row.status !== 'ok') continue;
        await target.putResult(row);
        rows++;
      }
    }
  }
  return { runs: runIds.size, rows };
}
