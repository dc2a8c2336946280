import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, symlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { RunSamples } from '../src/viewer/datasets.ts';
import { startViewer } from '../src/viewer/serve.ts';

let base: string;
let store: SqliteStore;
let viewer: Awaited<ReturnType<typeof startViewer>>;
beforeAll(async () => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-viewer-rel-'));
  store = new SqliteStore(path.join(base, 'v.db'));
  viewer = await startViewer(store);
});
afterAll(async () => {
  await viewer.close();
  await store.close();
  rmSync(base, { recursive: true, force: true });
});

describe('viewer images through symlinked folders', () => {
  it('serves a dataset whose images folder is a symlink (another disk), still refuses a file that links elsewhere', async () => {
    const data = path.join(base, 'linked-images');
    await writeDemoBenchmark(data);
    const elsewhere = path.join(base, 'big-disk-images');
    renameSync(path.join(data, 'images'), elsewhere);
    symlinkSync(elsewhere, path.join(data, 'images'));
    // Inside the linked folder, one file is itself a link to a picture outside every folder.
    const names = readdirSync(elsewhere).sort();
    const outside = path.join(base, 'private.png');
    renameSync(path.join(elsewhere, names[0]), outside);
    symlinkSync(outside, path.join(elsewhere, names[0]));
    // And a dataset reached through a symlinked parent folder.
    mkdirSync(path.join(base, 'real'));
    await writeDemoBenchmark(path.join(base, 'real', 'demo'));
    symlinkSync(path.join(base, 'real'), path.join(base, 'datasets'));

    await evaluate({ benchmark: 'demo', data, model: 'baseline:always-safe' }, { store, runId: 'linked' });
    await evaluate({ benchmark: 'demo', data: path.join(base, 'datasets', 'demo'), model: 'baseline:always-safe' }, { store, runId: 'parent' });
    const samples = new RunSamples(store);
    for (const runId of ['linked', 'parent']) {
      for (const r of await store.results(runId)) {
        const file = (await samples.sample(runId, r.sampleId))?.image?.path ?? '';
        const refused = runId === 'linked' && path.basename(file) === names[0];
        const res = await fetch(new URL(`/image/${runId}/${encodeURIComponent(r.sampleId)}`, viewer.url));
        expect(res.status, `${runId}/${r.sampleId}`).toBe(refused ? 404 : 200);
      }
    }
  });
});
