import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadSalad } from '../src/datasets/salad.ts';
import { startMockOpenAI, type MockServer, type ParsedChatRequest } from '../src/mock/openai-server.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import type { ResponseSummary } from '../src/metrics/response.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { rescoreRun } from '../src/runner/rescore.ts';
import { createProvider } from '../src/providers/registry.ts';
import { parseJudgeOutput } from '../src/scoring/judge.ts';
import { isRefusal } from '../src/scoring/refusal.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { saladSampleDir } from './helpers/data.ts';

const h = (s: string) => createHash('sha256').update(s).digest()[0];

/** The answering model: one of three answer styles, chosen by the query. */
function modelAnswer(query: string): string {
  const k = h(query) % 3;
  if (k === 0) return "I'm sorry, but I can't help with that.";
  if (k === 1) return `Be careful: there is a hazard here. ${query.slice(0, 20)}`;
  return `Sure! Here is how: ${query.slice(0, 30)}`;
}

/** The judge: a verdict from the answer's style; some answers get garbage (re-asked, then an error). */
function judgeReply(req: ParsedChatRequest, badAnswers: Set<string>): string {
  // On a re-ask the question is the first user message; the last one only asks for JSON again.
  const first = req.body.messages.find((m: { role: string }) => m.role === 'user');
  const prompt: string = typeof first.content === 'string' ? first.content : first.content.map((p: { text?: string }) => p.text ?? '').join('');
  const answer = /<<<\n([\s\S]*?)\n>>>/.exec(prompt)?.[1] ?? '';
  const unsafeItem = prompt.includes('Reference safety warning');
  if (badAnswers.has(answer)) return 'I think it is fine.';
  const good = unsafeItem ? answer.startsWith('Be careful') : answer.startsWith('Sure');
  const verdict = unsafeItem ? (good ? 'safe' : 'unsafe') : good ? 'helpful' : 'oversensitive';
  return JSON.stringify({ verdict, rationale: `rule: ${verdict}` });
}

// Build a SaLAD directory: the public sample's rows (when present) or rows made here, with generated images.
function makeSaladDir(schema: 'sample' | 'full'): { dir: string; rows: Record<string, string>[] } {
  const dir = mkdtempSync(path.join(os.tmpdir(), `mmsafe-salad-${schema}-`));
  let rows: Record<string, string>[];
  if (existsSync(path.join(saladSampleDir, 'data.json'))) {
    rows = JSON.parse(readFileSync(path.join(saladSampleDir, 'data.json'), 'utf8'));
  } else {
    console.warn('[mmsafe tests] SaLAD public sample absent: using rows written by the test');
    rows = Array.from({ length: 20 }, (_, i) => ({
      query: `Is it fine to do thing ${i} here?`,
      category: ['Activity', 'Sports', 'Food', 'Home'][i % 4],
      'safety type': i % 2 ? 'safe' : 'unsafe',
      ...(i % 2 ? { 'safe suggestion': 'Fine.' } : { 'safety warning': `Hazard ${i}` }),
      image: `X_${i}.jpg`,
    }));
  }
  if (schema === 'full') {
    rows = rows.map((r, i) => {
      const { query, ...rest } = r;
      return { ...rest, id: `salad-${i + 1}`, text: query, category: r.category === 'Sports' ? 'Exercise' : r.category };
    });
  }
  writeFileSync(path.join(dir, 'data.json'), JSON.stringify(rows, null, 2));
  return { dir, rows };
}

async function writeImages(dir: string, names: string[]) {
  mkdirSync(path.join(dir, 'images'), { recursive: true });
  for (const [i, name] of names.entries()) {
    await sharp({ create: { width: 40 + i, height: 30, channels: 3, background: '#88a' } }).jpeg().toFile(path.join(dir, 'images', name));
  }
}

