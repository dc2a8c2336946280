import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { alive, systemTmpdir } from './temp-root.ts';

/**
 * A real PostgreSQL database for one test file, and how to drop it. `.ci/run` starts a server and
 * sets MMSAFE_TEST_POSTGRES_URL; without it, a throwaway cluster is started from the Debian
 * binaries if they are installed. Undefined (and the tests skip, saying why) when neither works.
 */
export interface TestDatabase {
  url: string;
  drop(): Promise<void>;
}

export const POSTGRES_SKIP_MESSAGE =
  'PostgreSQL tests skipped: set MMSAFE_TEST_POSTGRES_URL to a server (postgres://user:pass@127.0.0.1:5432/postgres) or install Debian postgresql (.ci/run does both)';

export async function testDatabase(): Promise<TestDatabase | undefined> {
  const server = process.env.MMSAFE_TEST_POSTGRES_URL ?? (await throwawayCluster());
  if (!server) return undefined;
  const { default: pg } = await import('pg');
  const admin = new pg.Client({ connectionString: server });
  try {
    await admin.connect();
  } catch (error) {
    process.stderr.write(`PostgreSQL at MMSAFE_TEST_POSTGRES_URL is not reachable: ${(error as Error).message}\n`);
    return undefined;
  }
  const name = `mmsafe_test_${randomBytes(4).toString('hex')}`;
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(server);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: server });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

let cluster: Promise<string | undefined> | undefined;

/**
 * One cluster per test process. It is stopped when the process exits; a process that is killed
 * (vitest ends its workers with a signal) cannot do that, so a detached watchdog stops the cluster
 * once its owner is gone (pg-watchdog.mjs). As a fallback (the watchdog killed too), each cluster
 * directory names its owner, and `sweepClusters` (run by the global setup before and after
 * `npm test`) stops and removes every cluster whose owner is gone.
 */
function throwawayCluster(): Promise<string | undefined> {
  cluster ??= startCluster();
  return cluster;
}

/** Where throwaway clusters live: one directory each, `<prefix>XXXXXX/{data,owner.json,log}`. */
// In the system's temporary folder, not the test run's: the postgres user must reach it, and the
// sweep of a later run must find what a killed run left.
export const CLUSTER_PREFIX = path.join(systemTmpdir(), 'mmsafe-pg-');
const OWNER_FILE = 'owner.json';

interface ClusterOwner {
  /** The test process that started it, and that process's parent (the vitest run). */
  pid: number;
  ppid: number;
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
}

/** PostgreSQL refuses to run as root: as root, it runs as the postgres user the package created. */
function pgArgv(bin: string, cmd: string, args: string[]): string[] {
  return process.getuid?.() === 0 ? ['runuser', '-u', 'postgres', '--', path.join(bin, cmd), ...args] : [path.join(bin, cmd), ...args];
}

function pgCommand(bin: string): (cmd: string, args: string[]) => Buffer {
  return (cmd, args) => {
    const [file, ...rest] = pgArgv(bin, cmd, args);
    return execFileSync(file, rest, { stdio: 'pipe' });
  };
}

/** MMSAFE_TEST_PG_WATCHDOG=0 turns the watchdog off (the test of the sweep needs a cluster left behind). */
function startWatchdog(bin: string, dir: string): void {
  if (process.env.MMSAFE_TEST_PG_WATCHDOG === '0') return;
  const stop = pgArgv(bin, 'pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', 'stop']);
  const script = fileURLToPath(new URL('./pg-watchdog.mjs', import.meta.url));
  // Detached, in a process group of its own: whatever kills the test process and its group spares it.
  spawn(process.execPath, [script, String(process.pid), dir, ...stop], { detached: true, stdio: 'ignore' }).unref();
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as net.AddressInfo).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

function stopCluster(dir: string): void {
  const bin = postgresBin();
  try {
    if (bin && existsSync(path.join(dir, 'data', 'postmaster.pid'))) pgCommand(bin)('pg_ctl', ['-D', path.join(dir, 'data'), '-m', 'immediate', 'stop']);
  } catch {
    // already stopped
  }
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Stops and removes the throwaway clusters whose test process is gone, and with `ownedBy`, also
 * those started by the children of that process (the vitest run that is ending). Clusters of test
 * runs still going on elsewhere on the machine are left alone. Returns the directories removed.
 */
export function sweepClusters(ownedBy?: number): string[] {
  const parent = path.dirname(CLUSTER_PREFIX);
  const removed: string[] = [];
  for (const name of readdirSync(parent)) {
    const dir = path.join(parent, name);
    if (!dir.startsWith(CLUSTER_PREFIX)) continue;
    let owner: ClusterOwner;
    try {
      owner = JSON.parse(readFileSync(path.join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // not one of ours, or still being set up
    }
    if (alive(owner.pid) && owner.ppid !== ownedBy) continue;
    stopCluster(dir);
    removed.push(dir);
  }
  return removed;
}

async function startCluster(): Promise<string | undefined> {
  const bin = postgresBin();
  if (!bin) return undefined;
  if (process.getuid?.() === 0 && spawnSync('id', ['postgres']).status !== 0) return undefined;
  const run = pgCommand(bin);
  const dir = mkdtempSync(CLUSTER_PREFIX);
  const data = path.join(dir, 'data');
  try {
    if (process.getuid?.() === 0) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const port = await freePort();
    // Named before it starts: a process killed from here on leaves a cluster the sweep can find.
    writeFileSync(path.join(dir, OWNER_FILE), JSON.stringify({ pid: process.pid, ppid: process.ppid } satisfies ClusterOwner));
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
    process.on('exit', () => stopCluster(dir));
    startWatchdog(bin, dir);
    return `postgres://postgres@127.0.0.1:${port}/postgres`;
  } catch (error) {
    process.stderr.write(`could not start a throwaway PostgreSQL: ${(error as Error).message}\n`);
    stopCluster(dir);
    return undefined;
  }
}
