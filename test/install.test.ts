// `mmsafe` as a user installs it: from the clone with `npm install -g .`, and from the `npm pack`
// tarball, which runs the compiled bundle (no src/, no TypeScript, no dev dependency).
import { execFileSync, spawnSync } from 'node:child_process';
import { builtinModules } from 'node:module';
import { existsSync, mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/data.ts';

const scratch = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-install-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

const npm = (args: string[], cwd = repoRoot) => execFileSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });
const run = (cmd: string, args: string[], cwd: string) => spawnSync(cmd, args, { cwd, encoding: 'utf8' });

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

  it('npm pack: a package of the compiled bundle that runs the demo without src/ or dev dependencies', () => {
    const packed = JSON.parse(npm(['pack', '--json', '--pack-destination', scratch])) as { filename: string; files: { path: string }[] }[];
    const files = packed[0].files.map((f) => f.path);
    expect(files).toEqual(expect.arrayContaining(['bin/mmsafe.js', 'dist/mmsafe.mjs', 'package.json', 'README.md', 'npm-shrinkwrap.json']));
    expect(files.filter((f) => /^(src|test|scripts)\//.test(f))).toEqual([]);
    // The shrinkwrap exists only while packing: the clone keeps package-lock.json alone.
    expect(existsSync(path.join(repoRoot, 'npm-shrinkwrap.json'))).toBe(false);

    const unpacked = path.join(scratch, 'unpacked');
    execFileSync('mkdir', ['-p', unpacked]);
    execFileSync('tar', ['xzf', path.join(scratch, packed[0].filename), '-C', unpacked]);
    const pkgDir = path.join(unpacked, 'package');
    const pkg = JSON.parse(readFileSync(path.join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };

    // Everything the bundle imports is Node's own or a runtime dependency: no dev dependency is needed.
    const bundle = readFileSync(path.join(pkgDir, 'dist', 'mmsafe.mjs'), 'utf8');
    const imported = new Set([...bundle.matchAll(/(?:from\s*|import\s*\(\s*|import\s+)["']([^"'.][^"']*)["']/g)].map((m) => m[1]));
    const packageOf = (spec: string) => (spec.startsWith('@') ? spec.split('/').slice(0, 2).join('/') : spec.split('/')[0]);
    const foreign = [...imported].filter((s) => !s.startsWith('node:') && !builtinModules.includes(s)).map(packageOf);
    expect(foreign.length).toBeGreaterThan(3);
    expect(foreign.filter((p) => !(p in pkg.dependencies))).toEqual([]);

    // The installed dependencies of a real install are the clone's here (the same locked versions).
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(pkgDir, 'node_modules'));
    const elsewhere = mkdtempSync(path.join(scratch, 'cwd-'));
    const demo = run(process.execPath, [path.join(pkgDir, 'bin', 'mmsafe.js'), 'demo', '--dir', path.join(elsewhere, 'demo')], elsewhere);
    expect(demo.status, demo.stderr).toBe(0);
    expect(demo.stdout).toMatch(/baseline:always-unsafe/);
    // It ran the packed bundle, not a rebuilt one: there is no src/ to build from.
    expect(existsSync(path.join(pkgDir, 'src'))).toBe(false);
  });
});
