import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { buildLeaderboard } from '../src/report/leaderboard.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

const dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-baseline-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('baselines: one definition', () => {
  it("the leaderboard's baseline rows are what the baseline providers answer on the same samples", async () => {
    await writeDemoBenchmark(dir);
    const store = new SqliteStore(path.join(dir, 'b.db'));
    try {
      for (const name of ['random', 'always-safe', 'always-unsafe']) {
        await evaluate({ benchmark: 'demo', data: dir, model: `baseline:${name}` }, { store, runId: name });
        const lb = await buildLeaderboard(store, [name]);
        const run = lb.rows.find((r) => r.kind === 'run')!;
        const reference = lb.rows.find((r) => r.name === `baseline:${name}`)!;
        expect(reference.kind).toBe('baseline');
        expect(reference.cells, name).toEqual(run.cells);
      }
      // The coin is not a constant: a random baseline that said the same for every item would pass the above too.
      const predictions = new Set((await store.results('random')).map((r) => r.prediction));
      expect(predictions).toEqual(new Set(['safe', 'unsafe']));
    } finally {
      await store.close();
    }
  });
});
