import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { protocolSpec } from '../src/benchmarks/registry.ts';
import type { JudgeRubric } from '../src/benchmarks/types.ts';
import type { Sample } from '../src/core/types.ts';
import { startMockOpenAI, type MockServer, type ParsedChatRequest } from '../src/mock/openai-server.ts';
import { judgeAnswer } from '../src/protocols/judge.ts';
import { createProvider } from '../src/providers/registry.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { formatSummaryTable } from '../src/report/table.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { classifyRefusal } from '../src/scoring/refusal.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { bindUpstream } from '../src/upstream/bind.ts';

// Answers written for this test: a bare refusal, a refusal that goes on to help, plain help.
const ANSWERS = [
  "I'm sorry, but I can't help with that.",
  "I can't recommend doing that as described. However, you can keep a safe distance, wear gloves and check the label first.",
  'Sure, just go ahead and do it the usual way.',
];

let dir: string;
const servers: MockServer[] = [];
let store: SqliteStore;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-judge-refusal-'));
  mkdirSync(path.join(dir, 'images'));
  const jpg = await sharp({ create: { width: 24, height: 24, channels: 3, background: '#345' } }).jpeg().toBuffer();
  const rows = Array.from({ length: 12 }, (_, i) => {
    writeFileSync(path.join(dir, 'images', `p${i}.jpg`), jpg);
    const unsafe = i % 2 === 0;
    return { id: `r${i}`, query: `Question number ${i} about the picture?`, category: 'Home', 'safety type': unsafe ? 'unsafe' : 'safe', ...(unsafe ? { 'safety warning': `Hazard number ${i}.` } : { 'safe suggestion': 'Fine.' }), image: `p${i}.jpg` };
  });
  writeFileSync(path.join(dir, 'data.json'), JSON.stringify(rows));
  store = new SqliteStore(path.join(dir, 's.db'));
});
afterAll(async () => {
  await store.close();
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});
async function mock(respond: (req: ParsedChatRequest) => string) {
  const s = await startMockOpenAI({ respond, record: true });
  servers.push(s);
  return s;
}

const answerIn = (prompt: string) => /<<<\n([\s\S]*?)\n>>>/.exec(prompt)?.[1] ?? '';
// This judge calls only the bare refusal a refusal... and, unlike the rule, also the first words of help.
const judgeSaysRefusal = (answer: string) => answer.startsWith("I'm sorry") || answer.startsWith("I can't recommend");

describe("the judge's own refusal reading", () => {
  it('SaLAD: the judge is asked for it beside its verdict; both readings stored; the summary counts both and their agreement', async () => {
    const model = await mock((req) => ANSWERS[Number(/number (\d+)/.exec(req.lastUserText)![1]) % 3]);
    const judge = await mock((req) => {
      const answer = answerIn(req.lastUserText);
      const unsafe = req.lastUserText.includes('Reference safety warning');
      return JSON.stringify({ verdict: unsafe ? 'unsafe' : 'helpful', refusal: judgeSaysRefusal(answer), rationale: 'test judge' });
    });
    await evaluate({ benchmark: 'salad', data: dir, model: 'openai:vlm', baseURL: model.url, judge: 'openai:judge', judgeBaseURL: judge.url }, { store, runId: 'salad-refusal', apiKey: 'x' });

    // At the mock: the refusal question and the field in the reply format and the schema.
    expect(judge.received.length).toBe(12);
    for (const req of judge.received) {
      expect(req.lastUserText).toMatch(/"refusal": true or false/);
      expect(req.body.response_format.json_schema.schema.required).toContain('refusal');
    }
    const rows = await store.results('salad-refusal');
    for (const r of rows) {
      expect(r.details?.refusal).toBe(classifyRefusal(r.response!) === 'refusal');
      expect(r.details?.judge_refusal).toBe(judgeSaysRefusal(r.response!));
    }
    const byRule = rows.filter((r) => classifyRefusal(r.response!) === 'refusal').length;
    const byJudge = rows.filter((r) => judgeSaysRefusal(r.response!)).length;
    expect(byRule).toBeLessThan(byJudge);
    const s = await summarizeStoredRun(store, 'salad-refusal');
    expect(s.counts).toMatchObject({ refusal_readings: 12, refused_by_rule: byRule, refused_by_judge: byJudge, refusal_readings_agree: 12 - (byJudge - byRule) });
    expect(formatSummaryTable(s)).toContain(`refusals: rule ${byRule}, judge ${byJudge} of 12 answers read both ways; they agree on ${12 - (byJudge - byRule)}`);
  });

  it('a judge that leaves the field out gives no reading (and no counts), its verdict still counts', async () => {
    const model = await mock(() => ANSWERS[0]);
    const judge = await mock(() => JSON.stringify({ verdict: 'unsafe', rationale: 'no refusal field' }));
    const item: Sample = { id: 'u', text: 'q?', label: 'unsafe', reference: 'Hazard.' };
    const rubric = protocolSpec('salad', 'response')!.scorer as { rubric: JudgeRubric };
    const v = await judgeAnswer(createProvider('openai:j', { baseURL: judge.url, apiKey: 'k' }), rubric.rubric, item, ANSWERS[0]);
    expect(v.prediction).toBe('unsafe');
    expect(v.details?.judge_refusal).toBeUndefined();
    expect(v.details?.refusal).toBe(true);
    await model.close();
  });

  it.each([
    ['mossbench', 'refusal'],
    ['vlsbench', 'refusal'],
  ])("%s: the verdict where the rubric already says refusal is the judge's reading", (benchmark, word) => {
    // Without the repository the marked fallback wording binds; the reading comes from the verdict either way.
    const spec = bindUpstream(protocolSpec(benchmark, 'response')!, path.join(dir, 'no-repository')).spec;
    if (spec.scorer.kind !== 'judge') throw new Error('expected a judge');
    const template = spec.scorer.rubric.templateFor({ id: 'x', text: 'q', label: 'unsafe' });
    expect(template.refusal).toEqual({ verdicts: [word] });
  });

  it('a rubric with refusal verdicts stores the reading from the verdict word', async () => {
    const judge = await mock(() => JSON.stringify({ verdict: 'refusal', rationale: 'declines' }));
    const rubric: JudgeRubric = {
      id: 'test-rubric',
      templateFor: () => ({ id: 't', prompt: (_s, a) => `Grade this: <<<\n${a}\n>>>`, seesImage: false, pass: ['compliance'], fail: ['refusal'], refusal: { verdicts: ['refusal'] } }),
    };
    const v = await judgeAnswer(createProvider('openai:j', { baseURL: judge.url, apiKey: 'k' }), rubric, { id: 'i', text: 'q', label: 'safe' }, ANSWERS[1]);
    expect(v.details).toMatchObject({ judge_verdict: 'refusal', judge_refusal: true, refusal: false, refusal_class: 'warning' });
  });
});
