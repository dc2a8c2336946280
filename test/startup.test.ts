// `mmsafe --help` and `--version` start fast because they load nothing but commander and the
// command table: checked on the modules a traced start-up resolves (never on a time).
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { SqliteStore } from '../src/store/sqlite.ts';
import { cliPath } from './helpers/cli.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-startup-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

// A module hook that writes every module URL resolved to stderr, one line each.
writeFileSync(path.join(dir, 'hooks.mjs'), "export async function resolve(s, c, next) { const r = await next(s, c); process._rawDebug('LOADED ' + r.url); return r; }\n");
writeFileSync(path.join(dir, 'trace.mjs'), `import { register } from 'node:module';\nregister(${JSON.stringify(pathToFileURL(path.join(dir, 'hooks.mjs')).href)});\n`);

/** The npm packages a run of `mmsafe ...args` loaded. */
function packagesLoaded(args: string[]): { status: number | null; stdout: string; packages: Set<string> } {
  const r = spawnSync(process.execPath, ['--import', pathToFileURL(path.join(dir, 'trace.mjs')).href, cliPath, ...args], { cwd: dir, encoding: 'utf8' });
  const packages = new Set(
    [...r.stderr.matchAll(/^LOADED .*\/node_modules\/((?:@[^/]+\/)?[^/]+)\//gm)].map((m) => m[1]),
  );
  return { status: r.status, stdout: r.stdout, packages };
}

const HEAVY = ['hono', '@hono/node-server', 'better-sqlite3', 'pg', 'zod', 'openai', '@anthropic-ai/sdk', '@google/genai', 'sharp', 'vega', 'vega-lite', 'csv-parse', 'tar'];

describe('start-up', () => {
  it('--help and --version load commander only (no server, store, schema or SDK module)', () => {
    for (const args of [['--help'], ['--version'], ['help']]) {
      const r = packagesLoaded(args);
      expect(r.status, args.join(' ')).toBe(0);
      expect([...r.packages], args.join(' ')).toEqual(['commander']);
    }
    const help = packagesLoaded(['--help']).stdout;
    // Every command is still listed, as its definition describes it.
    for (const name of ['run', 'runs', 'report', 'view', 'worker', 'data', 'demo', 'merge [options] <shards...>']) expect(help).toContain(`  ${name}`);
  });

  it('a command loads what it needs, and only that (the trace sees real loads)', async () => {
    const db = path.join(dir, 'x.db');
    await new SqliteStore(db).close();
    const runs = packagesLoaded(['runs', '--db', db]);
    expect(runs.status).toBe(0);
    expect(runs.packages.has('better-sqlite3')).toBe(true);
    expect(runs.packages.has('hono')).toBe(false);
    expect(runs.packages.has('openai')).toBe(false);
    for (const p of HEAVY.filter((p) => !['better-sqlite3', 'zod'].includes(p))) expect(runs.packages.has(p), p).toBe(false);
  });

  it('the full command list equals what each command defines (name, options, arguments, description)', async () => {
    const { Command } = await import('commander');
    const { COMMANDS } = await import('../src/cli/commands.ts');
    const help = new Command().createHelp();
    for (const c of COMMANDS) {
      const program = new Command();
      (await c.load())(program);
      const defined = program.commands.find((x) => x.name() === c.name)!;
      expect(help.subcommandTerm(defined)).toBe(c.term);
      expect(defined.description()).toBe(c.summary);
    }
  });
});
