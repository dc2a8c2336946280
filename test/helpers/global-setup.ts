import { sweepClusters } from './postgres.ts';

/**
 * Throwaway PostgreSQL clusters outlive a test process that is killed. Before the tests, those a
 * dead run left behind are removed; after them, every cluster this run's processes started.
 */
export function setup(): () => void {
  sweepClusters();
  return () => {
    sweepClusters(process.pid);
  };
}
