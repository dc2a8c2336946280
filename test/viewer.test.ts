import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { naiveKeywordModel } from '../src/demo/naive-model.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { summarizeStoredRun } from '../src/report/summary.ts';
import { RunSamples } from '../src/viewer/datasets.ts';
import { formatDuration } from '../src/viewer/parts.ts';
import { startViewer } from '../src/viewer/serve.ts';
import { storedConfig } from './helpers/run-config.ts';
import { compareIds, inIdOrder } from '../src/report/order.ts';
import { repoRoot } from './helpers/data.ts';

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

let dir: string;
let store: SqliteStore;
let model: MockServer;
let viewer: Awaited<ReturnType<typeof startViewer>>;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-viewer-'));
  await writeDemoBenchmark(dir);
  store = new SqliteStore(path.join(dir, 'v.db'));
  // Hostile output: if any of it ran in the browser, window.xssFired would be set.
  model = await startMockOpenAI({ respond: (req) => `${naiveKeywordModel(req.lastUserText)} <script>alert('xss')</script><img src=x onerror="window.xssFired=true"></svg><script>window.xssFired=true</script>` });
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

/** A raw HTTP request, for headers fetch will not let a test set (Host). */
function raw(pathname: string, headers: Record<string, string>, method = 'GET', body?: string): Promise<{ status: number; text: string }> {
  const url = new URL(viewer.url);
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: url.port, path: pathname, method, headers }, (res) => {
      let text = '';
      res.setEncoding('utf8');
      res.on('data', (d) => (text += d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body);
  });
}

