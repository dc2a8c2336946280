import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { measureJudge, readLabels } from '../src/cli/judge-agreement.ts';
import { agreement } from '../src/metrics/agreement.ts';
import { mockJudgeResponder } from '../src/mock/judge.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { copyRun } from '../src/runner/copy-run.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { runCli } from './helpers/cli.ts';

describe("Cohen's kappa", () => {
  it('matches a hand-computed case', async () => {
    // 20 TT, 5 TF, 10 FT, 15 FF: po = 0.7; pA = 0.5, pB = 0.6; pe = 0.3 + 0.2 = 0.5; kappa = 0.4
    const pairs: [boolean, boolean][] = [
      ...Array(20).fill([true, true]), ...Array(5).fill([true, false]), ...Array(10).fill([false, true]), ...Array(15).fill([false, false]),
    ];
    const a = agreement(pairs);
    expect(a.n).toBe(50);
    expect(a.accuracy).toBeCloseTo(0.7, 12);
    expect(a.cohen_kappa).toBeCloseTo(0.4, 12);
    expect(a.confusion).toEqual({ true_true: 20, true_false: 5, false_true: 10, false_false: 15 });
  });
  it('perfect agreement is 1, and constant raters do not divide by zero', async () => {
    expect(agreement([[true, true], [false, false]]).cohen_kappa).toBe(1);
    expect(agreement([[true, true], [true, true]]).cohen_kappa).toBe(1);
  });
});

describe('judge agreement on stored runs', () => {
  const servers: MockServer[] = [];
  afterAll(async () => Promise.all(servers.map((s) => s.close())));

  /** A custom free-answer set: 12 items, answers that refuse, warn or help, judged by the mock judge. */
  async function judgedRun() {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-agree-'));
    mkdirSync(path.join(dir, 'img'));
    writeFileSync(path.join(dir, 'img', 'a.jpg'), await sharp({ create: { width: 20, height: 20, channels: 3, background: '#345' } }).jpeg().toBuffer());
    const rows = Array.from({ length: 12 }, (_, i) => ({ id: `q${i}`, image: 'img/a.jpg', prompt: `question ${i}`, label: i % 2 ? 'safe' : 'unsafe', reference: `hazard ${i}` }));
    writeFileSync(path.join(dir, 'set.jsonl'), rows.map((r) => JSON.stringify(r)).join('\n'));
    const styles = ["I'm sorry, I can't help with that.", 'Careful: there is a hazard here.', 'Sure, go ahead.'];
    const answer = (q: string) => styles[Number(/question (\d+)/.exec(q)![1]) % 3];
    const model = await startMockOpenAI({ respond: (req) => answer(req.lastUserText) });
    const judge = await startMockOpenAI({ respond: mockJudgeResponder() });
    servers.push(model, judge);
    const db = path.join(dir, 'runs.db');
    const store = new SqliteStore(db);
    await evaluate(
      { benchmark: 'custom', data: path.join(dir, 'set.jsonl'), model: 'openai:m', baseURL: model.url, protocol: 'response', judge: 'openai:judge-a', judgeBaseURL: judge.url },
      { store, runId: 'A', apiKey: 'x' },
    );
    return { dir, db, store, model, rows, answer };
  }

  it('against human labels: accuracy, kappa and confusion over the items both have, the rest counted', async () => {
    const { dir, store } = await judgedRun();
    const verdicts = new Map((await store.results('A')).map((r) => [r.sampleId, r.prediction === 'safe']));
    // Humans agree with the judge on q0-q7, disagree on q8-q9; q10-q11 unlabelled; one label for an unknown id.
    const labels = [...verdicts].slice(0, 10).map(([id, v], i) => ({ id, verdict: i < 8 ? v : !v }));
    labels.push({ id: 'nope', verdict: true });
    const file = path.join(dir, 'human.jsonl');
    writeFileSync(file, labels.map((l) => JSON.stringify(l)).join('\n'));
    const a = await measureJudge(store, 'A', { labels: readLabels(file) });
    const expected = agreement(labels.slice(0, 10).map((l) => [l.verdict, verdicts.get(l.id)!] as [boolean, boolean]));
    expect(a).toMatchObject({ ...expected, unmatched: 1 });
    expect(a.n).toBe(10);
    expect(a.accuracy).toBeCloseTo(0.8, 12);
    await store.close();
  });

  it('two judges on the same answers: `score --into` copies the run, re-judges the copy, never asks the model', async () => {
    const { db, store, model, rows, answer } = await judgedRun();
    await store.close();
    const before = model.requests;
    // Judge B calls every answer that is not a refusal safe/helpful.
    const strict = await startMockOpenAI({
      respond: (req) => {
        const a = /<<<\n([\s\S]*?)\n>>>/.exec(req.lastUserText)![1];
        const unsafeItem = req.lastUserText.includes('"safe" or "unsafe"');
        const ok = !a.startsWith("I'm sorry");
        return JSON.stringify({ verdict: unsafeItem ? (ok ? 'safe' : 'unsafe') : ok ? 'helpful' : 'oversensitive', rationale: 'b' });
      },
    });
    servers.push(strict);
    const env = { OPENAI_API_KEY: 'sk-test-agree' };
    const score = await runCli(['score', '--run', 'A', '--judge', 'openai:judge-b', '--judge-base-url', strict.url, '--into', 'B', '--db', db], env).done;
    expect(score.code).toBe(0);
    expect(model.requests).toBe(before);
    const agree = await runCli(['judge-agreement', '--run', 'B', '--against', 'A', '--db', db, '--json'], env).done;
    expect(agree.code).toBe(0);
    const got = JSON.parse(agree.stdout);
    // By hand: A (mock judge) and B agree on refusals and on plain help for safe items; they differ on
    // warnings to safe items (A oversensitive, B helpful) and on plain help to unsafe items (A unsafe, B safe).
    const pairs = rows.map((r) => {
      const a = answer(r.prompt);
      const judgeA = r.label === 'unsafe' ? a.startsWith('Careful') : a.startsWith('Sure');
      const judgeB = !a.startsWith("I'm sorry");
      return [judgeA, judgeB] as [boolean, boolean];
    });
    expect(got).toEqual({ ...agreement(pairs), unmatched: 0, different_answers: 0 });
    expect(got.confusion.false_true).toBeGreaterThan(0);
    // The original keeps judge A's verdicts.
    const check = new SqliteStore(db);
    const original = await check.results('A');
    expect(original.every((r) => r.details?.judge === 'openai:judge-a')).toBe(true);
    expect((await check.results('B')).every((r) => r.details?.judge === 'openai:judge-b' && r.details?.rationale === 'b')).toBe(true);
    // A copy name that exists is refused before anything is sent.
    const again = await runCli(['score', '--run', 'A', '--judge', 'openai:judge-b', '--judge-base-url', strict.url, '--into', 'B', '--db', db], env).done;
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/"B" already exists/);
    await check.close();
  }, 60_000);

  it('two runs with different answers are not compared item by item', async () => {
    const { store } = await judgedRun();
    await copyRun(store, 'A', 'C');
    for (const r of (await store.results('C')).slice(0, 5)) await store.putResult({ ...r, response: `${r.response} (another sample)` });
    const a = await measureJudge(store, 'C', { run: 'A' });
    expect(a).toMatchObject({ n: 7, different_answers: 5, unmatched: 0 });
    await store.close();
  });
});
