import type { ContentPolicyRule } from '../benchmarks/types.ts';
import type { ResultRow } from '../core/types.ts';

/** A request or answer the API's safety system blocked: final, never worth a retry. */
export const isBlocked = (r: ResultRow): boolean => r.status === 'error' && r.errorKind === 'content_policy';

/**
 * A row as the metrics read it: a block turned into the answer the benchmark says it stands for
 * (marked `details.blocked`), every other row as stored. `errorKind` stays, so counts still see it.
 */
export function countedRow(row: ResultRow, rule: ContentPolicyRule): ResultRow {
  if (rule === 'excluded' || !isBlocked(row)) return row;
  const { details, ...verdict } = rule.score(row);
  return { ...row, status: 'ok', ...verdict, details: { ...row.details, ...details, blocked: true } };
}
