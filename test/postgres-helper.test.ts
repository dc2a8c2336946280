import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/data.ts';
import { sweepClusters } from './helpers/postgres.ts';

const canStart = existsSync('/usr/lib/postgresql') && !process.env.MMSAFE_TEST_POSTGRES_URL;
if (!canStart) console.warn('\n*** throwaway PostgreSQL cleanup test skipped: it needs the PostgreSQL binaries and no MMSAFE_TEST_POSTGRES_URL ***\n');

const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pg-helper-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function reachable(url: string): Promise<boolean> {
  const { default: pg } = await import('pg');
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  try {
    await c.connect();
    await c.query('SELECT 1');
    return true;
  } catch {
    return false;
  } finally {
    await c.end().catch(() => undefined);
  }
}

describe.skipIf(!canStart)('the throwaway PostgreSQL of the tests', () => {
  it('does not outlive a test process that is killed: the sweep stops and removes it', async () => {
    const script = path.join(dir, 'holder.mts');
    writeFileSync(script, `import { testDatabase } from ${JSON.stringify(path.join(repoRoot, 'test/helpers/postgres.ts'))};\nconst db = await testDatabase();\nconsole.log(db?.url ?? 'none');\nsetInterval(() => undefined, 1000);\n`);
    const env = { ...process.env };
    delete env.MMSAFE_TEST_POSTGRES_URL;
    const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run-ts.js'), script], { env, stdio: ['ignore', 'pipe', 'inherit'] });
    const url = await new Promise<string>((resolve, reject) => {
      let out = '';
      child.stdout!.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve(out.trim());
      });
      child.on('exit', () => reject(new Error(`holder exited early: ${out}`)));
    });
    expect(url).toMatch(/^postgres:\/\//);
    const gone = new Promise((resolve) => child.on('exit', resolve));
    child.kill('SIGKILL');
    await gone;
    // Killed, it could not stop its cluster: still up.
    expect(await reachable(url)).toBe(true);
    const removed = sweepClusters();
    expect(removed.length).toBeGreaterThanOrEqual(1);
    expect(await reachable(url)).toBe(false);
    for (const d of removed) expect(existsSync(d)).toBe(false);
  });

  it('leaves the clusters of live test processes alone', async () => {
    const { testDatabase } = await import('./helpers/postgres.ts');
    const db = await testDatabase();
    try {
      sweepClusters();
      const { default: pg } = await import('pg');
      const c = new pg.Client({ connectionString: db!.url });
      await c.connect();
      await c.end();
    } finally {
      await db?.drop();
    }
  });
});
