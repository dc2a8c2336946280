import type { DatasetProblem, ResultRow } from '../core/types.ts';
import { summarizeAwareness, type AwarenessSummary } from '../metrics/awareness.ts';
import { summarizeResponse, type ResponseSummary } from '../metrics/response.ts';
import type { RunRecord, Store } from '../store/store.ts';
import { summarizeUsage, type UsageSummary } from '../metrics/usage.ts';
import { loadPrices, priceFor } from '../providers/pricing.ts';

/** Errored samples by kind, with one stored message as an example of each. */
export type ErrorsByKind = Record<string, { count: number; example: string }>;

export type RunSummary = (AwarenessSummary | ResponseSummary) & { missing_image_ids?: string[]; usage?: UsageSummary; endpoints?: unknown[]; errors_by_kind?: ErrorsByKind };

export class UnknownRunError extends Error {}

function problemsOf(run: RunRecord) {
  const problems = (run.config.problems as DatasetProblem[] | undefined) ?? [];
  const missing = problems.filter((p) => p.kind === 'missing_image').map((p) => p.id ?? p.where);
  return { missing, invalid: problems.length - missing.length };
}

/** The public summary JSON of a stored run, computed from its rows (never from memory). */
export async function summarizeStoredRun(store: Store, runId: string, pricesFile?: string): Promise<RunSummary> {
  const run = await store.getRun(runId);
  if (!run) throw new UnknownRunError(`no run named "${runId}" in this database (see \`mmsafe runs\`)`);
  const { missing, invalid } = problemsOf(run);
  const settings = (run.config.run ?? {}) as { extraction?: 'strict' | 'paper' | 'final'; judge?: string; prices?: string };
  // A method may score differently from the run's flag (CoT reads the final answer): the protocol has what was used.
  const usedExtraction = (run.config.protocol as { extraction?: 'strict' | 'paper' | 'final' } | undefined)?.extraction;
  const rows = await store.results(runId);
  const prices = loadPrices(pricesFile ?? settings.prices);
  const judgeId = run.protocol === 'response' ? ((run.config.protocol as { judge?: string } | undefined)?.judge ?? settings.judge) : undefined;
  const usage = summarizeUsage(rows, priceFor(run.model, prices), judgeId ? priceFor(judgeId, prices) : undefined, Boolean(judgeId));
  if (run.protocol === 'response') {
    const summary = summarizeResponse(rows, { benchmark: run.benchmark, model: run.model, judge: judgeId, samples: run.total, missingImage: missing.length, invalid, runId });
    return { ...summary, missing_image_ids: missing, usage, ...endpointsOf(run), ...errorsOf(rows) };
  }
  const summary = summarizeAwareness(rows, {
    benchmark: run.benchmark,
    model: run.model,
    extraction: usedExtraction ?? settings.extraction ?? 'strict',
    samples: run.total,
    missingImage: missing.length,
    runId,
  });
  return { ...summary, missing_image_ids: missing, usage, ...endpointsOf(run), ...errorsOf(rows) };
}

/**
 * A count of errors says that a run failed, not why: a server that is down, a rejected image and a
 * content filter need different fixes. Absent when nothing failed, so clean summaries stay as they were.
 */
function errorsOf(rows: ResultRow[]): { errors_by_kind?: ErrorsByKind } {
  const out: ErrorsByKind = {};
  for (const r of rows) {
    if (r.status !== 'error') continue;
    const kind = r.errorKind ?? 'internal';
    out[kind] ??= { count: 0, example: r.errorMessage ?? '' };
    out[kind].count++;
  }
  return Object.keys(out).length ? { errors_by_kind: out } : {};
}

const endpointsOf = (run: RunRecord) => (Array.isArray(run.config.endpoint_stats) ? { endpoints: run.config.endpoint_stats as unknown[] } : {});

/** The summary of a run known to use the awareness protocol. */
export async function summarizeAwarenessRun(store: Store, runId: string): Promise<AwarenessSummary & { missing_image_ids?: string[] }> {
  const s = await summarizeStoredRun(store, runId);
  if (s.protocol !== 'awareness') throw new Error(`run ${runId} uses the ${s.protocol} protocol, not awareness`);
  return s;
}
