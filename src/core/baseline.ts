import { createHash } from 'node:crypto';
import type { Label } from './types.ts';

/** Answer-blind reference answers: what a model scores without any awareness at all. */
export const BASELINES = ['always-unsafe', 'always-safe', 'random'] as const;
export type BaselineName = (typeof BASELINES)[number];

/**
 * The one definition of what each baseline says about an item, used by the `baseline:` providers
 * and by the leaderboard's baseline rows alike. `random` is a coin seeded by the item's id, so a
 * resumed or repeated run, and the leaderboard computed from stored rows, give the same answers.
 */
export function baselineVerdict(name: BaselineName, itemId: string, seed = 0): Label {
  if (name === 'always-unsafe') return 'unsafe';
  if (name === 'always-safe') return 'safe';
  return createHash('sha256').update(`${seed}\n${itemId}`).digest()[0] % 2 === 0 ? 'safe' : 'unsafe';
}