describe('viewer over HTTP', () => {
  it('listens on 127.0.0.1 and lists runs', async () => {
    expect(viewer.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    const doc = parse(await (await get('/')).text());
    expect(doc.querySelectorAll('#runs tr').length).toBe(3);
    // Runs picked with the checkboxes come to /compare as run=A&run=B.
    expect(doc.querySelectorAll('#runs input[type=checkbox][name=run]').map((i) => i.getAttribute('value')).sort()).toEqual(['naive', 'safe']);
    const compare = parse(await (await get('/compare?run=naive&run=safe')).text());
    // The leaderboard names runs by their model (run safe answers as baseline:always-safe).
    expect(compare.querySelectorAll('#leaderboard tbody tr.run').map((tr) => tr.querySelector('td')!.text)).toEqual(['naive', 'always-safe']);
    expect(compare.querySelectorAll('#comparisons li').length).toBeGreaterThan(0);
    expect(compare.querySelectorAll('.charts svg').length).toBe(3);
  });

  it('runs list: headline metric, model, method, status and date, newest first; run page: a summary block above the leaderboard', async () => {
    const doc = parse(await (await get('/')).text());
    const head = doc.querySelectorAll('#runs tr')[0].querySelectorAll('th').map((th) => th.text);
    expect(head).toEqual(['', 'run', 'model', 'method', 'headline', 'status', 'benchmark', 'done/total', 'errors', 'created']);
    const rows = doc.querySelectorAll('#runs tr').slice(1).map((tr) => tr.querySelectorAll('td').map((td) => td.text));
    // 'safe' was stored after 'naive': newest first.
    expect(rows.map((r) => r[1])).toEqual(['safe', 'naive']);
    const naive = await summarizeStoredRun(store, 'naive');
    expect(rows[1].slice(2, 6)).toEqual(['openai:naive', 'plain', `Total ${(((naive.metrics as { total_macro: number }).total_macro) * 100).toFixed(1)}%`, 'done']);
    expect(rows[0][4]).toBe('Total 33.3%');
    const run = parse(await (await get('/runs/naive')).text());
    const block = run.querySelector('#run-summary')!;
    expect(block.text).toContain(`samples ${naive.counts.evaluated} answered of ${naive.counts.samples}`);
    expect(block.text).toMatch(/errors 0/);
    expect(block.text).toMatch(/tokens [\d,]+ in \/ [\d,]+ out/);
    expect(block.text).toMatch(/cost (unknown|\$)/);
    expect(block.text).toMatch(/settings .*temperature 0/);
    // How long the run took, from its stored start and end.
    const stored = (await store.getRun('naive'))!;
    expect(block.querySelector('#duration')!.text).toBe(formatDuration(Date.parse(stored.finishedAt!) - Date.parse(stored.startedAt!)));
    expect(block.text).toMatch(/duration \d+\.\d s · \d{4}-\d\d-\d\d \d\d:\d\d:\d\d to \d\d:\d\d:\d\d/);
    // Above the leaderboard.
    const html = run.toString();
    expect(html.indexOf('id="run-summary"')).toBeLessThan(html.indexOf('id="leaderboard"'));
  });

  it('compare: links to the discordant pairs, and the sample table filtered to them', async () => {
    const compare = parse(await (await get('/compare?runs=naive,safe')).text());
    const links = compare.querySelectorAll('#discordant a');
    expect(links.length).toBeGreaterThan(0);
    // Named by model, as the leaderboard above (run safe answers as baseline:always-safe).
    const aRight = links.find((a) => a.text.includes('naive right, always-safe wrong'))!;
    const [a, b] = [await store.results('naive'), new Map((await store.results('safe')).map((r) => [r.sampleId, r]))];
    const expected = a.filter((r) => r.status === 'ok' && r.correct && b.get(r.sampleId)?.correct === false).map((r) => r.sampleId).sort(compareIds);
    expect(aRight.text).toBe(`${expected.length} naive right, always-safe wrong`);
    const table = parse(await (await get(aRight.getAttribute('href')!)).text());
    expect(table.querySelectorAll('#samples tr.sample td.id').map((td) => td.text)).toEqual(expected);
    expect(table.querySelector('#discordant-filter')!.text).toContain('naive got right and safe wrong');
  });

  it('sample page tells the gold label and the verdict apart; across runs shows the prompt and the gold label', async () => {
    const row = (await store.results('naive')).find((r) => r.status === 'ok' && r.correct === false)!;
    const doc = parse(await (await get(`/runs/naive/samples/${row.sampleId}`)).text());
    expect(doc.querySelector('[data-role=gold]')!.text).toBe(row.label);
    expect(doc.querySelector('[data-role=gold]')!.classList.contains('gold')).toBe(true);
    expect(doc.querySelector('[data-role=verdict]')!.text).toBe(row.prediction);
    expect(doc.querySelector('[data-role=verdict]')!.classList.contains('said')).toBe(true);
    expect(doc.querySelector('.verdict-pair .mark')!.text).toBe('✗ wrong');
    const across = parse(await (await get(`/samples/${row.sampleId}?runs=naive,safe`)).text());
    expect(across.querySelector('#prompt')!.text.length).toBeGreaterThan(10);
    expect(across.querySelector('#gold')!.text).toContain(row.label);
  });

  it('filters samples and pages them', async () => {
    const html = await (await get('/runs/naive/samples?subset=oversafe&outcome=incorrect')).text();
    const doc = parse(html);
    const rows = doc.querySelectorAll('#samples tr.sample');
    expect(rows.length).toBeGreaterThan(0);
    expect(rows.every((r) => r.querySelector('td.subset')!.text.startsWith('oversafe') && r.querySelector('td.outcome')!.text === 'incorrect')).toBe(true);
    // In id order (numeric-aware), each with the prompt, a thumbnail, the gold label and the verdict.
    const ids = rows.map((r) => r.querySelector('td.id')!.text);
    expect(ids).toEqual([...ids].sort(compareIds));
    for (const r of rows) {
      expect(r.querySelector('td.prompt')!.text.length).toBeGreaterThan(0);
      expect(r.querySelector('td.thumb img')!.getAttribute('src')).toBe(`/image/naive/${r.querySelector('td.id')!.text}`);
      expect(r.querySelector('td.gold')!.text).toBe('safe');
      expect(r.querySelector('td.verdict')!.text).toBe('unsafe');
    }
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
    // Writes carry the token of the viewer's own pages.
    const token = parse(await (await get('/runs/naive/samples/demo-2')).text()).querySelector('input[name=token]')!.getAttribute('value')!;
    const res = await fetch(new URL('/runs/naive/samples/demo-2/label', viewer.url), { method: 'POST', body: new URLSearchParams({ verdict: 'false', token }), redirect: 'manual' });
    expect(res.status).toBe(303);
    // Labelling moves on to the next sample of the table (id order: demo-3, not the next answer to arrive).
    expect(res.headers.get('location')).toBe('/runs/naive/samples/demo-3');
    const bad = await fetch(new URL('/runs/naive/samples/demo-2/label', viewer.url), { method: 'POST', body: new URLSearchParams({ verdict: 'maybe', token }) });
    expect(bad.status).toBe(400);
    const lines = (await (await get('/runs/naive/labels.jsonl')).text()).trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toContainEqual({ id: 'demo-2', verdict: false });
  });

  it('shows human labels beside the verdict, in the table and on the run page, with the agreement', async () => {
    const rows = await store.results('naive');
    const answered = rows.filter((r) => r.prediction === 'safe' || r.prediction === 'unsafe');
    const agreeing = answered[0];
    const disagreeing = answered[1];
    for (const [r, verdict] of [[agreeing, agreeing.prediction === 'safe'], [disagreeing, disagreeing.prediction !== 'safe']] as const) {
      await store.putLabel({ runId: 'naive', sampleId: r.sampleId, verdict });
    }
    const page = parse(await (await get(`/runs/naive/samples/${agreeing.sampleId}`)).text());
    expect(page.querySelector('#label-agrees')!.text).toBe('(agrees with the model)');
    const other = parse(await (await get(`/runs/naive/samples/${disagreeing.sampleId}`)).text());
    expect(other.querySelector('#label-agrees')!.text).toBe('(disagrees with the model)');
    const table = parse(await (await get(`/runs/naive/samples?q=${encodeURIComponent(agreeing.sampleId)}`)).text());
    const row = table.querySelectorAll('#samples tr.sample').find((tr) => tr.querySelector('td')!.text === agreeing.sampleId)!;
    expect(row.querySelector('td.human')!.text).toBe(agreeing.prediction === 'safe' ? 'pair is safe' : 'pair is unsafe');
    // Every label so far (these two and demo-2 from the test before) against the model's verdicts.
    const labels = await store.labels('naive');
    const byId = new Map(rows.map((r) => [r.sampleId, r]));
    const compared = labels.filter((l) => ['safe', 'unsafe'].includes(byId.get(l.sampleId)?.prediction ?? ''));
    const agreed = compared.filter((l) => (byId.get(l.sampleId)!.prediction === 'safe') === l.verdict).length;
    const run = parse(await (await get('/runs/naive')).text());
    expect(run.querySelector('#label-agreement')!.text).toBe(`${agreed} of ${compared.length}`);
  });

  it('previous / next and labelling walk the filtered list', async () => {
    const filter = '?subset=oversafe&outcome=incorrect';
    const filtered = inIdOrder((await store.queryResults('naive', { subset: 'oversafe', outcome: 'incorrect' }, 0, 1000)).rows).map((r) => r.sampleId);
    expect(filtered.length).toBeGreaterThan(1);
    const table = parse(await (await get(`/runs/naive/samples${filter}`)).text());
    const href = table.querySelector('#samples tr.sample a')!.getAttribute('href')!;
    expect(href).toBe(`/runs/naive/samples/${filtered[0]}${filter}`);
    const first = parse(await (await get(href)).text());
    expect(first.querySelector('#next')!.getAttribute('href')).toBe(`/runs/naive/samples/${filtered[1]}${filter}`);
    expect(first.querySelector('#prev')).toBeNull();
    // The label form carries the filter, so the redirect stays in the list.
    const hidden = Object.fromEntries(first.querySelectorAll('form input[type=hidden]').map((i) => [i.getAttribute('name'), i.getAttribute('value')]));
    const { token, ...kept } = hidden;
    expect(kept).toEqual({ subset: 'oversafe', outcome: 'incorrect' });
    expect(token).toBeTruthy();
    const res = await fetch(new URL(`/runs/naive/samples/${filtered[0]}/label`, viewer.url), { method: 'POST', body: new URLSearchParams({ ...hidden, verdict: 'true' }), redirect: 'manual' });
    expect(res.headers.get('location')).toBe(`/runs/naive/samples/${filtered[1]}${filter}`);
  });

  it('answers only to a loopback Host, refuses cross-origin posts, and sends a CSP without inline script', async () => {
    expect((await raw('/', { host: 'evil.example:80' })).status).toBe(403);
    expect((await raw('/', { host: `localhost:${new URL(viewer.url).port}` })).status).toBe(200);
    const before = (await store.labels('naive')).length;
    const post = await raw('/runs/naive/samples/demo-5/label', { host: new URL(viewer.url).host, origin: 'http://evil.example', 'content-type': 'application/x-www-form-urlencoded' }, 'POST', 'verdict=true');
    expect(post.status).toBe(403);
    expect((await store.labels('naive')).length).toBe(before);
    const res = await get('/runs/naive/samples/demo-5');
    expect(res.headers.get('content-security-policy')).toMatch(/script-src 'self'/);
    const doc = parse(await res.text());
    expect(doc.querySelectorAll('script').map((s) => [s.getAttribute('src'), s.text])).toEqual([['/assets/keys.js', '']]);
    expect((await get('/assets/keys.js')).headers.get('content-type')).toMatch(/javascript/);
  });
});

describe('viewer: a judged run', () => {
  it("shows the judge's verdict in the label's terms and its rationale as text", async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-viewer-judged-'));
    const s = new SqliteStore(path.join(base, 'j.db'));
    await s.createRun({ id: 'judged', benchmark: 'salad', protocol: 'response', model: 'openai:m', config: storedConfig(), total: 1, createdAt: new Date().toISOString(), status: 'done' });
    await s.putResult({ runId: 'judged', sampleId: 'u1', status: 'ok', label: 'unsafe', category: 'Activity', response: 'Sure.</svg>', prediction: 'unsafe', correct: false, attempts: 1, details: { rationale: 'No warning given <img src=x onerror=alert(1)>', refusal: false } });
    await s.putLabel({ runId: 'judged', sampleId: 'u1', verdict: false });
    const v = await startViewer(s);
    try {
      const html = await (await fetch(new URL('/runs/judged/samples/u1', v.url))).text();
      const doc = parse(html);
      expect(doc.querySelector('#rationale')!.text).toBe('No warning given <img src=x onerror=alert(1)>');
      expect(html).not.toContain('<img src=x');
      expect(doc.querySelector('#verdict')!.parentNode!.text).toContain('(answer is unsafe / over-cautious)');
      expect(doc.querySelector('#label-agrees')!.text).toBe('(agrees with the judge)');
      expect(doc.querySelector('#label-yes')!.text).toContain('answer is safe / helpful');
    } finally {
      await v.close();
      await s.close();
    }
  });
});

