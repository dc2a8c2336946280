import { execFileSync, spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';

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

/** One cluster per test process, stopped when the process exits. */
function throwawayCluster(): Promise<string | undefined> {
  cluster ??= startCluster();
  return cluster;
}

function postgresBin(): string | undefined {
  const root = '/usr/lib/postgresql';
  if (!existsSync(root)) return undefined;
  const versions = readdirSync(root).filter((v) => existsSync(path.join(root, v, 'bin/initdb'))).sort((a, b) => Number(b) - Number(a));
  return versions[0] ? path.join(root, versions[0], 'bin') : undefined;
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

async function startCluster(): Promise<string | undefined> {
  const bin = postgresBin();
  if (!bin) return undefined;
  // PostgreSQL refuses to run as root: as root, run it as the postgres user the package created.
  const asRoot = process.getuid?.() === 0;
  if (asRoot && spawnSync('id', ['postgres']).status !== 0) return undefined;
  const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pg-'));
  const data = path.join(dir, 'data');
  const run = (cmd: string, args: string[]) =>
    asRoot ? execFileSync('runuser', ['-u', 'postgres', '--', path.join(bin, cmd), ...args], { stdio: 'pipe' }) : execFileSync(path.join(bin, cmd), args, { stdio: 'pipe' });
  try {
    if (asRoot) {
      const uid = Number(execFileSync('id', ['-u', 'postgres']).toString());
      const gid = Number(execFileSync('id', ['-g', 'postgres']).toString());
      chownSync(dir, uid, gid);
    }
    run('initdb', ['-D', data, '-U', 'postgres', '--auth=trust', '--no-sync', '-E', 'UTF8']);
    const port = await freePort();
    run('pg_ctl', ['-D', data, '-l', path.join(dir, 'log'), '-w', '-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200`, 'start']);
    process.on('exit', () => {
      try {
        run('pg_ctl', ['-D', data, '-m', 'immediate', 'stop']);
      } catch {
        // already gone
      }
      rmSync(dir, { recursive: true, force: true });
    });
    return `postgres://postgres@127.0.0.1:${port}/postgres`;
  } catch (error) {
    process.stderr.write(`could not start a throwaway PostgreSQL: ${(error as Error).message}\n`);
    return undefined;
  }
}
