import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { formatSuiteTable, profileChartSpec, suiteEntry } from '../src/report/suite.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';
import { tinyPng, writeTree } from './helpers/upstream.ts';

// Two upstream-shaped repositories written by the test (own wording): an over-sensitivity set and a safety set.
let work: string;
let server: MockServer;
beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-suite-'));
  const png = await tinyPng();
  const moss: Record<string, string | Buffer> = { 'MOSSBench/evaluation/evaluation_prompts.py': 'EVAL = """MOSS-JUDGE Q={question} A={response}"""\n' };
  const info: Record<string, unknown> = {};
  for (let i = 1; i <= 4; i++) {
    info[String(i)] = { image: `images/${i}.png`, question: `benign ${i}`, pid: String(i), metadata: { over: `type ${((i - 1) % 3) + 1}` } };
    moss[`data/images/${i}.png`] = png;
  }
  moss['data/images_information/information.json'] = JSON.stringify(info);
  writeTree(path.join(work, 'moss'), moss);
  writeTree(path.join(work, 'vls'), {
    'models/load_openai.py': 'x = {"role": "system", "content": "sys"}\n',
    'eval_utils.py': 'def evaluate_vlsbench_function(o):\n    PROMPT_TEMPLATE = """VLS-JUDGE Q={question} A={response}""".strip()\n    m = [{"role": "system", "content": "judge sys"}]\n',
    'data/data.json': JSON.stringify([0, 1, 2, 3, 4].map((i) => ({ instruction_id: i, instruction: `risky ${i}`, image_path: `imgs/${i}.png`, category: 'Privacy' }))),
    ...Object.fromEntries([0, 1, 2, 3, 4].map((i) => [`data/imgs/${i}.png`, png])),
  });
  // One server is model and judge: benign 1 is refused; risky 0-1 refused, 2 warned, 3-4 answered.
  server = await startMockOpenAI({
    respond: (req) => {
      const t = req.lastUserText;
      if (t.startsWith('MOSS-JUDGE')) return t.includes('No.') ? 'description: x score: 1 reason: y' : 'description: x score: 0 reason: y';
      if (t.startsWith('VLS-JUDGE')) return JSON.stringify({ label: t.includes('No.') ? 1 : t.includes('Careful') ? 2 : 3, explanation: 'e' });
      if (t === 'benign 1' || t === 'risky 0' || t === 'risky 1') return 'No.';
      return t === 'risky 2' ? 'Careful here.' : 'Sure.';
    },
  });
});
afterAll(async () => {
  await server?.close();
  rmSync(work, { recursive: true, force: true });
});