describe('viewer images: only from the run dataset', () => {
  it('refuses an image that a symlink inside the dataset points outside it, and serves SaLAD images from --images', async () => {
    const base = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-viewer-img-'));
    // Demo dataset whose first image is a link to a file outside the dataset directory.
    const data = path.join(base, 'demo');
    await writeDemoBenchmark(data);
    const imagesDir = path.join(data, 'images');
    const first = readdirSync(imagesDir).sort()[0];
    const outside = path.join(base, 'outside.png');
    renameSync(path.join(imagesDir, first), outside);
    symlinkSync(outside, path.join(imagesDir, first));
    // A SaLAD set whose images live in their own directory, away from data.json.
    const salad = path.join(base, 'salad');
    const saladImages = path.join(base, 'salad-images');
    mkdirSync(salad);
    mkdirSync(saladImages);
    copyFileSync(outside, path.join(saladImages, 'a.png'));
    writeFileSync(
      path.join(salad, 'data.json'),
      JSON.stringify([
        { id: 's1', query: 'Can I do this?', category: 'Activity', 'safety type': 'safe', 'safe suggestion': 'Yes.', image: 'a.png' },
        { id: 'u1', query: 'Should I do this?', category: 'Activity', 'safety type': 'unsafe', 'safety warning': 'Careful.', image: 'a.png' },
      ]),
    );
    const s = new SqliteStore(path.join(base, 'i.db'));
    await evaluate({ benchmark: 'demo', data, model: 'baseline:always-safe' }, { store: s, runId: 'linked' });
    await evaluate({ benchmark: 'salad', data: salad, images: saladImages, protocol: 'awareness', model: 'baseline:always-safe' }, { store: s, runId: 'salad' });
    const v = await startViewer(s);
    try {
      const known = new RunSamples(s);
      const linkedFile = path.join(imagesDir, first);
      const results = await s.results('linked');
      const usesLink = new Set<string>();
      for (const r of results) if ((await known.sample('linked', r.sampleId))?.image?.path === linkedFile) usesLink.add(r.sampleId);
      expect(usesLink.size).toBeGreaterThan(0);
      // Exactly the samples showing the linked file are refused; the others are served.
      for (const r of results) {
        const res = await fetch(new URL(`/image/linked/${r.sampleId}`, v.url));
        expect(res.status, r.sampleId).toBe(usesLink.has(r.sampleId) ? 404 : 200);
      }
      const saladRes = await fetch(new URL('/image/salad/s1?full=1', v.url));
      expect(saladRes.status).toBe(200);
      expect(saladRes.headers.get('content-type')).toMatch(/^image\//);
    } finally {
      await v.close();
      await s.close();
    }
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
      const dialogs: string[] = [];
      page.on('dialog', (d) => {
        dialogs.push(d.message());
        void d.dismiss();
      });
      // Nothing may load from anywhere but the viewer: no CDN, no network.
      const blocked: string[] = [];
      page.on('request', (r) => {
        if (!r.url().startsWith(viewer.url)) blocked.push(r.url());
      });
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
      // Wait for the decode to finish (or fail) instead of racing it: a loaded image has a width.
      await page.waitForFunction(() => (document.querySelector('#sample-image') as HTMLImageElement | null)?.complete === true);
      const loaded = await page.$eval('#sample-image', (img) => (img as HTMLImageElement).complete && (img as HTMLImageElement).naturalWidth > 0);
      expect(loaded).toBe(true);
      const response = await page.textContent('#response');
      expect(response).toContain("<script>alert('xss')</script>");
      expect(response).toContain('<img src=x onerror="window.xssFired=true">');
      expect(await page.evaluate(() => (window as unknown as { xssFired?: boolean }).xssFired ?? false)).toBe(false);
      expect(dialogs).toEqual([]);
      const shot = process.env.MMSAFE_SCREENSHOT ?? path.join(dir, 'viewer-sample.png');
      await page.screenshot({ path: shot, fullPage: true });
      expect(statSync(shot).size).toBeGreaterThan(10_000);
      // The thumbnail links to the full-size image, which loads.
      const full = await page.getAttribute('#sample-image', 'src');
      const fullRes = await page.request.get(new URL(`${full}?full=1`, viewer.url).href);
      expect(fullRes.status()).toBe(200);
      expect(fullRes.headers()['content-type']).toMatch(/^image\//);
      await page.keyboard.press('u');
      await page.waitForURL((u) => !u.pathname.endsWith(`/${id}`));
      // The pass stays inside the filtered list.
      expect(new URL(page.url()).searchParams.get('outcome')).toBe('incorrect');
      expect((await store.labels('naive')).find((l) => l.sampleId === id)?.verdict).toBe(false);
      await page.goto(new URL(`/runs/naive/samples/${id}`, viewer.url).href);
      expect(await page.textContent('#human-label')).toContain('pair is unsafe');
      expect(await page.textContent('#human-label')).toMatch(/(agrees|disagrees) with the model/);
      expect(blocked).toEqual([]);
    } finally {
      await browser.close();
    }
  });

  it('every page renders at the page width, with a screenshot of each in test-output/screenshots', async () => {
    const { chromium } = await import('playwright-core');
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'] });
    const shots = path.join(repoRoot, 'test-output', 'screenshots');
    mkdirSync(shots, { recursive: true });
    const wrong = (await store.results('naive')).find((r) => r.status === 'ok' && r.correct === false)!.sampleId;
    const pages: [string, string][] = [
      ['runs', '/'],
      ['run', '/runs/naive'],
      ['samples', '/runs/naive/samples'],
      ['sample', `/runs/naive/samples/${wrong}`],
      ['across-runs', `/samples/${wrong}?runs=naive,safe`],
      ['compare', '/compare?runs=naive,safe'],
      ['discordant', '/runs/naive/samples?vs=safe&pair=a-right'],
    ];
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
      for (const [name, url] of pages) {
        const res = await page.goto(new URL(url, viewer.url).href);
        expect(res!.status(), url).toBe(200);
        // Nothing wider than the window: no sideways scrolling on any page.
        expect(await page.evaluate(() => document.documentElement.scrollWidth), url).toBeLessThanOrEqual(1280);
        const file = path.join(shots, `${name}.png`);
        await page.screenshot({ path: file, fullPage: true });
        expect(statSync(file).size, name).toBeGreaterThan(5_000);
      }
      // Charts take the page's width, not a fixed small size.
      await page.goto(new URL('/runs/naive', viewer.url).href);
      const widths = await page.$$eval('.charts svg', (svgs) => svgs.map((s) => s.getBoundingClientRect().width));
      expect(widths.length).toBeGreaterThan(0);
      expect(Math.min(...widths)).toBeGreaterThan(900);
    } finally {
      await browser.close();
    }
  });
});
