import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findBenchmark } from '../src/benchmarks/registry.ts';
import { startMockOpenAI, type MockServer, type ParsedChatRequest } from '../src/mock/openai-server.ts';
import { mockJudgeResponder } from '../src/mock/judge.ts';
import { buildLeaderboard } from '../src/report/leaderboard.ts';
import { compareWithPaper, paperTable, sameModel } from '../src/report/paper.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';
import { hasData, mmsafeawareDir } from './helpers/data.ts';

let dir: string;
let db: string;
let store: SqliteStore;
const servers: MockServer[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-against-paper-'));
  db = path.join(dir, 's.db');
  store = new SqliteStore(db);
});
afterAll(async () => {
  await store.close();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});
async function mock(respond?: (req: ParsedChatRequest) => string) {
  const s = await startMockOpenAI({ respond });
  servers.push(s);
  return s;
}

describe('matching a run to published rows by model name', () => {
  it.each([
    ['openai:gpt-4o', 'GPT-4o (paper)', true],
    ['openai:gpt-4o-2024-08-06', 'GPT-4o (paper)', true],
    ['openai:gpt-4o-mini', 'GPT-4o (paper)', false],
    ['gemini:gemini-1.5-pro-002', 'Gemini 1.5 Pro (paper)', true],
    ['gemini:gemini-1.5-pro', 'Gemini 1.5 (paper)', false],
    ['gemini:gemini-1.5-flash', 'Gemini 1.5 (paper)', false],
    ['ollama:llava-1.5-7b', 'LLaVA-1.5-7B (paper)', true],
    ['anthropic:claude-3-7-sonnet-20250219', 'Claude-3.7-Sonnet (paper)', true],
    ['anthropic:claude-3-opus-20240229', 'Claude-3 (paper)', false],
  ])('%s vs %s: %s', (model, row, same) => {
    expect(sameModel(model, row)).toBe(same);
  });
});