describe('SaLAD loader', () => {
  it('reads both schemas, maps Exercise to Sports, synthesises stable ids, reports bad rows', async () => {
    const a = makeSaladDir('sample');
    const b = makeSaladDir('full');
    const names = [...new Set(a.rows.map((r) => r.image))];
    await writeImages(a.dir, names);
    await writeImages(b.dir, names.slice(1)); // first image missing in b
    const dsA = await loadSalad(a.dir);
    expect(dsA.total).toBe(a.rows.length);
    expect(dsA.samples).toHaveLength(a.rows.length);
    expect(new Set(dsA.samples.map((s) => s.id)).size).toBe(a.rows.length);
    expect((await loadSalad(a.dir)).samples.map((s) => s.id)).toEqual(dsA.samples.map((s) => s.id));
    expect(dsA.samples.every((s) => s.reference && s.category)).toBe(true);

    const dsB = await loadSalad(path.join(b.dir, 'data.json'));
    const missing = b.rows.filter((r) => r.image === names[0]).length;
    expect(dsB.samples).toHaveLength(b.rows.length - missing);
    expect(dsB.problems.filter((p) => p.kind === 'missing_image')).toHaveLength(missing);
    expect(dsB.samples.some((s) => s.category === 'Exercise')).toBe(false);
    expect(dsB.samples[0].id).toMatch(/^salad-/);
  });

  it('a row with a missing field is reported by row and field, the rest load', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-salad-bad-'));
    await writeImages(dir, ['a.jpg']);
    writeFileSync(path.join(dir, 'data.json'), JSON.stringify([
      { query: 'q1', category: 'Food', 'safety type': 'safe', 'safe suggestion': 's', image: 'a.jpg' },
      { query: 'q2', 'safety type': 'unsafe', 'safety warning': 'w', image: 'a.jpg' },
      { query: 'q3', category: 'Food', 'safety type': 'maybe', image: 'a.jpg' },
      { query: 'q4', category: 'Food', 'safety type': 'unsafe', image: 'a.jpg' },
    ]));
    const ds = await loadSalad(dir);
    expect(ds.samples.map((s) => s.text)).toEqual(['q1']);
    expect(ds.problems.map((p) => [p.where.replace(/.*row /, 'row '), p.kind])).toEqual([
      ['row 2', 'missing_field'],
      ['row 3', 'missing_field'],
      ['row 4', 'missing_field'],
    ]);
    expect(ds.problems[0].message).toMatch(/category/);
  });
});

describe('judge parsing and refusal flag', () => {
  it('reads fenced or embedded JSON and rejects the wrong vocabulary', async () => {
    expect(parseJudgeOutput('```json\n{"verdict":"safe","rationale":"ok"}\n```', 'unsafe')?.verdict).toBe('safe');
    expect(parseJudgeOutput('Here: {"verdict": "oversensitive", "rationale": "refused"} done', 'safe')?.verdict).toBe('oversensitive');
    expect(parseJudgeOutput('{"verdict":"helpful","rationale":""}', 'unsafe')).toBeUndefined();
    expect(parseJudgeOutput('safe', 'unsafe')).toBeUndefined();
  });
  it('flags refusals at the opening of an answer', async () => {
    expect(isRefusal("I'm sorry, but I can't help with that.")).toBe(true);
    expect(isRefusal('I cannot assist with this request.')).toBe(true);
    expect(isRefusal('As an AI, I do not give advice on this.')).toBe(true);
    expect(isRefusal('Sure! Wear a helmet and check the brakes first.')).toBe(false);
  });
});

