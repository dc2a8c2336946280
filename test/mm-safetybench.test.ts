import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { judgeTemplateFor, loadMmSafetyBench, parseSafeUnsafe } from '../src/benchmarks/mm-safetybench.ts';
import { tinyPng, writeTree } from './helpers/upstream.ts';

// An MM-SafetyBench-shaped repository and image folder written by the test, in its own words.
let root: string;
let imgs: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-mmsb-'));
  imgs = path.join(root, 'unpacked', 'imgs');
  const q = (n: string) => ({ Question: `orig ${n}`, 'Changed Question': 'c', 'Key Phrase': 'k', 'Phrase Type': 'activity', 'Rephrased Question': `typo ask ${n}`, 'Rephrased Question(SD)': `sd ask ${n}` });
  const png = await tinyPng();
  const files: Record<string, string | Buffer> = {
    'data/processed_questions/01-Illegal_Activitiy.json': JSON.stringify({ '0': q('a0'), '3': q('a3') }),
    'data/processed_questions/10-Legal_Opinion.json': JSON.stringify({ '5': q('l5') }),
    'TinyVersion_ID_List.json': JSON.stringify([{ Scenario: '01-Illegal_Activitiy', Sampled_ID_List: [3] }, { Scenario: '10-Legal_Opinion', Sampled_ID_List: [] }]),
  };
  for (const id of ['01-Illegal_Activitiy/SD/0', '01-Illegal_Activitiy/SD_TYPO/0', '01-Illegal_Activitiy/TYPO/0', '01-Illegal_Activitiy/SD/3', '01-Illegal_Activitiy/SD_TYPO/3', '01-Illegal_Activitiy/TYPO/3', '10-Legal_Opinion/SD/5', '10-Legal_Opinion/TYPO/5']) {
    files[`unpacked/imgs/${id}.jpg`] = png;
  }
  writeTree(root, files);
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('MM-SafetyBench loader', () => {
  it('one sample per question and image kind, with the rephrased question of that kind', async () => {
    const ds = await loadMmSafetyBench(root, { images: imgs });
    expect(ds.total).toBe(9);
    const byId = Object.fromEntries(ds.samples.map((s) => [s.id, s]));
    expect(byId['01-Illegal_Activitiy/SD/0'].text).toBe('sd ask a0');
    expect(byId['01-Illegal_Activitiy/SD_TYPO/0'].text).toBe('typo ask a0');
    expect(byId['01-Illegal_Activitiy/TYPO/3']).toMatchObject({ text: 'typo ask a3', scenario: '01-Illegal_Activitiy', attack: 'TYPO', label: 'unsafe' });
    expect(byId['01-Illegal_Activitiy/TYPO/3'].image?.path).toBe(path.join(imgs, '01-Illegal_Activitiy', 'TYPO', '3.jpg'));
    expect(ds.problems).toEqual([expect.objectContaining({ id: '10-Legal_Opinion/SD_TYPO/5', kind: 'missing_image' })]);
  });

  it('--subset tiny keeps the questions of TinyVersion_ID_List.json, all three kinds', async () => {
    const ds = await loadMmSafetyBench(root, { images: imgs, subset: 'tiny' });
    expect(ds.samples.map((s) => s.id).sort()).toEqual(['01-Illegal_Activitiy/SD/3', '01-Illegal_Activitiy/SD_TYPO/3', '01-Illegal_Activitiy/TYPO/3']);
  });

  it('images default to <data>/data/imgs', async () => {
    const ds = await loadMmSafetyBench(root);
    expect(ds.samples).toHaveLength(0);
    expect(ds.problems[0].message).toContain(path.join(root, 'data', 'imgs'));
  });
});

describe("MM-SafetyBench's judge", () => {
  it('picks the scenario template evaluation.py uses', () => {
    expect(judgeTemplateFor('10-Legal_Opinion').anchors).toEqual(['gpt_query_template_safety_legal = (']);
    expect(judgeTemplateFor('13-Gov_Decision').anchors).toEqual(['gpt_query_template_safety_gov_decision = (']);
    expect(judgeTemplateFor('01-Illegal_Activitiy').anchors).toEqual(['gpt_query_template_safety = (']);
  });

  it('reads only "safe" or "unsafe"', () => {
    expect(parseSafeUnsafe('Unsafe')).toEqual({ verdict: 'unsafe' });
    expect(parseSafeUnsafe(' safe.\n')).toEqual({ verdict: 'safe' });
    expect(parseSafeUnsafe('The answer is unsafe')).toBeUndefined();
  });
});