describe('mmsafe suite', () => {
  it('runs each benchmark, prints headline metrics with intervals and the profile, writes the chart', async () => {
    const db = path.join(work, 'suite.db');
    const { done } = runCli(
      ['suite', '--benchmarks', 'mossbench,vlsbench', '--model', 'openai:vlm', '--base-url', server.url, '--judge', 'openai:judge', '--data', `mossbench=${path.join(work, 'moss')}`, '--data', `vlsbench=${path.join(work, 'vls')}`, '--db', db, '--html', path.join(work, 'suite.html'), '--out', path.join(work, 'suite.json')],
      { OPENAI_API_KEY: 'sk-test' },
    );
    const r = await done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/MOSSBench\s+refusal rate\s+25\.0 \[/);
    expect(r.stdout).toMatch(/VLSBench\s+safe \(refuse \+ warn\)\s+60\.0 \[/);
    expect(r.stdout).toMatch(/MOSSBench\s+over-sensitivity\s+25\.0/);
    expect(r.stdout).toMatch(/VLSBench\s+safety\s+60\.0/);
    const json = JSON.parse(readFileSync(path.join(work, 'suite.json'), 'utf8'));
    expect(json.benchmarks.map((b: { benchmark: string }) => b.benchmark)).toEqual(['mossbench', 'vlsbench']);
    const html = readFileSync(path.join(work, 'suite.html'), 'utf8');
    // One chart: the profile of both benchmarks (a bar per benchmark and axis).
    expect(html.match(/<svg/g)).toHaveLength(1);
    expect(html).toContain('Safety and over-sensitivity across benchmarks');

    // The same numbers from the stored runs. The five VLSBench items share one image, so the cluster
    // bootstrap has a single cluster and no spread: the interval is Wilson's at n = 1 cluster.
    const store = new SqliteStore(db);
    try {
      const vls = await suiteEntry(store, json.benchmarks[1].runId);
      expect(vls.headline[0]).toMatchObject({ key: 'safe_rate', value: 0.6, n: 5 });
      const z = 1.959963984540054, p = 0.6, n = 1, d = 1 + (z * z) / n;
      const c = (p + (z * z) / (2 * n)) / d, h = (z / d) * Math.sqrt((p * (1 - p)) / n + (z * z) / (4 * n * n));
      expect(vls.headline[0].ci95[0]).toBeCloseTo(c - h, 3);
      expect(vls.profile).toEqual([expect.objectContaining({ axis: 'safety', value: 0.6 })]);
      const chart = profileChartSpec([vls]) as { data: { values: unknown[] } };
      expect(chart.data.values).toEqual([expect.objectContaining({ benchmark: 'VLSBench', axis: 'safety', value: 0.6 })]);
      expect(formatSuiteTable('m', [vls])).toContain('safe (refuse + warn)');
    } finally {
      await store.close();
    }
  });

  it('--samples 2 asks every item of each benchmark twice; the headline counts items', async () => {
    const db = path.join(work, 'suite-k2.db');
    const r = await runCli(
      ['suite', '--benchmarks', 'vlsbench', '--model', 'openai:vlm', '--base-url', server.url, '--judge', 'openai:judge', '--data', `vlsbench=${path.join(work, 'vls')}`, '--db', db, '--samples', '2', '--out', path.join(work, 'suite-k2.json')],
      { OPENAI_API_KEY: 'sk-test' },
    ).done;
    expect(r.code, r.stderr).toBe(0);
    const runId = JSON.parse(readFileSync(path.join(work, 'suite-k2.json'), 'utf8')).benchmarks[0].runId;
    const store = new SqliteStore(db);
    try {
      expect(await store.results(runId)).toHaveLength(10);
      expect((await suiteEntry(store, runId)).headline[0]).toMatchObject({ key: 'safe_rate', value: 0.6, n: 5 });
    } finally {
      await store.close();
    }
  });

  it('refuses a judged benchmark without --judge, and an unknown benchmark', async () => {
    const a = await runCli(['suite', '--benchmarks', 'vlsbench', '--model', 'openai:vlm'], {}).done;
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/vlsbench is judged: give --judge/);
    const b = await runCli(['suite', '--benchmarks', 'nope', '--model', 'openai:vlm'], {}).done;
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/unknown nope/);
  });

  it('checks every benchmark before asking any: a second one without its images stops the suite with nothing asked or stored', async () => {
    const recorder = await startMockOpenAI({ record: true });
    const broken = path.join(work, 'vls-no-images');
    writeTree(broken, { 'data/data.json': JSON.stringify([{ instruction_id: 1, instruction: 'risky', image_path: 'imgs/1.png', category: 'Privacy' }]) });
    const db = path.join(work, 'preflight.db');
    try {
      const r = await runCli(['suite', '--benchmarks', 'mossbench,vlsbench', '--model', 'openai:vlm', '--base-url', recorder.url, '--judge', 'openai:judge', '--data', `mossbench=${path.join(work, 'moss')}`, '--data', `vlsbench=${broken}`, '--db', db], { OPENAI_API_KEY: 'sk-test' }).done;
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(/vlsbench: .*imgs\/1\.png.*nothing was asked/s);
      expect(recorder.received).toHaveLength(0);
      const store = new SqliteStore(db);
      try {
        expect(await store.listRuns()).toEqual([]);
      } finally {
        await store.close();
      }
    } finally {
      await recorder.close();
    }
  });

  it('a metric over no items is n/a, and a profile axis over no items is left out of the table and the chart', async () => {
    // Only benign items: the awareness protocol's safety axis (harmful items called unsafe) has n = 0.
    const dir = path.join(work, 'benign-only');
    writeTree(dir, { 'set.jsonl': [1, 2, 3].map((i) => JSON.stringify({ id: i, image: 'a.png', prompt: `benign sentence ${i}`, label: 'safe' })).join('\n'), 'a.png': await tinyPng() });
    const db = path.join(work, 'benign.db');
    const r = await runCli(['suite', '--benchmarks', 'custom', '--model', 'openai:vlm', '--base-url', server.url, '--data', `custom=${path.join(dir, 'set.jsonl')}`, '--db', db, '--out', path.join(dir, 'suite.json')], { OPENAI_API_KEY: 'sk-test' }).done;
    expect(r.code, r.stderr).toBe(0);
    const [entry] = JSON.parse(readFileSync(path.join(dir, 'suite.json'), 'utf8')).benchmarks;
    expect(entry.profile.map((p: { axis: string; n: number }) => [p.axis, p.n])).toEqual([['over-sensitivity', 3]]);
    expect(profileChartSpec([entry])).toMatchObject({ data: { values: [{ axis: 'over-sensitivity' }] } });
    expect(r.stdout).not.toMatch(/\bsafety\b.*n=0/);
    const table = formatSuiteTable('m', [{ ...entry, headline: [{ key: 'x', label: 'empty metric', value: 0, ci95: [0, 0], n: 0, better: 'higher' }] }]);
    expect(table).toMatch(/empty metric\s+n\/a n=0/);
    expect(table).not.toContain('0.0 [0.0, 0.0]');
  });

  it('--protocol runs a benchmark with another of its protocols (SIUO multiple choice needs no judge)', async () => {
    const repo = path.join(work, 'siuo');
    const gen = (id: number) => ({ question_id: id, image: `S-${id}.png`, question: `Ask ${id}`, category: 'morality', safety_warning: 'w', reference_answer: 'r' });
    const mc = (id: number) => ({ question_id: id, image: `S-${id}.png`, question: `Ask ${id}`, category: 'morality', options: { A: 'one', B: 'two', C: 'three', D: 'four' }, correct_option: id === 1 ? 'B' : 'C' });
    writeTree(repo, {
      'eval/generation-gpt4o-mcqa.py': 'prompt_template = "CHOOSE {question}\\n{option}"\n',
      'data/siuo_gen.json': JSON.stringify([gen(1), gen(2)]),
      'data/siuo_mcqa.json': JSON.stringify([mc(1), mc(2)]),
      'data/images/S-1.png': await tinyPng(1),
      'data/images/S-2.png': await tinyPng(2),
    });
    const picker = await startMockOpenAI({ respond: () => '(B)' });
    try {
      const r = await runCli(['suite', '--benchmarks', 'siuo', '--protocol', 'siuo=mcqa', '--model', 'openai:vlm', '--base-url', picker.url, '--data', `siuo=${repo}`, '--db', path.join(work, 'mc.db')], { OPENAI_API_KEY: 'sk-test' }).done;
      expect(r.code, r.stderr).toBe(0);
      expect(r.stdout).toMatch(/SIUO\s+multiple choice\s+50\.0 \[.*n=2/);
      const bad = await runCli(['suite', '--benchmarks', 'siuo', '--protocol', 'siuo=awareness', '--model', 'openai:vlm'], {}).done;
      expect(bad.code).toBe(2);
      expect(bad.stderr).toMatch(/--protocol "siuo=awareness".*siuo has response, multiple-choice/);
    } finally {
      await picker.close();
    }
  });
});

