import { ENDED_STATUSES, type RunRecord } from './store.ts';

// When a run started and ended, kept by both stores the same way: a run that starts asking is
// stamped once (a resume keeps the first start), and each time it ends the end is stamped anew.

/** The timestamps a new run is stored with. */
export function runTimes(run: RunRecord): { startedAt: string | null; finishedAt: string | null } {
  return { startedAt: run.startedAt ?? (run.status === 'queued' ? null : run.createdAt), finishedAt: run.finishedAt ?? null };
}

/** SQL assignments that go with a status change; `now` is the placeholder of the current time. */
export function statusTimes(status: RunRecord['status'], now: string): string[] {
  if (status === 'running') return [`started_at = COALESCE(started_at, ${now})`, 'finished_at = NULL'];
  if (ENDED_STATUSES.includes(status)) return ['started_at = COALESCE(started_at, created_at)', `finished_at = ${now}`];
  return [];
}
