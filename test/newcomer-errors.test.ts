// Small mistakes a newcomer makes get an answer that names the fix.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { benchmarkNames } from '../src/benchmarks/registry.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runCli } from './helpers/cli.ts';
import { hasData, mmsafeawareDir } from './helpers/data.ts';
import { closedPort } from './helpers/net.ts';

let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-newcomer-'));
  await writeDemoBenchmark(path.join(dir, 'demo'));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('small errors', () => {
  it('a --db that does not exist is a usage error for commands that read, and no database is created', async () => {
    const typo = path.join(dir, 'typo.db');
    for (const args of [['runs'], ['report', '--run', 'latest'], ['export', '--run', 'x'], ['view']]) {
      const r = await runCli([...args, '--db', typo], {}, dir).done;
      expect(r.code, `${args[0]}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(/no database at .*typo\.db/);
    }
    expect(existsSync(typo)).toBe(false);
  });

  it('--data at the wrong folder suggests mmsafe data pull, for every benchmark it can download', async () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    // Response benchmarks need a judge before they read data; a loopback judge is never asked here.
    const judge = ['--judge', 'openai:j', '--judge-base-url', `http://127.0.0.1:${await closedPort()}/v1`];
    const names = benchmarkNames({ pullable: true });
    expect(names.length).toBeGreaterThan(3);
    for (const name of names) {
      const r = await runCli(['run', '--benchmark', name, '--data', empty, '--model', 'baseline:always-unsafe', ...judge, '--db', path.join(dir, 'x.db')], { OPENAI_API_KEY: 'sk-test' }).done;
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`to download it: mmsafe data pull ${name} \\(prints the path to give --data\\)`));
      // Said once, not also in the loader's own words.
      expect(r.stderr.split(`mmsafe data pull ${name}`)).toHaveLength(2);
    }
  });

  it('without --data: the folder data pull filled, else the command that fills it', async () => {
    const cache = path.join(dir, 'cache');
    const env = { MMSAFE_CACHE_DIR: cache };
    const none = await runCli(['run', '--benchmark', 'mmsafeaware', '--model', 'baseline:always-unsafe', '--db', path.join(dir, 'y.db')], env, dir).done;
    expect(none.code).toBe(2);
    expect(none.stderr).toMatch(/--data is required.*mmsafe data pull mmsafeaware downloads it/);
    if (!hasData(mmsafeawareDir, 'a run that finds the pulled MMSafeAware data without --data')) return;
    mkdirSync(path.join(cache, 'data'), { recursive: true });
    symlinkSync(mmsafeawareDir, path.join(cache, 'data', 'mmsafeaware'));
    const pulled = await runCli(['run', '--benchmark', 'mmsafeaware', '--model', 'baseline:always-unsafe', '--limit', '3', '--db', path.join(dir, 'y.db'), '--quiet'], env, dir).done;
    expect(pulled.code, pulled.stderr).toBe(0);
    expect(pulled.stderr).toContain(`--data ${path.join(cache, 'data', 'mmsafeaware')} (where mmsafe data pull put mmsafeaware)`);
  });

  it('data pull that cannot reach its host names the host and suggests --from, for every benchmark', async () => {
    const port = await closedPort();
    for (const name of benchmarkNames({ pullable: true })) {
      const r = await runCli(['data', 'pull', name, '--dir', path.join(dir, 'pulled'), '--from', `http://127.0.0.1:${port}/${name}.tar.gz`]).done;
      expect(r.code, `${name}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toMatch(new RegExp(`cannot reach 127\\.0\\.0\\.1:${port} \\(ECONNREFUSED\\); .*--from URL`));
      expect(r.stderr).not.toMatch(/fetch failed/);
    }
  });

  it('benchmark names are case-insensitive; openai/gpt-4o is answered with the spelling meant', async () => {
    const db = path.join(dir, 'case.db');
    const ok = await runCli(['run', '--benchmark', 'Demo', '--data', path.join(dir, 'demo'), '--model', 'baseline:always-safe', '--db', db, '--quiet']).done;
    expect(ok.code, ok.stderr).toBe(0);
    const slash = await runCli(['run', '--benchmark', 'demo', '--data', path.join(dir, 'demo'), '--model', 'openai/gpt-4o', '--db', db]).done;
    expect(slash.code).toBe(2);
    expect(slash.stderr).toMatch(/did you mean openai:gpt-4o\?/);
    const kind = await runCli(['run', '--benchmark', 'demo', '--data', path.join(dir, 'demo'), '--model', 'OpenAI:gpt-4o', '--db', db]).done;
    expect(kind.stderr).toMatch(/did you mean openai:gpt-4o\?/);
  });
});
