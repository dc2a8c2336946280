import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LoadedDataset, Sample } from '../src/core/types.ts';
import { allocate, parseIdList, sampleStratified, selectIds } from '../src/datasets/select.ts';
import { DatasetError } from '../src/datasets/errors.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { runCli } from './helpers/cli.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

function dataset(sizes: Record<string, number>): LoadedDataset {
  const samples: Sample[] = Object.entries(sizes).flatMap(([subset, n]) =>
    Array.from({ length: n }, (_, i) => ({ id: `${subset}-${i + 1}`, text: 'a sentence', label: subset === 'oversafe' ? 'safe' : 'unsafe', subset }) as Sample),
  );
  return { benchmark: 'x', source: '/data/x', samples, problems: [{ id: 'gone-1', where: 'x.json', kind: 'missing_image', message: 'no image' }], total: samples.length + 1 };
}

describe('choosing samples', () => {
  it('allocate: one per group first, then shares by size, never more than a group has', () => {
    expect(allocate([100, 10, 1], 3)).toEqual([1, 1, 1]);
    expect(allocate([100, 10, 1], 12)).toEqual([10, 1, 1]);
    expect(allocate([50, 50], 7).reduce((a, b) => a + b)).toBe(7);
    expect(allocate([2, 1], 10)).toEqual([2, 1]);
    // Fewer samples than groups: the largest groups get them.
    expect(allocate([5, 30, 10], 2)).toEqual([0, 1, 1]);
  });

  it('--sample: every subset present, deterministic by seed, in dataset order, rows left out not drawn', () => {
    const d = dataset({ typical: 60, attack: 30, oversafe: 6 });
    const a = sampleStratified(d, 10, 0);
    expect(a.samples).toHaveLength(10);
    const count = (s: string) => a.samples.filter((x) => x.subset === s).length;
    expect([count('typical'), count('attack'), count('oversafe')]).toEqual([6, 3, 1]);
    expect(sampleStratified(d, 10, 0).samples.map((s) => s.id)).toEqual(a.samples.map((s) => s.id));
    expect(sampleStratified(d, 10, 1).samples.map((s) => s.id)).not.toEqual(a.samples.map((s) => s.id));
    const order = d.samples.map((s) => s.id);
    const idx = a.samples.map((s) => order.indexOf(s.id));
    expect(idx).toEqual([...idx].sort((x, y) => x - y));
    expect(a.problems).toEqual([]);
    expect(a.total).toBe(10);
    // A larger sample with the same seed keeps the smaller one's samples.
    const b = sampleStratified(d, 20, 0);
    expect(a.samples.every((s) => b.samples.some((t) => t.id === s.id))).toBe(true);
    expect(sampleStratified(d, 500, 0)).toBe(d);
  });

  it('--ids: exactly those; an unknown id is an error naming it', () => {
    const d = dataset({ typical: 5, oversafe: 5 });
    const picked = selectIds(d, ['typical-2', 'oversafe-4', 'gone-1']);
    expect(picked.samples.map((s) => s.id)).toEqual(['typical-2', 'oversafe-4']);
    expect(picked.problems.map((p) => p.id)).toEqual(['gone-1']);
    expect(() => selectIds(d, ['typical-2', 'typo-9'])).toThrow(DatasetError);
    expect(() => selectIds(d, ['typo-9'])).toThrow(/typo-9/);
    expect(parseIdList('a, b\n# a comment\nc d\n\nb')).toEqual(['a', 'b', 'c', 'd']);
  });
});

describe('choosing samples from the command line', () => {
  let dir: string;
  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-select-'));
    await writeDemoBenchmark(dir);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const run = (db: string, ...extra: string[]) => runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'baseline:always-unsafe', '--db', path.join(dir, db), '--quiet', ...extra]).done;
  const stored = async (db: string, id: string) => {
    const store = new SqliteStore(path.join(dir, db));
    try {
      return (await store.results(id)).map((r) => ({ id: r.sampleId, subset: r.subset }));
    } finally {
      await store.close();
    }
  };

  it('--sample N --seed S stores a stratified sample; the same seed gives the same ids', async () => {
    const a = await run('s.db', '--sample', '6', '--seed', '4', '--run-id', 'a', '--out', path.join(dir, 'a.json'));
    expect(a.code, a.stderr).toBe(0);
    const b = await run('s.db', '--sample', '6', '--seed', '4', '--run-id', 'b');
    const rowsA = await stored('s.db', 'a');
    expect(rowsA).toHaveLength(6);
    expect(new Set(rowsA.map((r) => r.subset))).toEqual(new Set(['typical', 'attack', 'oversafe']));
    expect((await stored('s.db', 'b')).map((r) => r.id)).toEqual(rowsA.map((r) => r.id));
    expect(b.stdout).toMatch(/Total \(mean of subsets\)/);
    expect(JSON.parse(readFileSync(path.join(dir, 'a.json'), 'utf8')).counts.samples).toBe(6);
  });

  it('--ids from a list or a file; a summary over one subset names what it covers and prints no Total', async () => {
    const list = await run('i.db', '--ids', 'demo-1,demo-2', '--run-id', 'l');
    expect(list.code, list.stderr).toBe(0);
    expect((await stored('i.db', 'l')).map((r) => r.id)).toEqual(['demo-1', 'demo-2']);
    const file = path.join(dir, 'ids.txt');
    writeFileSync(file, 'demo-3\ndemo-5\n');
    const fromFile = await run('i.db', '--ids', file, '--run-id', 'f');
    expect(fromFile.code, fromFile.stderr).toBe(0);
    expect((await stored('i.db', 'f')).map((r) => r.id)).toEqual(['demo-3', 'demo-5']);
    const one = await run('i.db', '--subset', 'typical', '--run-id', 't', '--out', path.join(dir, 't.json'));
    expect(one.stdout).toMatch(/covers typical; no attack, oversafe, so no Total/);
    expect(one.stdout).not.toMatch(/Total \(mean/);
    expect(JSON.parse(readFileSync(path.join(dir, 't.json'), 'utf8')).coverage).toEqual({ subsets: ['typical'], missing_subsets: ['attack', 'oversafe'] });
    const lb = await runCli(['report', '--db', path.join(dir, 'i.db'), '--runs', 't']).done;
    // The run is named by its model; run t is in the key below the table.
    const row = lb.stdout.split('\n').find((l) => l.startsWith('always-unsafe '))!;
    expect(lb.stdout).toMatch(/^ {2}always-unsafe: run t, baseline:always-unsafe$/m);
    // The Total column (the last of the first table) of the partial run is empty, not the typical accuracy again.
    expect(row).toMatch(/^always-unsafe\s+8\s+100\.0 \S+\s+-\s+-\s+100\.0 \S+\s+-$/);
  });

  it('an unknown id is a usage error before anything runs', async () => {
    const r = await run('u.db', '--ids', 'demo-1,demo-999');
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/--ids: 1 id\(s\) not in .*demo-999/);
  });
});
