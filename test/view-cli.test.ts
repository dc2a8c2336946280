import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-view-cli-'));
  // view never creates a database: these tests open an existing (empty) one.
  await new SqliteStore(path.join(dir, 'v.db')).close();
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Resolves once `check` holds, polling; the test's own timeout bounds it. */
async function until(check: () => boolean): Promise<void> {
  while (!check()) await new Promise((r) => setTimeout(r, 50));
}

describe('mmsafe view', () => {
  it('a port in use is a usage error (exit 2) that says to drop --port', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await runCli(['view', '--db', path.join(dir, 'v.db'), '--port', String(port)]).done;
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`port ${port} is in use.*drop --port`));
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
    } finally {
      await new Promise((r) => blocker.close(r));
    }
  });

  it('--open hands the URL to the browser ($BROWSER)', async () => {
    const seen = path.join(dir, 'opened.txt');
    const browser = path.join(dir, 'browser.sh');
    writeFileSync(browser, `#!/bin/sh\necho "$1" > "${seen}"\n`);
    chmodSync(browser, 0o755);
    const { child, done } = runCli(['view', '--db', path.join(dir, 'v.db'), '--open'], { BROWSER: browser });
    let stdout = '';
    child.stdout!.on('data', (d) => (stdout += d));
    try {
      await until(() => /mmsafe viewer: http/.test(stdout) && existsSync(seen) && readFileSync(seen, 'utf8').includes('\n'));
      const url = /mmsafe viewer: (\S+)/.exec(stdout)![1];
      expect(readFileSync(seen, 'utf8').trim()).toBe(url);
    } finally {
      child.kill('SIGTERM');
      await done;
    }
  }, 20_000);
});
