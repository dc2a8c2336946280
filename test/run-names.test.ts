// Run names people can type, the next steps printed after a run, and runs that failed looking failed.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runLabels } from '../src/report/run-labels.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { startViewer } from '../src/viewer/serve.ts';
import { runCli } from './helpers/cli.ts';
import { closedPort } from './helpers/net.ts';

let dir: string;
let db: string;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-names-'));
  db = path.join(dir, 'runs.db');
  await writeDemoBenchmark(dir);
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const cli = (args: string[]) => runCli([...args, '--db', db]).done;
const run = (...args: string[]) => cli(['run', '--benchmark', 'demo', '--data', dir, '--quiet', ...args]);

describe('run names', () => {
  it('a run is named after its model, -2 when taken, and the next steps name it', async () => {
    const first = await run('--model', 'baseline:always-unsafe');
    expect(first.code, first.stderr).toBe(0);
    expect(first.stderr).toMatch(/run always-unsafe: /);
    const second = await run('--model', 'baseline:always-unsafe');
    expect(second.stderr).toMatch(/run always-unsafe-2: /);
    // What to type next, with the real names and this database.
    expect(second.stderr).toContain(`mmsafe view --db ${db}`);
    expect(second.stderr).toContain(`mmsafe report --db ${db} --runs always-unsafe-2,always-unsafe --format html --out report.html`);
    const third = await run('--model', 'baseline:random', '--method', 'safety-prompt');
    expect(third.stderr).toMatch(/run random-safety-prompt: /);
    const listed = JSON.parse((await cli(['runs', '--json'])).stdout) as { id: string; createdAt: string }[];
    expect(listed.map((r) => r.id).sort()).toEqual(['always-unsafe', 'always-unsafe-2', 'random-safety-prompt']);
    expect(listed.every((r) => /^\d{4}-\d\d-\d\d/.test(r.createdAt))).toBe(true);
  });

  it('commands take a unique prefix or latest, and say "did you mean" otherwise', async () => {
    const latest = await cli(['report', '--run', 'latest', '--format', 'json']);
    expect(latest.code, latest.stderr).toBe(0);
    expect(JSON.parse(latest.stdout).run_id).toBe('random-safety-prompt');
    const prefix = await cli(['report', '--run', 'rand', '--format', 'json']);
    expect(JSON.parse(prefix.stdout).run_id).toBe('random-safety-prompt');
    // The full name wins over the longer names it is a prefix of.
    const exact = await cli(['export', '--run', 'always-unsafe', '--format', 'csv']);
    expect(exact.code, exact.stderr).toBe(0);

    const ambiguous = await cli(['report', '--run', 'always']);
    expect(ambiguous.code).toBe(2);
    expect(ambiguous.stderr).toMatch(/"always" matches 2 runs: always-unsafe-2, always-unsafe; give more of the name/); // newest first
    const typo = await cli(['export', '--run', 'alwys-unsafe']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toMatch(/no run named "alwys-unsafe".*did you mean always-unsafe/);
    const leaderboard = await cli(['report', '--runs', 'always-unsafe-2,rand', '--format', 'md']);
    expect(leaderboard.code, leaderboard.stderr).toBe(0);
    expect(leaderboard.stdout).toMatch(/random-safety-prompt/);
    const resumed = await cli(['run', '--resume', 'latest', '--quiet']);
    expect(resumed.code, resumed.stderr).toBe(0);
    expect(resumed.stderr).toMatch(/run random-safety-prompt \(resumed\)/);
  });
});

describe('failed runs', () => {
  it('a run where every sample failed is stored as failed with its reason; runs, report and the viewer show it', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const r = await run('--model', 'openai:ghost', '--base-url', url, '--no-preflight', '--max-attempts', '1');
    expect(r.code).toBe(1);
    const runs = await cli(['runs']);
    expect(runs.stdout).toMatch(/^ghost\s+demo\s+openai:ghost\s+26\/26\s+26\s+failed /m);
    expect(runs.stdout).toMatch(/^ghost failed: every sample failed \(26\); network x26: .*ECONNREFUSED/m);
    const json = JSON.parse((await cli(['runs', '--json'])).stdout) as { id: string; status: string; failure?: string }[];
    expect(json.find((x) => x.id === 'ghost')).toMatchObject({ status: 'failed', failure: expect.stringMatching(/ECONNREFUSED/) });
    expect(json.filter((x) => x.id !== 'ghost').every((x) => x.status === 'done' && x.failure === undefined)).toBe(true);
    const report = await cli(['report', '--run', 'ghost']);
    expect(report.stderr).toMatch(/ghost failed: every sample failed/);

    const store = new SqliteStore(db);
    const viewer = await startViewer(store);
    try {
      const home = await (await fetch(viewer.url)).text();
      // "compare all" leaves the failed run out; the list shows it failed, with the reason on hover.
      const compareAll = /href="\/compare\?runs=([^"]+)"/.exec(home)?.[1];
      expect(decodeURIComponent(compareAll!).split(',').sort()).toEqual(['always-unsafe', 'always-unsafe-2', 'random-safety-prompt']);
      expect(home).toMatch(/<span class="bad" title="every sample failed \(26\); network x26[^"]*">failed<\/span>/);
      // The viewer counts done/total as `mmsafe runs` does.
      expect(home).toMatch(/26\/26/);
      const page = await (await fetch(new URL('/runs/ghost', viewer.url))).text();
      expect(page).toMatch(/id="failure">failed: every sample failed/);
    } finally {
      await viewer.close();
      await store.close();
    }
  });
});

describe('what tables, sentences and charts call a run', () => {
  const run = (id: string, model: string, settings: { method?: string; ablation?: string } = {}) => ({ id, model, config: { run: settings } }) as unknown as Parameters<typeof runLabels>[0][number];

  it('the model name with method and ablation; the run id only to tell apart runs that would share one', () => {
    const labels = runLabels([
      run('mmsafeaware-openai-gpt-4o-20261130-101500', 'openai:gpt-4o'),
      run('qwen-cot-run', 'openai:Qwen/Qwen2.5-VL-7B', { method: 'cot', ablation: 'text-only' }),
      run('claude-sonnet-4-5', 'anthropic:claude-sonnet-4-5'),
      run('claude-sonnet-4-5-2', 'anthropic:claude-sonnet-4-5'),
      run('sonnet-on-bedrock', 'anthropic:claude-sonnet-4-5'),
    ]);
    expect([...labels.values()]).toEqual(['gpt-4o', 'Qwen2.5-VL-7B cot text-only', 'claude-sonnet-4-5', 'claude-sonnet-4-5-2', 'claude-sonnet-4-5 [sonnet-on-bedrock]']);
  });
});
