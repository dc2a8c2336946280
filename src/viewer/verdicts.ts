import type { ResultRow } from '../core/types.ts';
import type { ResultFilter, Store } from '../store/store.ts';
import { inIdOrder } from '../report/order.ts';
import { discordantIds } from './parts.ts';

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

/** The store's filter, plus the viewer's own: the discordant pairs against another run (`vs`, `pair`). */
export type ViewFilter = ResultFilter & { vs?: string; pair?: 'a-right' | 'b-right' };

export function filterOf(q: (key: string) => string | undefined): ViewFilter {
  const outcome = q('outcome');
  const pair = q('pair');
  return {
    subset: q('subset') || undefined,
    scenario: q('scenario') || undefined,
    category: q('category') || undefined,
    outcome: (OUTCOMES as readonly string[]).includes(outcome ?? '') ? (outcome as ResultFilter['outcome']) : undefined,
    search: q('q') || undefined,
    vs: q('vs') || undefined,
    pair: q('vs') ? (pair === 'b-right' ? 'b-right' : 'a-right') : undefined,
  };
}

export const filterParams = (f: ViewFilter) => ({ subset: f.subset, scenario: f.scenario, category: f.category, outcome: f.outcome, q: f.search, vs: f.vs, pair: f.pair });

/** The run's rows in table order (sample id, numeric-aware), within the filter a person is working through. */
export async function filteredRows(store: Store, runId: string, filter: ViewFilter): Promise<ResultRow[]> {
  const { vs, pair, ...stored } = filter;
  let rows = Object.values(stored).some((v) => v !== undefined) ? (await store.queryResults(runId, stored, 0, Number.MAX_SAFE_INTEGER)).rows : await store.results(runId);
  if (vs) {
    const keep = await discordantIds(store, runId, vs, pair ?? 'a-right');
    rows = rows.filter((r) => keep.has(r.sampleId));
  }
  return inIdOrder(rows);
}

/** The run's sample ids in table order, within the filter a person is working through (an item asked K times once). */
export const sampleOrder = async (store: Store, runId: string, filter: ViewFilter): Promise<string[]> => [...new Set((await filteredRows(store, runId, filter)).map((r) => r.sampleId))];

/**
 * The list a labelling pass walks: the filtered one when the sample is in it, else the whole run,
 * with the query parameters that keep the person inside that list.
 */
export async function walkList(store: Store, runId: string, sid: string, filter: ViewFilter): Promise<{ ids: string[]; keep: Record<string, string | undefined> }> {
  const filtered = await sampleOrder(store, runId, filter);
  if (filtered.includes(sid)) return { ids: filtered, keep: filterParams(filter) };
  return { ids: await sampleOrder(store, runId, {}), keep: {} };
}
