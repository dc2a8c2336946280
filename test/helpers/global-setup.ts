import { sweepClusters } from './postgres.ts';
import { enterRunRoot, sweepRunRoots } from './temp-root.ts';

/**
 * What the tests leave behind goes with the run. Throwaway PostgreSQL clusters outlive a test
 * process that is killed: before the tests, those a dead run left behind are removed; after them,
 * every cluster this run's processes started. Temporary files go to a folder of the run's own,
 * removed at its end (or, after a run that was killed, at the start of the next).
 */
export function setup(): () => void {
  sweepClusters();
  sweepRunRoots();
  const run = enterRunRoot();
  return () => {
    sweepClusters(process.pid);
    run.leave();
  };
}
