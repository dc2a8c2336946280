import { randomBytes } from 'node:crypto';
import os from 'node:os';
import { hasRunLeases, type RunHolder, type Store } from '../store/store.ts';

const TTL_MS = 60_000;

/** Another process holds the run. */
export class RunHeldError extends Error {}

/**
 * Holds a run for this process while it works on it, so a second `mmsafe run --resume` of the
 * same run refuses (naming who has it) instead of asking every pending sample a second time.
 * The lease is renewed every 20 s; a holder that died (same host, pid gone) or stopped renewing
 * for a minute is taken over. Stores without run leases (PostgreSQL: per-sample queue leases)
 * need none.
 */
export async function holdRun(store: Store, runId: string): Promise<{ release: () => Promise<void> }> {
  if (!hasRunLeases(store)) return { release: async () => undefined };
  const me: RunHolder = { holder: randomBytes(8).toString('hex'), host: os.hostname(), pid: process.pid, since: new Date().toISOString() };
  const other = await store.leaseRun(runId, me, TTL_MS);
  if (other) {
    throw new RunHeldError(
      `run "${runId}" is being worked on by another mmsafe process (pid ${other.pid} on ${other.host}, since ${other.since.slice(0, 19).replace('T', ' ')} UTC); ` +
        'wait for it to finish or stop it, then --resume again',
    );
  }
  const timer = setInterval(() => void store.leaseRun(runId, me, TTL_MS).catch(() => undefined), TTL_MS / 3);
  timer.unref();
  return {
    release: async () => {
      clearInterval(timer);
      await store.releaseRun(runId, me.holder).catch(() => undefined);
    },
  };
}
