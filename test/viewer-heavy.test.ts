import { mkdtempSync, rmSync } from 'node:fs';
import type { Server } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ResultRow } from '../src/core/types.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { ScanOptions, Store } from '../src/store/store.ts';
import { startViewer } from '../src/viewer/serve.ts';
import { storedConfig } from './helpers/run-config.ts';

/**
 * Pages that summarise whole runs (the runs list, a run's page, comparisons) must not hold up the
 * viewer's other pages, must not pile up, and must show a run's rows as they are now. The runs are
 * written straight into the store, large enough that summarising them takes a while.
 */
const RUNS = 6;
const ROWS = 1500;
const ids = Array.from({ length: RUNS }, (_, k) => `r${k}`);

function row(runId: string, k: number, i: number): ResultRow {
  const label = i % 2 ? 'safe' : 'unsafe';
  const right = (i * 7 + k * 13) % 10 < 5 + (k % 4);
  const prediction = right ? label : label === 'safe' ? 'unsafe' : 'safe';
  return { runId, sampleId: `s${i}`, status: 'ok', label, subset: `part${i % 3}`, response: `answer ${i} of ${runId}`, prompt: `question ${i}`, prediction, correct: right, imageSha256: `img${i % 50}`, inputTokens: 20, outputTokens: 3, attempts: 1 };
}

/** The store as the viewer sees it, with a record of which runs were scanned, and a way to hold one run's scan. */
class Watched {
  scans: string[] = [];
  private waiters: { runId: string; resolve: () => void }[] = [];
  private held = new Map<string, Promise<void>>();
  readonly store: Store;

  constructor(inner: Store) {
    this.store = new Proxy(inner, {
      get: (target, key) => {
        const v = Reflect.get(target, key, target) as unknown;
        if (key === 'scanResults') return (runId: string, opts?: ScanOptions) => this.scan(target, runId, opts);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    });
  }

  private async *scan(target: Store, runId: string, opts?: ScanOptions): AsyncGenerator<ResultRow> {
    this.scans.push(runId);
    for (const w of this.waiters.filter((x) => x.runId === runId)) w.resolve();
    this.waiters = this.waiters.filter((x) => x.runId !== runId);
    await this.held.get(runId);
    yield* target.scanResults(runId, opts);
  }

  /** Resolves when some page starts summarising the run. */
  scanned(runId: string): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ runId, resolve }));
  }

  /** Until the returned function is called, summarising the run waits. */
  hold(runId: string): () => void {
    let release!: () => void;
    this.held.set(runId, new Promise((r) => (release = r)));
    return () => {
      this.held.delete(runId);
      release();
    };
  }
}

let base: string;
let inner: SqliteStore;
let watched: Watched;
let viewer: Awaited<ReturnType<typeof startViewer>>;
const get = (p: string) => fetch(new URL(p, viewer.url));

beforeAll(async () => {
  base = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-viewer-heavy-'));
  inner = new SqliteStore(path.join(base, 'heavy.db'));
  for (const [k, id] of ids.entries()) {
    await inner.createRun({ id, benchmark: 'custom', protocol: 'awareness', model: `openai:model-${k}`, config: storedConfig({ benchmark: 'custom' }), total: ROWS, createdAt: new Date(Date.UTC(2026, 0, 1, 0, k)).toISOString(), status: 'done' });
    for (let i = 0; i < ROWS; i++) await inner.putResult(row(id, k, i));
  }
  watched = new Watched(inner);
  viewer = await startViewer(watched.store);
  // The client here shares the server's event loop, which these tests keep busy: an idle connection
  // the server times out could be picked for the next request before the client sees it close.
  (viewer.server as Server).keepAliveTimeout = 0;
}, 120_000);

afterAll(async () => {
  await viewer?.close();
  await inner?.close();
  rmSync(base, { recursive: true, force: true });
});

/**
 * Fires the slow page, waits until it summarises its first run, then asks for the cheap one. Says
 * which finished first, and which runs the slow page had started summarising when the cheap one
 * was answered (ordering, not durations: the machine may be loaded).
 */
async function raceAgainst(slowPath: string, cheapPath: string, firstRun: string) {
  const order: string[] = [];
  const started = watched.scanned(firstRun);
  const from = watched.scans.length;
  const slow = get(slowPath).then(async (r) => (await r.text(), order.push('slow'), r.status));
  await started;
  const cheap = await get(cheapPath);
  await cheap.text();
  order.push('cheap');
  const scannedMeanwhile = watched.scans.slice(from);
  return { order, slow: await slow, cheap: cheap.status, scannedMeanwhile };
}

