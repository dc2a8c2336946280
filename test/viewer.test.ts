import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { naiveKeywordModel } from '../src/demo/naive-model.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { startViewer } from '../src/viewer/serve.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let dir: string;
let store: SqliteStore;
let model: MockServer;
let viewer: Awaited<ReturnType<typeof startViewer>>;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-viewer-'));
  await writeDemoBenchmark(dir);
  store = new SqliteStore(path.join(dir, 'v.db'));
  model = await startMockOpenAI({ respond: (req) => `${naiveKeywordModel(req.lastUserText)} <script>alert('xss')</script>` });
  await evaluate({ benchmark: 'demo', data: dir, model: 'openai:naive', baseURL: model.url }, { store, runId: 'naive', apiKey: 'x' });
  await evaluate({ benchmark: 'demo', data: dir, model: 'baseline:always-safe' }, { store, runId: 'safe' });
  viewer = await startViewer(store);
});
afterAll(async () => {
  await viewer.close();
  await model.close();
  await store.close();
});

const get = (p: string) => fetch(new URL(p, viewer.url));

describe('viewer over HTTP', () => {
  it('listens on 127.0.0.1 and lists runs', async () => {
    expect(viewer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const doc = parse(await (await get('/')).text());
    expect(doc.querySelectorAll('#runs tr').length).toBe(3);
  });

  it('filters samples and pages them', async () => {
    const html = await (await get('/runs/naive/samples?subset=oversafe&outcome=incorrect')).text();
    const doc = parse(html);
    const rows = doc.querySelectorAll('#samples tr.sample');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.querySelectorAll('td')[1].text === 'oversafe' && r.querySelectorAll('td')[5].text === 'incorrect')).toBe(true);
    expect(doc.querySelector('#count')!.text).toMatch(new RegExp(`^${rows.length} samples`));
    // Model output is escaped in the table.
    expect(html).not.toContain("<script>alert('xss')</script>");
    expect(doc.querySelector('#samples')!.text).toContain("<script>alert('xss')</script>");
  });

  it('serves images only from the run dataset: no path traversal', async () => {
    const ok = await get('/image/naive/demo-1');
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toBe('image/jpeg');
    for (const bad of ['/image/naive/..%2F..%2F..%2Fetc%2Fpasswd', '/image/naive/%2Fetc%2Fpasswd', '/image/..%2Fnaive/demo-1', '/image/naive/../../etc/passwd']) {
      const res = await get(bad);
      expect(res.status, bad).toBe(404);
      expect(await res.text()).not.toContain('root:');
    }
  });

  it('stores human labels and exports them as {id, verdict}', async () => {
    const res = await fetch(new URL('/runs/naive/samples/demo-2/label', viewer.url), { method: 'POST', body: new URLSearchParams({ verdict: 'false' }), redirect: 'manual' });
    expect(res.status).toBe(303);
    // Labelling moves on to the next sample of the table.
    const ids = (await store.results('naive')).map((r) => r.sampleId);
    expect(res.headers.get('location')).toBe(`/runs/naive/samples/${ids[ids.indexOf('demo-2') + 1]}`);
    const bad = await fetch(new URL('/runs/naive/samples/demo-2/label', viewer.url), { method: 'POST', body: new URLSearchParams({ verdict: 'maybe' }) });
    expect(bad.status).toBe(400);
    const lines = (await (await get('/runs/naive/labels.jsonl')).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual({ id: 'demo-2', verdict: false });
  });
});

describe.skipIf(!existsSync(CHROMIUM))('viewer in a real browser (headless Chromium)', () => {
  if (!existsSync(CHROMIUM)) console.warn(`[mmsafe tests] SKIPPING browser tests: no Chromium at ${CHROMIUM} (.ci/run installs Debian's chromium)`);

  it('filter to incorrect oversafe samples, open one: its image loads and its response shows; label it with the keyboard', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      await page.goto(viewer.url);
      await page.click('text=naive');
      await page.click('text=samples');
      await page.selectOption('select[name=subset]', 'oversafe');
      await page.selectOption('select[name=outcome]', 'incorrect');
      await page.click('button[type=submit]');
      await page.waitForURL(/outcome=incorrect/);
      const first = page.locator('#samples tr.sample a').first();
      const id = await first.textContent();
      await first.click();
      await page.waitForSelector('#sample-image');
      const loaded = await page.$eval('#sample-image', (img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0);
      expect(loaded).toBe(true);
      const response = await page.textContent('#response');
      expect(response).toContain("<script>alert('xss')</script>");
      expect(await page.evaluate(() => (window as unknown as { xssFired?: boolean }).xssFired ?? false)).toBe(false);
      await page.screenshot({ path: path.join(dir, 'viewer-sample.png') });
      await page.keyboard.press('u');
      await page.waitForURL((u) => !u.pathname.endsWith(`/${id}`));
      expect((await store.labels('naive')).find((l) => l.sampleId === id)?.verdict).toBe(false);
      await page.goto(new URL(`/runs/naive/samples/${id}`, viewer.url).href);
      expect(await page.textContent('#human-label')).toContain('pair is unsafe');
    } finally {
      await browser.close();
    }
  });
});
