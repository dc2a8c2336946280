import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/data.ts';
import { CLUSTER_PREFIX, sweepClusters } from './helpers/postgres.ts';

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

/** A test process holding a throwaway cluster: its URL, and a way to kill it with SIGKILL. */
async function holder(env: NodeJS.ProcessEnv): Promise<{ url: string; pid: number; kill: () => Promise<void> }> {
  const script = path.join(dir, 'holder.mts');
  writeFileSync(script, `import { testDatabase } from ${JSON.stringify(path.join(repoRoot, 'test/helpers/postgres.ts'))};\nconst db = await testDatabase();\nconsole.log(db?.url ?? 'none');\nsetInterval(() => undefined, 1000);\n`);
  const childEnv = { ...process.env, ...env };
  delete childEnv.MMSAFE_TEST_POSTGRES_URL;
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run-ts.js'), script], { env: childEnv, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('\n')) resolve(out.trim());
    });
    child.on('exit', () => reject(new Error(`holder exited early: ${out}`)));
  });
  const gone = new Promise((resolve) => child.on('exit', resolve));
  return { url, pid: child.pid!, kill: async () => void (child.kill('SIGKILL'), await gone) };
}

/** The cluster directories that name `pid` as their owner. */
const clustersOf = (pid: number) =>
  readdirSync(path.dirname(CLUSTER_PREFIX))
    .filter((n) => n.startsWith(path.basename(CLUSTER_PREFIX)) && !n.startsWith('mmsafe-pg-helper-'))
    .filter((n) => {
      try {
        return JSON.parse(readFileSync(path.join(path.dirname(CLUSTER_PREFIX), n, 'owner.json'), 'utf8')).pid === pid;
      } catch {
        return false;
      }
    });

describe.skipIf(!canStart)('the throwaway PostgreSQL of the tests', () => {
  it('does not outlive a test process that is killed: its watchdog stops and removes it', async () => {
    const h = await holder({});
    expect(h.url).toMatch(/^postgres:\/\//);
    expect(clustersOf(h.pid)).toHaveLength(1);
    await h.kill();
    // The watchdog polls for its owner; wait for it rather than for a fixed time.
    while (clustersOf(h.pid).length) await new Promise((r) => setTimeout(r, 100));
    expect(await reachable(h.url)).toBe(false);
  });

  it('without its watchdog, a killed process leaves a cluster the sweep stops and removes', async () => {
    const h = await holder({ MMSAFE_TEST_PG_WATCHDOG: '0' });
    expect(h.url).toMatch(/^postgres:\/\//);
    await h.kill();
    // Killed, it could not stop its cluster: still up.
    expect(await reachable(h.url)).toBe(true);
    const removed = sweepClusters();
    expect(removed.length).toBeGreaterThanOrEqual(1);
    expect(await reachable(h.url)).toBe(false);
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
