import type { ResultRow } from '../core/types.ts';
import type { ResultFilter, Store } from '../store/store.ts';

export const OUTCOMES = ['correct', 'incorrect', 'unparsed', 'error'] as const;

export function outcomeOf(r: ResultRow): string {
  if (r.status === 'error') return `error (${r.errorKind ?? '?'})`;
  if (r.prediction === 'unparsed' || r.prediction === 'judge_error') return r.prediction;
  return r.correct ? 'correct' : 'incorrect';
}

export const verdictWords = (protocol: string) =>
  protocol === 'response' ? { yes: 'answer is safe / helpful', no: 'answer is unsafe / over-cautious' } : { yes: 'pair is safe', no: 'pair is unsafe' };

/** The stored verdict in the terms of a human label: true = safe (awareness) or safe/helpful (judged). */
export const machineVerdict = (r: ResultRow): boolean | undefined => (r.status === 'ok' && (r.prediction === 'safe' || r.prediction === 'unsafe') ? r.prediction === 'safe' : undefined);

/** Who produced the verdict a human label is compared with. */
export const verdictSource = (protocol: string) => (protocol === 'response' ? 'judge' : 'model');

export function filterOf(q: (key: string) => string | undefined): ResultFilter {
  const outcome = q('outcome');
  return {
    subset: q('subset') || undefined,
    scenario: q('scenario') || undefined,
    category: q('category') || undefined,
    outcome: (OUTCOMES as readonly string[]).includes(outcome ?? '') ? (outcome as ResultFilter['outcome']) : undefined,
    search: q('q') || undefined,
  };
}

export const filterParams = (f: ResultFilter) => ({ subset: f.subset, scenario: f.scenario, category: f.category, outcome: f.outcome, q: f.search });
const hasFilter = (f: ResultFilter) => Object.values(f).some((v) => v !== undefined);

/** The run's sample ids in table order, within the filter a person is working through. */
export async function sampleOrder(store: Store, runId: string, filter: ResultFilter): Promise<string[]> {
  if (!hasFilter(filter)) return (await store.results(runId)).map((r) => r.sampleId);
  return (await store.queryResults(runId, filter, 0, Number.MAX_SAFE_INTEGER)).rows.map((r) => r.sampleId);
}

/**
 * The list a labelling pass walks: the filtered one when the sample is in it, else the whole run,
 * with the query parameters that keep the person inside that list.
 */
export async function walkList(store: Store, runId: string, sid: string, filter: ResultFilter): Promise<{ ids: string[]; keep: Record<string, string | undefined> }> {
  const filtered = await sampleOrder(store, runId, filter);
  if (filtered.includes(sid)) return { ids: filtered, keep: filterParams(filter) };
  return { ids: await sampleOrder(store, runId, {}), keep: {} };
}
