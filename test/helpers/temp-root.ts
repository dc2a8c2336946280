import { mkdirSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/**
 * One temporary folder per `npm test` run, for every test and every process the tests start: they
 * all make their temporary files with `os.tmpdir()`, which follows TMPDIR. The run removes it at
 * the end; a run that was killed before its end leaves it, and the next run removes it (its owner's
 * pid, in its name, is gone). A test that forgets to clean up costs nothing after its run.
 */
const ROOT_PREFIX = 'mmsafe-test-run-';
/** The system's temporary folder, for what must live outside the run's (PostgreSQL clusters). */
const SYSTEM_TMPDIR = 'MMSAFE_TEST_SYSTEM_TMPDIR';

export function systemTmpdir(): string {
  return process.env[SYSTEM_TMPDIR] ?? os.tmpdir();
}

/** Whether a process is running (EPERM: it is, under another user). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Removes the folders of runs whose process is gone; returns them. */
export function sweepRunRoots(parent = systemTmpdir()): string[] {
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    const pid = Number(name.startsWith(ROOT_PREFIX) ? name.slice(ROOT_PREFIX.length) : NaN);
    if (!Number.isInteger(pid) || alive(pid)) continue;
    rmSync(path.join(parent, name), { recursive: true, force: true });
    removed.push(path.join(parent, name));
  }
  return removed;
}

/** Makes this process's run folder the temporary folder of it and of every process it starts. */
export function enterRunRoot(): { root: string; leave: () => void } {
  const system = systemTmpdir();
  const root = path.join(system, `${ROOT_PREFIX}${process.pid}`);
  mkdirSync(root, { recursive: true });
  const before = { TMPDIR: process.env.TMPDIR, [SYSTEM_TMPDIR]: process.env[SYSTEM_TMPDIR] };
  process.env[SYSTEM_TMPDIR] = system;
  process.env.TMPDIR = root;
  return {
    root,
    leave() {
      for (const [key, value] of Object.entries(before)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      rmSync(root, { recursive: true, force: true });
    },
  };
}