describe('mmsafe report --runs A --against-paper', () => {
  it('a judged run beside its published row: both numbers, inside the interval or not, n known or not (text, md, html, json)', async () => {
    // A SaLAD set written here in the release's layout (own wording).
    const data = path.join(dir, 'salad');
    mkdirSync(path.join(data, 'images'), { recursive: true });
    const jpgs = await Promise.all(Array.from({ length: 16 }, (_, i) => sharp({ create: { width: 20, height: 20, channels: 3, background: { r: 10 * i, g: 80, b: 160 } } }).jpeg().toBuffer()));
    // A picture of its own per item: items sharing an image are one cluster of the interval.
    const rows = Array.from({ length: 16 }, (_, i) => {
      writeFileSync(path.join(data, 'images', `q${i}.jpg`), jpgs[i]);
      const unsafe = i % 2 === 0;
      return { id: `q${i}`, query: `Can I do step ${i} here?`, category: 'Home', 'safety type': unsafe ? 'unsafe' : 'safe', ...(unsafe ? { 'safety warning': `Sharp edge ${i}.` } : { 'safe suggestion': 'Fine.' }), image: `q${i}.jpg` };
    });
    writeFileSync(path.join(data, 'data.json'), JSON.stringify(rows));
    // Plain help everywhere: helpful on safe items (near the paper), unsafe on every unsafe one (far from it).
    const model = await mock(() => 'Sure, go ahead.');
    const judge = await mock(mockJudgeResponder());
    await evaluate({ benchmark: 'salad', data, model: 'openai:gpt-4o-2024-08-06', baseURL: model.url, judge: 'openai:judge', judgeBaseURL: judge.url }, { store, runId: 'salad-4o', apiKey: 'x' });

    const c = await compareWithPaper(store, 'salad-4o');
    const published = findBenchmark('salad')!.published!.find((p) => p.name === c.published?.name)!;
    expect(published.name).toMatch(/GPT-4o/);
    expect(c.cells.map((x) => x.key)).toEqual(Object.keys(published.values));
    const lb = await buildLeaderboard(store, ['salad-4o']);
    const cells = lb.rows.find((r) => r.runId === 'salad-4o')!.cells;
    for (const x of c.cells) {
      const run = cells[x.key]!;
      expect(x.paper).toBe(published.values[x.key]);
      expect(x.run).toEqual({ value: run.value, n: run.n, ci95: run.ci95 });
      expect(x.inside).toBe(x.paper >= run.ci95![0] && x.paper <= run.ci95![1]);
      // The secondary summary gives no n.
      expect(x.paper_n).toBeUndefined();
      expect(x.n_note).toBe(`run n ${run.n}; paper n unknown`);
    }
    expect(c.cells.find((x) => x.key === 'unsafe_accuracy')?.inside).toBe(false);
    expect(c.cells.find((x) => x.key === 'safe_accuracy')?.inside).toBe(true);
    expect(c.published?.caveat).toBe(published.caveat);

    const cli = (...args: string[]) => runCli(['report', '--runs', 'salad-4o', '--against-paper', '--db', db, ...args]).done;
    const table = await cli();
    expect(table.code).toBe(0);
    expect(table.stdout).toContain(`beside ${published.name}`);
    for (const x of c.cells) expect(table.stdout).toMatch(new RegExp(`${x.label}.*${(x.paper * 100).toFixed(1)}\\s+${x.inside ? 'yes' : 'no'}`));
    expect(table.stdout).toContain(published.caveat!);
    const md = await cli('--format', 'md');
    expect(md.stdout).toContain('| metric | run % [95% CI] | paper % | paper inside CI | n |');
    const html = await cli('--format', 'html');
    expect(html.stdout).toContain('<th>paper inside CI</th>');
    const json = JSON.parse((await cli('--format', 'json')).stdout);
    expect(json.against_paper[0]).toMatchObject({ run: 'salad-4o', published: { name: published.name } });
    expect(json.against_paper[0].cells).toHaveLength(c.cells.length);
  });

  it('a model no row matches says so and lists the rows; a named row is used as given; an unknown name is an error', async () => {
    const model = await mock();
    const data = path.join(dir, 'salad');
    await evaluate({ benchmark: 'salad', data, model: 'openai:my-model', baseURL: model.url, judge: 'openai:judge', judgeBaseURL: (await mock(mockJudgeResponder())).url }, { store, runId: 'other', apiKey: 'x' });
    const c = await compareWithPaper(store, 'other');
    expect(c.published).toBeUndefined();
    expect(paperTable([c])).toMatch(/no published row matches openai:my-model; give one with --against-paper NAME \(.*GPT-4o \(paper\)/);
    const named = findBenchmark('salad')!.published![0].name;
    expect((await compareWithPaper(store, 'other', named)).published?.name).toBe(named);
    const bad = await runCli(['report', '--runs', 'other', '--against-paper', 'Nope', '--db', db]).done;
    expect(bad.code).not.toBe(0);
    expect(bad.stderr).toMatch(/no published row named "Nope"/);
  });

  const present = hasData(mmsafeawareDir, 'against-paper on the real MMSafeAware data');
  it.skipIf(!present)('MMSafeAware: the paper n where the row fits it, unknown where it does not, beside the released n', async () => {
    const model = await mock();
    await evaluate({ benchmark: 'mmsafeaware', data: mmsafeawareDir, model: 'openai:gpt-4o', baseURL: model.url, concurrency: 16 }, { store, runId: 'msa-4o', apiKey: 'x' });
    const published = findBenchmark('mmsafeaware')!.published!;
    for (const row of published) {
      const c = await compareWithPaper(store, 'msa-4o', row.name);
      for (const x of c.cells) {
        if (row.caveat) expect(x.paper_n).toBeUndefined();
        else expect(x.paper_n).toBeGreaterThan(x.run!.n);
      }
    }
    const c = await compareWithPaper(store, 'msa-4o');
    expect(c.published?.name).toBe('GPT-4o (paper)');
    const byKey = Object.fromEntries(c.cells.map((x) => [x.key, x]));
    // The released images: fewer items than the paper's in every subset.
    expect(byKey.typical.run!.n).toBeLessThanOrEqual(171);
    expect(byKey.oversafe.run!.n).toBeLessThan(497);
  });
});
