// `mmsafe` as a user installs it: from the clone with `npm install -g .`, and from the `npm pack`
// tarball, which runs the compiled bundle with its runtime dependencies inside (no src/, no
// TypeScript, no dev dependency, no registry needed to install it).
import { execFile, execFileSync, spawnSync } from 'node:child_process';
import { promisify } from 'node:util';
import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/data.ts';
import { closedPort } from './helpers/net.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const npm = (args: string[], cwd = repoRoot) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
// The long npm steps run asynchronously: a test blocked for a minute starves vitest's worker messages.
const npmAsync = async (args: string[], cwd = repoRoot) =>
  (await promisify(execFile)('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 })).stdout;
const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8', maxBuffer: 256 * 1024 * 1024 });
const runAsync = (cmd: string, args: string[], cwd: string) =>
  promisify(execFile)(cmd, args, { cwd, encoding: 'utf8' }).then(
    (r) => ({ status: 0, stdout: r.stdout, stderr: r.stderr }),
    (e: { code?: number; stdout?: string; stderr?: string }) => ({ status: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' }),
  );

describe('installing mmsafe', () => {
  it('npm install -g . (offline) gives an `mmsafe` that runs from any directory', () => {
    const prefix = path.join(scratch, 'global');
    npm(['install', '-g', '--offline', '--prefix', prefix, '.']);
    const elsewhere = mkdtempSync(path.join(scratch, 'cwd-'));
    const help = run(path.join(prefix, 'bin', 'mmsafe'), ['--help'], elsewhere);
    expect(help.status, help.stderr).toBe(0);
    expect(help.stdout).toMatch(/Usage: mmsafe/);
    expect(help.stdout).toMatch(/\bdemo\b/);
  });

  it('npm pack: a package of the compiled bundle and its runtime dependencies that installs with no registry and runs the demo', async () => {
    const packed = JSON.parse(await npmAsync(['pack', '--json', '--pack-destination', scratch])) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/mmsafe.js', 'dist/release/mmsafe.mjs', 'package.json', 'README.md', 'npm-shrinkwrap.json']));
    // The packed bundle only: not the clone's own development build beside it.
    expect(files.filter((f) => f.startsWith('dist/') && !f.startsWith('dist/release/'))).toEqual([]);
    expect(files.filter((f) => /^(src|test|scripts)\//.test(f))).toEqual([]);
    // The shrinkwrap and the addon copy exist only while packing: the clone is left as it was.
    expect(existsSync(path.join(repoRoot, 'npm-shrinkwrap.json'))).toBe(false);
    expect(existsSync(path.join(repoRoot, 'node_modules', 'better-sqlite3', 'lib', 'binding'))).toBe(false);

    const pkg = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies: Record<string, string>; bundleDependencies: string[] };
    // Every runtime dependency travels in the tarball, SQLite's compiled addon included; no dev tool does.
    expect(pkg.bundleDependencies.sort()).toEqual(Object.keys(pkg.dependencies).sort());
    const bundled = new Set(files.filter((f) => f.startsWith('node_modules/')).map((f) => f.split('/').slice(1, f.split('/')[1].startsWith('@') ? 3 : 2).join('/')));
    for (const dep of Object.keys(pkg.dependencies)) expect(bundled.has(dep), dep).toBe(true);
    for (const dev of ['vitest', 'typescript', 'esbuild', 'tsx', 'playwright-core', 'node-html-parser']) expect(bundled.has(dev), dev).toBe(false);
    expect(files.some((f) => /^node_modules\/better-sqlite3\/lib\/binding\/.*\/better_sqlite3\.node$/.test(f))).toBe(true);

    const unpacked = path.join(scratch, 'unpacked');
    execFileSync('mkdir', ['-p', unpacked]);
    execFileSync('tar', ['xzf', path.join(scratch, packed[0].filename), '-C', unpacked]);
    // Everything the bundle imports is Node's own or a runtime dependency: no dev dependency is needed.
    const bundle = files.filter((f) => /^dist\/.*\.mjs$/.test(f)).map((f) => readFileSync(path.join(unpacked, 'package', f), 'utf8')).join('\n');
    const imported = new Set([...bundle.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)["']([^"'.][^"']*)["']/g)].map((m) => m[1]));
    const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    const foreign = [...imported].filter((s) => !s.startsWith('node:') && !builtinModules.includes(s)).map(packageOf);
    expect(foreign.length).toBeGreaterThan(3);
    expect(foreign.filter((p) => !(p in pkg.dependencies))).toEqual([]);

    // Offline for real: the registry is a closed loopback port and the npm cache is empty, so
    // nothing can come from anywhere but the tarball. --ignore-scripts keeps the packed addon
    // (same machine type) instead of rebuilding SQLite from source, which takes minutes.
    const prefix = path.join(scratch, 'offline');
    const registry = `http://127.0.0.1:${await closedPort()}/`;
    await npmAsync(['install', '-g', '--offline', '--ignore-scripts', '--prefix', prefix, '--registry', registry, '--cache', path.join(scratch, 'empty-cache'), path.join(scratch, packed[0].filename)], scratch);
    const elsewhere = mkdtempSync(path.join(scratch, 'cwd-'));
    const bin = path.join(prefix, 'bin', 'mmsafe');
    const version = run(bin, ['--version'], elsewhere);
    expect(version.status, version.stderr).toBe(0);
    expect(version.stdout.trim()).toBe('0.1.0');
    const demo = await runAsync(bin, ['demo', '--dir', path.join(elsewhere, 'demo')], elsewhere);
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/baseline:always-unsafe/);
    // It ran the packed bundle with the packed dependencies: no src/ to build from, no clone's node_modules.
    const installed = path.join(prefix, 'lib', 'node_modules', 'mmsafe');
    expect(existsSync(path.join(installed, 'src'))).toBe(false);
    expect(existsSync(path.join(installed, 'node_modules', 'better-sqlite3'))).toBe(true);
  }, 600_000);
});
