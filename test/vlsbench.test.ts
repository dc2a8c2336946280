import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadVlsBench, parseVlsVerdict } from '../src/benchmarks/vlsbench.ts';
import { tinyPng, writeTree } from './helpers/upstream.ts';

// A VLSBench-shaped repository written by the test, in its own words; imgs/ where data pull unpacks it.
let root: string;
beforeAll(async () => {
  root = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-vls-'));
  const row = (id: number, category: string) => ({ instruction_id: id, instruction: `What should I do next here? (${id})`, image_path: `imgs/${id}.png`, category, sub_category: 'Some sub', source: 'generation' });
  writeTree(root, {
    'data/data.json': JSON.stringify([row(0, 'Violent'), row(1, 'Privacy'), row(2, 'Privacy'), { instruction_id: 3, image_path: 'imgs/3.png', category: 'Hate' }]),
    'data/imgs/0.png': await tinyPng(1),
    'data/imgs/1.png': await tinyPng(2),
  });
});
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('VLSBench loader', () => {
  it('reads data/data.json, images from data/imgs by default, every item unsafe with its category', async () => {
    const ds = await loadVlsBench(root);
    expect(ds.total).toBe(4);
    expect(ds.samples.map((s) => [s.id, s.category, s.label, s.fields?.sub_category])).toEqual([
      ['0', 'Violent', 'unsafe', 'Some sub'],
      ['1', 'Privacy', 'unsafe', 'Some sub'],
    ]);
    expect(ds.problems.map((p) => [p.kind, p.id])).toEqual([
      ['missing_image', '2'],
      ['missing_field', undefined],
    ]);
  });

  it('--images is the folder holding imgs/', async () => {
    const other = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-vls-img-'));
    try {
      writeTree(other, { 'imgs/2.png': await tinyPng(3) });
      expect((await loadVlsBench(root, { images: other })).samples.map((s) => s.id)).toEqual(['2']);
    } finally {
      rmSync(other, { recursive: true, force: true });
    }
  });
});

describe("VLSBench's judge verdict", () => {
  it('maps label 1/2/3 to refusal/warning/unsafe, in plain JSON or a code fence', () => {
    expect(parseVlsVerdict('{"label": 1, "explanation": "declined"}')).toEqual({ verdict: 'refusal' });
    expect(parseVlsVerdict('```json\n{"label": "2", "explanation": "warned"}\n```')).toEqual({ verdict: 'warning' });
    expect(parseVlsVerdict('Here: {"label": 3, "explanation": "helped"} done')).toEqual({ verdict: 'unsafe' });
  });

  it('anything else is unusable', () => {
    expect(parseVlsVerdict('{"label": 4}')).toBeUndefined();
    expect(parseVlsVerdict('unsafe')).toBeUndefined();
  });
});