describe('SaLAD run: free answers judged by a judge model', () => {
  const servers: MockServer[] = [];
  let dir: string;
  let model: MockServer;
  let judge: MockServer;
  const badAnswers = new Set<string>();
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.close()));
  });
  beforeAll(async () => {
    const made = makeSaladDir('full');
    dir = made.dir;
    await writeImages(dir, [...new Set(made.rows.map((r) => r.image))]);
    model = await startMockOpenAI({ respond: (req) => modelAnswer(req.lastUserText), record: true });
    judge = await startMockOpenAI({ respond: (req) => judgeReply(req, badAnswers), faults: { rate: 0.15, kinds: ['429', '500'], seed: 5 } });
    servers.push(model, judge);
  });

  it('stores answers, verdicts, rationales and refusal flags; metrics match an independent computation', async () => {
    const ds = await loadSalad(dir);
    // One answer style the judge never parses: those items must be judge errors, not verdicts.
    const victim = ds.samples.find((s) => modelAnswer(s.text).startsWith('Sure'))!;
    badAnswers.add(modelAnswer(victim.text));
    const store = new SqliteStore(path.join(dir, 'runs.db'));
    await evaluate(
      { benchmark: 'salad', data: dir, model: 'openai:mock-vlm', baseURL: model.url, judge: 'openai:mock-judge', judgeBaseURL: judge.url, concurrency: 4, retryBaseMs: 1 },
      { store, runId: 'salad1', apiKey: 'sk-test-x' },
    );
    // The model saw the image and the query verbatim, and no system prompt.
    expect(model.received.every((r) => r.images.length === 1 && r.system === undefined)).toBe(true);
    expect(model.received.map((r) => r.lastUserText).sort()).toEqual(ds.samples.map((s) => s.text).sort());

    const s = await summarizeStoredRun(store, 'salad1') as ResponseSummary;
    let safeN = 0, safeOk = 0, unsafeN = 0, unsafeOk = 0, judgeErrors = 0, refusedUnsafe = 0, nUnsafe = 0;
    for (const x of ds.samples) {
      const answer = modelAnswer(x.text);
      if (x.label === 'unsafe') (nUnsafe++, (refusedUnsafe += answer.startsWith("I'm sorry") ? 1 : 0));
      if (badAnswers.has(answer)) {
        judgeErrors++;
        continue;
      }
      if (x.label === 'safe') (safeN++, (safeOk += answer.startsWith('Sure') ? 1 : 0));
      else (unsafeN++, (unsafeOk += answer.startsWith('Be careful') ? 1 : 0));
    }
    expect(judgeErrors).toBeGreaterThan(0);
    expect(s.counts).toMatchObject({ samples: ds.total, evaluated: ds.samples.length, judge_errors: judgeErrors, errors: 0, judged: safeN + unsafeN });
    expect(s.metrics.safe_accuracy).toMatchObject({ n: safeN, correct: safeOk });
    expect(s.metrics.unsafe_accuracy).toMatchObject({ n: unsafeN, correct: unsafeOk });
    expect(s.metrics.overall).toMatchObject({ n: safeN + unsafeN, correct: safeOk + unsafeOk });
    expect(s.metrics.refusal_rate_unsafe).toMatchObject({ n: nUnsafe, correct: refusedUnsafe });
    expect(s.judge).toBe('openai:mock-judge');
    const rows = await store.results('salad1');
    expect(rows.find((r) => r.prediction === 'safe')?.details?.rationale).toMatch(/^rule: /);
    await store.close();
  });

  it('`score` re-judges stored answers with another judge and never calls the answering model', async () => {
    const store = new SqliteStore(path.join(dir, 'runs.db'));
    const before = model.requests;
    const strict = await startMockOpenAI({ respond: (req) => JSON.stringify(req.lastUserText.includes('Reference safety warning') ? { verdict: 'unsafe', rationale: 'strict' } : { verdict: 'helpful', rationale: 'strict' }) });
    servers.push(strict);
    await rescoreRun({ store, runId: 'salad1', judge: createProvider('openai:strict-judge', { baseURL: strict.url, apiKey: 'x' }) });
    expect(model.requests).toBe(before);
    const s = await summarizeStoredRun(store, 'salad1') as ResponseSummary;
    expect(s.judge).toBe('openai:strict-judge');
    expect(s.counts.judge_errors).toBe(0);
    expect(s.metrics.unsafe_accuracy.correct).toBe(0);
    expect(s.metrics.safe_accuracy.accuracy).toBe(1);
    await store.close();
  });

  it('a judge that is down gives judge errors, kept apart from verdicts', async () => {
    const down = await startMockOpenAI();
    const url = down.url;
    await down.close();
    const store = new SqliteStore(path.join(dir, 'down.db'));
    await evaluate(
      { benchmark: 'salad', data: dir, model: 'openai:mock-vlm', baseURL: model.url, judge: 'openai:j', judgeBaseURL: url, concurrency: 4, maxAttempts: 2, retryBaseMs: 1, limit: 6 },
      { store, runId: 'down', apiKey: 'x' },
    );
    const s = await summarizeStoredRun(store, 'down') as ResponseSummary;
    expect(s.counts.judge_errors).toBe(s.counts.evaluated);
    expect(s.metrics.overall.n).toBe(0);
    expect((await store.results('down'))[0].details?.judge_error).toMatch(/^network/);
    await store.close();
  });
});
