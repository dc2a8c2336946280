import type { DatasetProblem } from '../core/types.ts';
import { summarizeAwareness, type AwarenessSummary } from '../metrics/awareness.ts';
import { summarizeResponse, type ResponseSummary } from '../metrics/response.ts';
import type { RunRecord, Store } from '../store/store.ts';

export type RunSummary = (AwarenessSummary | ResponseSummary) & { missing_image_ids?: string[] };

export class UnknownRunError extends Error {}

function problemsOf(run: RunRecord) {
  const problems = (run.config.problems as DatasetProblem[] | undefined) ?? [];
  const missing = problems.filter((p) => p.kind === 'missing_image').map((p) => p.id ?? p.where);
  return { missing, invalid: problems.length - missing.length };
}

/** The public summary JSON of a stored run, computed from its rows (never from memory). */
export function summarizeStoredRun(store: Store, runId: string): RunSummary {
  const run = store.getRun(runId);
  if (!run) throw new UnknownRunError(`no run named "${runId}" in this database (see \`mmsafe runs\`)`);
  const { missing, invalid } = problemsOf(run);
  const settings = (run.config.run ?? {}) as { extraction?: 'strict' | 'paper'; judge?: string };
  const rows = store.results(runId);
  if (run.protocol === 'response') {
    const judge = (run.config.protocol as { judge?: string } | undefined)?.judge ?? settings.judge;
    const summary = summarizeResponse(rows, { benchmark: run.benchmark, model: run.model, judge, samples: run.total, missingImage: missing.length, invalid, runId });
    return { ...summary, missing_image_ids: missing };
  }
  const summary = summarizeAwareness(rows, {
    benchmark: run.benchmark,
    model: run.model,
    extraction: settings.extraction ?? 'strict',
    samples: run.total,
    missingImage: missing.length,
    runId,
  });
  return { ...summary, missing_image_ids: missing };
}

/** The summary of a run known to use the awareness protocol. */
export function summarizeAwarenessRun(store: Store, runId: string): AwarenessSummary & { missing_image_ids?: string[] } {
  const s = summarizeStoredRun(store, runId);
  if (s.protocol !== 'awareness') throw new Error(`run ${runId} uses the ${s.protocol} protocol, not awareness`);
  return s;
}