describe('pages that summarise whole runs', { timeout: 120_000 }, () => {
  it('a sample page asked while a comparison of every run renders is answered before it', async () => {
    // Warm: the sample page's own first-time work (the run's dataset) is not what is measured.
    expect((await get('/runs/r1/samples/s7')).status).toBe(200);
    const r = await raceAgainst(`/compare?runs=${ids.join(',')}`, '/runs/r1/samples/s7', 'r0');
    expect(r).toMatchObject({ order: ['cheap', 'slow'], slow: 200, cheap: 200 });
    // Answered between the comparison's steps, long before it reached its last run.
    expect(r.scannedMeanwhile).not.toContain(ids[RUNS - 1]);
  });

  it('a sample table asked while the runs list summarises every run is answered before it', async () => {
    // The list is newest first: r5 is summarised first, r0 last.
    const r = await raceAgainst('/', '/runs/r2/samples?page=2', ids[RUNS - 1]);
    expect(r).toMatchObject({ order: ['cheap', 'slow'], slow: 200, cheap: 200 });
    expect(r.scannedMeanwhile).not.toContain(ids[0]);
  });

  it('summaries are kept until the run\'s rows change: a run being written never shows a stale page', async () => {
    const page = async () => (await (await get('/runs/r3')).text()).replace(/gradient_\d+/g, 'gradient_N');
    const first = await page();
    const before = watched.scans.length;
    expect(await page()).toBe(first);
    expect((await get('/')).status).toBe(200);
    // Nothing was summarised again: the run page and the runs list came from memory.
    expect(watched.scans.length).toBe(before);
    expect(first).toMatch(/1500 answered of 1500/);
    // A late answer arrives (a resume, a worker): the next page summarises the run again and shows it.
    await inner.putResult({ ...row('r3', 3, ROWS), status: 'error', errorKind: 'timeout', errorMessage: 'slow server', prediction: undefined, correct: undefined });
    const after = await page();
    expect(watched.scans.slice(before)).toContain('r3');
    expect(after).toMatch(/1500 answered of 1500/);
    expect(after).toMatch(/timeout ×1/);
  });

  it('heavy requests beyond the bound get a 503 with Retry-After while the others wait; identical ones share one computation', async () => {
    const scansBefore = watched.scans.length;
    const release = watched.hold('r5');
    const started = watched.scanned('r5');
    const first = get(`/compare?runs=r5,r4`);
    await started;
    // Ten different heavy pages while the first holds the gate: a few wait their turn, the rest are refused at once.
    const others = ['/compare?runs=r4,r0', '/compare?runs=r4,r1', '/compare?runs=r4,r2', '/compare?runs=r0,r1', '/compare?runs=r0,r2', '/compare?runs=r1,r2', '/compare?runs=r0,r3', '/compare?runs=r1,r3', '/compare?runs=r2,r3', '/compare?runs=r0,r1,r2'];
    const settled: (Response | undefined)[] = others.map(() => undefined);
    const answers = others.map((p, i) => get(p).then((r) => (settled[i] = r)));
    // The same comparison as the first, asked again and again: it waits for the first, it does not take a turn.
    const repeats = Array.from({ length: 8 }, () => get(`/compare?runs=r5,r4`));
    // Every refusal arrives while the gate is still held: nothing hangs.
    await new Promise<void>((resolve) => {
      const check = () => (settled.filter(Boolean).length >= others.length - 4 ? resolve() : setTimeout(check, 10));
      check();
    });
    const refused = settled.filter((r): r is Response => r !== undefined);
    expect(refused).toHaveLength(others.length - 4);
    for (const r of refused) {
      expect(r.status).toBe(503);
      expect(r.headers.get('retry-after')).toBe('2');
      expect(await r.text()).toMatch(/busy/);
    }
    release();
    const all = await Promise.all(answers);
    expect(all.filter((r) => r.status === 200)).toHaveLength(4);
    const firstPage = await (await first).text();
    expect(firstPage).toMatch(/Leaderboard/);
    for (const r of await Promise.all(repeats)) {
      expect(r.status).toBe(200);
      expect(await r.text()).toBe(firstPage);
    }
    // r5 was summarised once, for the first request: the repeats shared it.
    expect(watched.scans.slice(scansBefore).filter((id) => id === 'r5')).toHaveLength(1);
  });
});
