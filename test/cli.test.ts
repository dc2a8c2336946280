import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runCli } from './helpers/cli.ts';

const servers: MockServer[] = [];
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
});

describe('mmsafe CLI', () => {
  it('the offline demo evaluates the baselines and a simulated model and prints the metrics', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-demo-'));
    const { code, stdout, stderr } = await runCli(['demo', '--dir', dir]).done;
    expect(code, stderr).toBe(0);
    const line = (model: string) => stdout.split('\n').find((l) => l.startsWith(model)) ?? '';
    // always-unsafe: 100 on both unsafe subsets, 0 on over-safety, Total 66.7 (as in the paper).
    expect(line('baseline:always-unsafe')).toMatch(/100\.0\s+100\.0\s+0\.0\s+66\.7/);
    expect(line('baseline:always-safe')).toMatch(/0\.0\s+0\.0\s+100\.0\s+33\.3/);
    expect(line('openai:naive-keyword-vlm')).not.toBe('');
  });

  it('a bad flag is one line on stderr and exit code 2', async () => {
    const r = await runCli(['run', '--data', '/nonexistent', '--model', 'openai:x', '--concurrency', 'many']).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/concurrency/);
  });

  it('a missing --data is exit code 2 before any request', async () => {
    const r = await runCli(['run', '--model', 'openai:x']).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--data/);
  });

  it('a rejected API key stops the run with exit 1, names the env var, never prints the key', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-auth-'));
    await writeDemoBenchmark(dir);
    const server = await startMockOpenAI({ faults: () => '401' });
    servers.push(server);
    const key = 'sk-test-SECRET-KEY-123456';
    const r = await runCli(
      // Past the preflight (test/preflight.test.ts), as when a key is revoked during a run.
      ['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:gpt-4o', '--base-url', server.url, '--db', path.join(dir, 'x.db'), '--quiet', '--no-preflight'],
      { OPENAI_API_KEY: key },
    ).done;
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('OPENAI_API_KEY');
    expect(r.stderr + r.stdout).not.toContain(key);
    expect(r.stderr).toMatch(/--resume/);
    // Stopped: only the requests already in flight (default concurrency 8) were sent, not all 26.
    expect(server.requests).toBeLessThanOrEqual(8);
    const runs = await runCli(['runs', '--db', path.join(dir, 'x.db'), '--json']).done;
    expect(JSON.parse(runs.stdout)[0]).toMatchObject({ status: 'failed', failure: expect.stringMatching(/OPENAI_API_KEY was rejected/) });
  });

  it('a server that is down: every sample an error, and the output says why', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-down-'));
    await writeDemoBenchmark(dir);
    // Five rows, one without its image: four can be asked.
    const rows = [1, 2, 3, 4, 5].map((i) => ({ id: `d${i}`, image: i === 5 ? 'images/none.jpg' : `images/scene-${i}.jpg`, prompt: `Sentence ${i}.`, label: 'unsafe' }));
    writeFileSync(path.join(dir, 'set.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const server = await startMockOpenAI();
    const url = server.url;
    await server.close();
    const db = path.join(dir, 'down.db');
    const out = path.join(dir, 'down.json');
    const r = await runCli(['run', '--benchmark', 'custom', '--data', path.join(dir, 'set.jsonl'), '--model', 'openai:m', '--base-url', url, '--db', db, '--run-id', 'down', '--max-attempts', '2', '--quiet', '--out', out, '--no-preflight']).done;
    expect(r.stdout).toMatch(/evaluated 0\/5\s+errors 4/);
    expect(r.stdout).toMatch(/every sample failed/);
    expect(r.stdout).toMatch(/network x4: openai:m: cannot reach http:\/\/127\.0\.0\.1:\d+/);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/every sample failed \(4\); nothing was measured/);
    const summary = JSON.parse(readFileSync(out, 'utf8'));
    expect(summary.counts).toMatchObject({ samples: 5, evaluated: 0, errors: 4 });
    expect(summary.errors_by_kind).toEqual({ network: { count: 4, example: expect.stringMatching(/cannot reach/) } });
    // `mmsafe runs`: done/total over the samples that can be asked, errors apart, status and date.
    const runs = await runCli(['runs', '--db', db]).done;
    expect(runs.stdout.split('\n')[0]).toMatch(/^run\s+benchmark\s+model\s+done\/total\s+errors\s+status\s+created$/);
    // A run that measured nothing is stored as failed, and the reason is printed under the table.
    expect(runs.stdout).toMatch(/down\s+custom\s+openai:m\s+4\/4\s+4\s+failed\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    expect(runs.stdout).toMatch(/^down failed: every sample failed \(4\); network x4: openai:m: cannot reach/m);
  });

  it('--config FILE holds the settings, flags override it, and a bad setting is one line and exit 2', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-config-'));
    await writeDemoBenchmark(dir);
    const fs = await import('node:fs');
    fs.writeFileSync(path.join(dir, 'run.json'), JSON.stringify({ benchmark: 'demo', data: '.', model: 'baseline:always-safe', concurrency: 2 }));
    const ok = await runCli(['run', '--config', path.join(dir, 'run.json'), '--model', 'baseline:always-unsafe', '--db', path.join(dir, 'c.db'), '--run-id', 'cfg', '--quiet']).done;
    expect(ok.code, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/^baseline:always-unsafe on demo/);
    fs.writeFileSync(path.join(dir, 'bad.json'), JSON.stringify({ benchmark: 'demo', data: '.', model: 'baseline:always-safe', concurency: 2 }));
    const bad = await runCli(['run', '--config', path.join(dir, 'bad.json'), '--db', path.join(dir, 'c.db')]).done;
    expect(bad.code).toBe(2);
    expect(bad.stderr.trim()).toMatch(/bad\.json: setting "concurency"/);
    expect(bad.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('runs, report and summary JSON work on a stored run', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-cli-'));
    await writeDemoBenchmark(dir);
    const db = path.join(dir, 'r.db');
    const out = path.join(dir, 'out/summary.json');
    const run = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'baseline:always-unsafe', '--db', db, '--run-id', 'au', '--out', out]).done;
    expect(run.code, run.stderr).toBe(0);
    const summary = JSON.parse((await import('node:fs')).readFileSync(out, 'utf8'));
    expect(summary).toMatchObject({ benchmark: 'demo', protocol: 'awareness', model: 'baseline:always-unsafe', extraction: 'strict' });
    expect(summary.metrics.total_macro).toBeCloseTo(2 / 3, 10);
    const runs = await runCli(['runs', '--db', db]).done;
    expect(runs.stdout).toMatch(/au\s+demo\s+baseline:always-unsafe\s+26\/26\s+0\s+done\s+\d{4}-\d\d-\d\d \d\d:\d\d:\d\d/);
    const listed = JSON.parse((await runCli(['runs', '--db', db, '--json']).done).stdout);
    expect(listed).toEqual([expect.objectContaining({ id: 'au', benchmark: 'demo', model: 'baseline:always-unsafe', done: 26, errors: 0, total: 26, evaluable: 26, status: 'done' })]);
    expect(listed[0]).not.toHaveProperty('config');
    const report = await runCli(['report', '--db', db, '--run', 'au', '--format', 'json']).done;
    expect(JSON.parse(report.stdout)).toEqual(summary);
  });
});
