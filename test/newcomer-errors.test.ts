// Small mistakes a newcomer makes get an answer that names the fix.
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runCli } from './helpers/cli.ts';
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

  it('--data at the wrong folder suggests mmsafe data pull', async () => {
    const empty = path.join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    const r = await runCli(['run', '--benchmark', 'mmsafeaware', '--data', empty, '--model', 'baseline:always-unsafe', '--db', path.join(dir, 'x.db')]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/mmsafe data pull mmsafeaware/);
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
