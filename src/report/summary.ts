import type { DatasetProblem } from '../core/types.ts';
import { summarizeAwareness, type AwarenessSummary } from '../metrics/awareness.ts';
import type { Store } from '../store/store.ts';

export type RunSummary = AwarenessSummary & { missing_image_ids?: string[] };

/** The public summary JSON of a stored run, computed from its rows (never from memory). */
export function summarizeStoredRun(store: Store, runId: string): RunSummary {
  const run = store.getRun(runId);
  if (!run) throw new Error(`no run named "${runId}" in this database (see \`mmsafe runs\`)`);
  const problems = (run.config.problems as DatasetProblem[] | undefined) ?? [];
  const missing = problems.filter((p) => p.kind === 'missing_image').map((p) => p.id ?? '?');
  const extraction = ((run.config.run as { extraction?: 'strict' | 'paper' } | undefined)?.extraction) ?? 'strict';
  const summary = summarizeAwareness(store.results(runId), {
    benchmark: run.benchmark,
    model: run.model,
    extraction,
    samples: run.total,
    missingImage: missing.length,
    runId,
  });
  return { ...summary, missing_image_ids: missing };
}
