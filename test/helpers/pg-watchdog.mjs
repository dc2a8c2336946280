/**
 * Stops a throwaway PostgreSQL cluster of the tests when the process that started it dies, so a
 * test worker killed with SIGKILL leaves no server behind (the sweep of the next `npm test`
 * remains as a fallback). Started detached by test/helpers/postgres.ts:
 *   node pg-watchdog.mjs OWNER_PID CLUSTER_DIR STOP_COMMAND...
 * It exits on its own once the cluster directory is gone (the owner stopped it normally).
 */
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';

const [owner, dir, ...stop] = process.argv.slice(2);

function alive(pid) {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return error.code === 'EPERM';
  }
}

setInterval(() => {
  if (!existsSync(dir)) process.exit(0);
  if (alive(Number(owner))) return;
  try {
    execFileSync(stop[0], stop.slice(1), { stdio: 'ignore' });
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}, 200);
