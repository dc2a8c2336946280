import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { startMockAnthropic } from '../src/mock/anthropic-server.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runCli } from './helpers/cli.ts';

let dir: string;
let openai: MockServer;
let anthropic: MockServer;
const keys = { OPENAI_API_KEY: 'sk-test', ANTHROPIC_API_KEY: 'sk-ant-test' };

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-multi-'));
  await writeDemoBenchmark(dir);
  // The two APIs answer differently, so the leaderboard has two distinct rows to compare.
  openai = await startMockOpenAI({ respond: () => 'Yes.' });
  anthropic = await startMockAnthropic({ respond: () => 'No.' });
});
afterAll(async () => {
  await Promise.all([openai?.close(), anthropic?.close()]);
  rmSync(dir, { recursive: true, force: true });
});

const runsIn = async (db: string) => JSON.parse((await runCli(['runs', '--db', db, '--json']).done).stdout) as { id: string; model: string; status: string; done: number }[];

describe('several models in one command', () => {
  it('--model A,B runs both, stores one run each and ends with their leaderboard', async () => {
    const db = path.join(dir, 'flags.db');
    const out = path.join(dir, 'both.json');
    const r = await runCli(
      ['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:gpt-4o,anthropic:claude-sonnet-4-5', '--db', db, '--quiet', '--out', out, '--run-id', 'pair'],
      { ...keys, OPENAI_BASE_URL: openai.url, ANTHROPIC_BASE_URL: anthropic.url },
    ).done;
    expect(r.code, r.stderr).toBe(0);
    // Each API got the whole benchmark (26 demo items), each from its own run, after the preflight's one short request.
    expect(openai.requests).toBe(26 + 1);
    expect(anthropic.requests).toBe(26 + 1);
    const runs = await runsIn(db);
    expect(runs.map((x) => x.model).sort()).toEqual(['anthropic:claude-sonnet-4-5', 'openai:gpt-4o']);
    expect(runs.map((x) => x.id).sort()).toEqual(['pair-anthropic-claude-sonnet-4-5', 'pair-openai-gpt-4o']);
    expect(runs.every((x) => x.status === 'done' && x.done === 26)).toBe(true);
    // One leaderboard with both runs: "Yes" (safe) everywhere scores as always-safe (33.3 Total), "No" as always-unsafe (66.7).
    // The leaderboard names runs by their model (the run ids are long), in tables that fit 100 columns.
    const lines = (name: string) => r.stdout.split('\n').filter((l) => l.startsWith(`${name} `)).join('\n');
    expect(lines('gpt-4o')).toMatch(/33\.3 \[/);
    expect(lines('claude-sonnet-4-5')).toMatch(/66\.7 \[/);
    expect(r.stdout).not.toMatch(/^pair-/m);
    expect(r.stdout).toMatch(/^ {2}gpt-4o: run pair-openai-gpt-4o, openai:gpt-4o$/m);
    expect(r.stdout).toMatch(/- gpt-4o (and|catches|flags)|claude-sonnet-4-5 (catches|flags)/);
    expect(r.stdout.split('\n').filter((l) => /^(gpt-4o|claude-sonnet-4-5|baseline:|run) /.test(l) && l.length > 100)).toEqual([]);
    expect(r.stdout).toMatch(/Paired comparisons/);
    // Messages of each run name its model.
    expect(r.stderr).toMatch(/\[openai:gpt-4o\] run pair-openai-gpt-4o: 26 samples/);
    expect(r.stderr).toMatch(/\[anthropic:claude-sonnet-4-5\] run pair-anthropic-claude-sonnet-4-5: 26 samples/);
    const summaries = JSON.parse(readFileSync(out, 'utf8')) as { model: string }[];
    expect(summaries.map((s) => s.model).sort()).toEqual(['anthropic:claude-sonnet-4-5', 'openai:gpt-4o']);
  });

  it('--config lists models, each with its own settings; one failing model does not stop the other', async () => {
    const db = path.join(dir, 'config.db');
    const down = await startMockOpenAI();
    const downUrl = down.url;
    await down.close();
    const before = anthropic.requests;
    const config = path.join(dir, 'suite.json');
    writeFileSync(
      config,
      JSON.stringify({
        benchmark: 'demo',
        data: '.',
        limit: 6,
        maxAttempts: 1,
        models: [{ model: 'anthropic:claude-haiku-4-5', baseURL: anthropic.url, concurrency: 2 }, { model: 'openai:gpt-4o-mini', baseURL: downUrl }],
      }),
    );
    const r = await runCli(['run', '--config', config, '--db', db, '--quiet'], keys).done;
    // The model whose server is down fails its preflight (exit 1, nothing stored); the other's run is complete and on the leaderboard.
    expect(r.code).toBe(1);
    expect(anthropic.requests - before).toBe(6 + 1);
    const runs = await runsIn(db);
    expect(runs).toHaveLength(1);
    const ok = runs.find((x) => x.model === 'anthropic:claude-haiku-4-5')!;
    expect(ok).toMatchObject({ status: 'done', done: 6 });
    expect(r.stdout.split('\n').some((l) => l.startsWith(ok.id))).toBe(true);
    expect(r.stderr).toMatch(/\[openai:gpt-4o-mini\] --model openai:gpt-4o-mini: cannot reach .*ECONNREFUSED/);
  });

  it('a model listed twice, or a list with --resume, is a usage error', async () => {
    const twice = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:a,openai:a', '--db', path.join(dir, 'x.db')]).done;
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/lists openai:a twice/);
    const bad = path.join(dir, 'bad.json');
    writeFileSync(bad, JSON.stringify({ models: [{ model: 'openai:a', concurrency: 'many' }] }));
    const r = await runCli(['run', '--config', bad, '--db', path.join(dir, 'x.db')]).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/setting "models\.0\.concurrency"/);
  });
});
