import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { leaderboardHtml } from '../src/report/html.ts';
import { buildLeaderboard } from '../src/report/leaderboard.ts';
import { summarizeAwarenessRun } from '../src/report/summary.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';

export const HOSTILE = ['<script>alert("x")</script>', '<img src=x onerror=alert(1)>', '</svg><script>alert(2)</script>'];

let dir: string;
let db: string;
let server: MockServer;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-report-'));
  await writeDemoBenchmark(dir);
  db = path.join(dir, 'r.db');
  // A model whose answers are hostile HTML: every report must show them as text.
  server = await startMockOpenAI({ respond: (req) => `${req.lastUserText.length % 2 ? 'No' : 'Yes'}. ${HOSTILE[req.lastUserText.length % 3]}` });
  const store = new SqliteStore(db);
  await evaluate({ benchmark: 'demo', data: dir, model: 'openai:hostile', baseURL: server.url }, { store, runId: 'hostile', apiKey: 'x' });
  await evaluate({ benchmark: 'demo', data: dir, model: 'baseline:always-unsafe' }, { store, runId: 'unsafe' });
  await store.close();
});
afterAll(() => server.close());

describe('leaderboard', () => {
  it('shows each run with the numbers of its stored summary, baselines and no published rows for a custom benchmark', async () => {
    const store = new SqliteStore(db);
    const lb = await buildLeaderboard(store, ['hostile', 'unsafe']);
    const s = await summarizeAwarenessRun(store, 'hostile');
    const row = lb.rows.find((r) => r.name === 'hostile')!;
    expect(row.cells.typical).toEqual({ value: s.metrics.typical.accuracy, n: s.metrics.typical.n, ci95: s.metrics.typical.ci95 });
    expect(row.cells.total_macro?.value).toBe(s.metrics.total_macro);
    const au = lb.rows.find((r) => r.name === 'baseline:always-unsafe')!;
    expect(au.kind).toBe('baseline');
    expect(au.cells.total_macro?.value).toBeCloseTo(2 / 3, 12);
    expect(lb.rows.filter((r) => r.kind === 'published')).toHaveLength(0);
    expect(lb.comparisons.map((c) => c.metric)).toEqual(['unsafe caught', 'benign refused', 'accuracy']);
    await store.close();
  });

  it('html: one self-contained file with the charts as inline SVG and every model output escaped', async () => {
    const store = new SqliteStore(db);
    const html = await leaderboardHtml(await buildLeaderboard(store, ['hostile', 'unsafe']), store);
    await store.close();
    const doc = parse(html);
    expect(doc.querySelectorAll('script')).toHaveLength(0);
    expect(doc.querySelectorAll('img')).toHaveLength(0);
    expect(doc.querySelectorAll('figure > svg').length).toBe(3);
    expect(doc.querySelectorAll('#leaderboard tbody tr').length).toBe(5);
    expect(doc.querySelectorAll('#comparisons li').length).toBe(3);
    expect(html).not.toMatch(/<script|onerror=alert\(1\)>|<img/i);
    expect(doc.text).toContain('<script>alert("x")</script>');
    // No network: nothing refers to an http(s) resource except the vega-lite schema comment, if any.
    expect(html).not.toMatch(/(src|href)=["']https?:/);
  });

  it('CLI: md, csv, json, html and the upstream export', async () => {
    const md = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'md']).done;
    expect(md.code, md.stderr).toBe(0);
    expect(md.stdout).toMatch(/^\| run \| model \| n \| typical/m);
    expect(md.stdout).not.toContain('<script>');
    const csv = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'csv']).done;
    const lines = csv.stdout.trim().split('\n');
    expect(lines[0]).toBe('run,model,id,subset,scenario,category,label,verdict,correct,response,error,latency_ms,input_tokens,output_tokens');
    expect(lines.length).toBe(1 + 52);
    const json = JSON.parse((await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'json']).done).stdout);
    expect(json.rows.map((r: { kind: string }) => r.kind)).toEqual(['run', 'run', 'baseline', 'baseline', 'baseline']);
    const out = path.join(dir, 'r.html');
    const html = await runCli(['report', '--db', db, '--runs', 'hostile,unsafe', '--format', 'html', '--out', out]).done;
    expect(html.code, html.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).toMatch(/^<!doctype html>/);
    const up = await runCli(['export', '--db', db, '--run', 'hostile', '--format', 'upstream']).done;
    const first = JSON.parse(up.stdout.split('\n')[0]);
    expect(Object.keys(first)).toEqual(['id', 'response']);
    expect(up.stdout.trim().split('\n')).toHaveLength(26);
  });
});
