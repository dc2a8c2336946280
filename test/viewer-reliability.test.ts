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

describe('viewer requests it must refuse or bound', () => {
  beforeAll(async () => {
    const data = path.join(base, 'plain');
    await writeDemoBenchmark(data);
    for (const [runId, model] of [['p1', 'baseline:always-safe'], ['p2', 'baseline:always-unsafe']]) {
      await evaluate({ benchmark: 'demo', data, model }, { store, runId });
    }
  });

  it('bad paging is a 400, not a 500', async () => {
    for (const bad of ['1e308', '-5', '0', '2.5', 'abc', '99999999999']) {
      const res = await fetch(new URL(`/runs/p1/samples?page=${bad}`, viewer.url));
      expect(res.status, bad).toBe(400);
    }
    expect((await fetch(new URL('/runs/p1/samples?page=2', viewer.url))).status).toBe(200);
    expect((await fetch(new URL('/runs/p1/samples', viewer.url))).status).toBe(200);
  });

  it('/compare with a run repeated 1,800 times compares each run once; too many distinct runs is a 400', async () => {
    const repeated = Array.from({ length: 1800 }, (_, i) => (i % 2 ? 'p1' : 'p2')).join(',');
    const res = await fetch(new URL(`/compare?runs=${repeated}`, viewer.url));
    expect(res.status).toBe(200);
    // The same page as asking for each run once (chart gradients are numbered per render).
    const norm = (html: string) => html.replace(/gradient_\d+/g, 'gradient_N');
    const once = await (await fetch(new URL('/compare?runs=p2,p1', viewer.url))).text();
    expect(norm(await res.text())).toBe(norm(once));
    const many = Array.from({ length: 21 }, (_, i) => `r${i}`).join(',');
    const tooMany = await fetch(new URL(`/compare?runs=${many}`, viewer.url));
    expect(tooMany.status).toBe(400);
    expect(await tooMany.text()).toMatch(/at most 20 runs/);
    expect((await fetch(new URL(`/samples/demo-1?runs=${many}`, viewer.url))).status).toBe(400);
  });

  it('a label posted without this viewer\'s token (a page on another localhost port) is refused', async () => {
    const before = (await store.labels('p1')).length;
    const form = (extra: Record<string, string>) => ({ method: 'POST', body: new URLSearchParams({ verdict: 'true', ...extra }), redirect: 'manual' as const, headers: { origin: 'http://127.0.0.1:9' } });
    for (const extra of [{}, { token: 'guessed' }] as Record<string, string>[]) {
      const res = await fetch(new URL('/runs/p1/samples/demo-1/label', viewer.url), form(extra));
      expect(res.status).toBe(403);
    }
    expect((await store.labels('p1')).length).toBe(before);
    const page = await (await fetch(new URL('/runs/p1/samples/demo-1', viewer.url))).text();
    const token = /name="token" value="([^"]+)"/.exec(page)![1];
    const ok = await fetch(new URL('/runs/p1/samples/demo-1/label', viewer.url), { ...form({ token }), headers: { origin: new URL(viewer.url).origin } });
    expect(ok.status).toBe(303);
    expect((await store.labels('p1')).length).toBe(before + 1);
  });
});
