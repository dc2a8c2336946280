import type { RunRecord, Store } from '../store/store.ts';

/**
 * Stores a copy of a run (record and every row) under a new name. `mmsafe score --into` re-judges
 * the copy, so the original keeps its judge's verdicts and the two runs hold exactly the same
 * answers: what judge-agreement --against needs to compare two judges.
 */
export async function copyRun(store: Store, fromId: string, intoId: string): Promise<RunRecord> {
  const from = await store.getRun(fromId);
  if (!from) throw new Error(`no run named "${fromId}" in this database (see \`mmsafe runs\`)`);
  if (await store.getRun(intoId)) throw new Error(`a run named "${intoId}" already exists; pick another name for the copy`);
  const copy: RunRecord = { ...from, id: intoId, createdAt: new Date().toISOString(), config: { ...from.config, copied_from: fromId } };
  await store.createRun(copy);
  for (const row of await store.results(fromId)) await store.putResult({ ...row, runId: intoId });
  return copy;
}
