import os from 'node:os';

/**
 * A lease holder that is certainly gone: a process on this host whose pid no longer exists. A
 * holder on another host is only given up when its lease expires (its heartbeat stopped).
 */
export function isDeadLocalProcess(host: string, pid: number): boolean {
  if (host !== os.hostname()) return false;
  try {
    process.kill(pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}
