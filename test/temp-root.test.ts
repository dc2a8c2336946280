import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { enterRunRoot, sweepRunRoots, systemTmpdir } from './helpers/temp-root.ts';

const parent = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-temp-root-'));
afterAll(() => rmSync(parent, { recursive: true, force: true }));

/** The pid of a process that has exited. */
const deadPid = () => spawnSync(process.execPath, ['-e', '']).pid!;

describe('the test run\'s temporary folder', () => {
  it('is where this test and the processes it starts write temporary files', () => {
    expect(path.basename(os.tmpdir())).toMatch(/^mmsafe-test-run-\d+$/);
    expect(path.dirname(os.tmpdir())).toBe(systemTmpdir());
    const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(require("node:os").tmpdir())']);
    expect(child.stdout.toString()).toBe(os.tmpdir());
  });

  it('of a run whose process is gone is removed by the next run; a live run\'s is left alone', () => {
    const dead = path.join(parent, `mmsafe-test-run-${deadPid()}`);
    const live = path.join(parent, `mmsafe-test-run-${process.pid}`);
    const other = path.join(parent, 'mmsafe-test-run-notapid');
    for (const d of [dead, live, other]) mkdirSync(path.join(d, 'left-behind'), { recursive: true });
    expect(sweepRunRoots(parent)).toEqual([dead]);
    expect([existsSync(dead), existsSync(live), existsSync(other)]).toEqual([false, true, true]);
  });

  it('is removed when its run leaves it, and the environment is as it was', () => {
    const before = { TMPDIR: process.env.TMPDIR, system: process.env.MMSAFE_TEST_SYSTEM_TMPDIR };
    const run = enterRunRoot();
    try {
      expect(os.tmpdir()).toBe(run.root);
      mkdirSync(path.join(run.root, 'a', 'b'), { recursive: true });
    } finally {
      run.leave();
    }
    expect(existsSync(run.root)).toBe(false);
    expect({ TMPDIR: process.env.TMPDIR, system: process.env.MMSAFE_TEST_SYSTEM_TMPDIR }).toEqual(before);
  });
});
