import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError, type GenerateRequest, type Provider } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { samplesCsv, samplesJsonl } from '../src/report/formats.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { answerKey, type Store } from '../src/store/store.ts';
import { startViewer } from '../src/viewer/serve.ts';
import { parse as parseCsv } from 'csv-parse/sync';
import { runCli } from './helpers/cli.ts';
import { judgeVerdicts, measureJudge } from '../src/cli/judge-agreement.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';

/** `--samples K`: each item asked K times, every answer stored under its repeat index. */

/**
 * A model whose answer depends on the item and on which of its answers is asked (the runner passes
 * the repeat, never sent to a real API): item `x` answers `script[x][repeat]`, else "No.".
 */
function scripted(script: Record<string, string[]> = {}, fail?: (id: string, repeat: number) => boolean) {
  const asked: { id: string; repeat: number }[] = [];
  const provider: Provider & { asked: typeof asked } = {
    id: 'openai:scripted',
    imageLimits: { maxSide: 4096, maxBytes: 20_000_000, accepts: ['image/jpeg', 'image/png'] },
    needsImages: false,
    asked,
    describe: () => ({}),
    async generate(request: GenerateRequest) {
      const id = request.itemId ?? '?';
      const repeat = request.repeat ?? 0;
      asked.push({ id, repeat });
      if (fail?.(id, repeat)) throw new ProviderError('bad_request', `refused ${id}/${repeat}`);
      return { text: script[id]?.[repeat] ?? 'No.', finishReason: 'stop' };
    },
  };
  return provider;
}

let dir: string;
const stores: Store[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-repeats-'));
  await writeDemoBenchmark(dir);
});
afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

function sqlite(name: string): SqliteStore {
  const s = new SqliteStore(path.join(dir, `${name}.db`));
  stores.push(s);
  return s;
}

const settings = (extra: Record<string, unknown> = {}) => ({ benchmark: 'demo', data: dir, model: 'openai:scripted', limit: 4, concurrency: 2, ...extra });
const keysOf = (rows: { sampleId: string; repeat?: number }[]) => rows.map((r) => answerKey(r.sampleId, r.repeat)).sort();

describe('--samples K in the runner', () => {
  it('asks every item K times and stores each answer under its repeat; K = 1 stores rows as before', async () => {
    const store = sqlite('k3');
    const model = scripted({ 'demo-1': ['No.', 'Yes.', 'No.'] });
    const r = await evaluate(settings({ samples: 3 }), { store, runId: 'k3', provider: model });
    expect(r.progress).toMatchObject({ total: 12, done: 12, errors: 0 });
    expect(model.asked.map((a) => `${a.id}/${a.repeat}`).sort()).toEqual(['demo-1', 'demo-2', 'demo-3', 'demo-4'].flatMap((id) => [0, 1, 2].map((k) => `${id}/${k}`)).sort());
    const rows = await store.results('k3');
    expect(rows).toHaveLength(12);
    expect((await store.resultsOf('k3', 'demo-1')).map((x) => [x.repeat ?? 0, x.response])).toEqual([[0, 'No.'], [1, 'Yes.'], [2, 'No.']]);
    expect((await store.result('k3', 'demo-1', 1))?.response).toBe('Yes.');
    expect((await store.result('k3', 'demo-1'))?.response).toBe('No.');

    const one = sqlite('k1');
    await evaluate(settings(), { store: one, runId: 'k1', provider: scripted() });
    const plain = await one.results('k1');
    expect(plain).toHaveLength(4);
    expect(plain.every((x) => !('repeat' in x) || x.repeat === undefined)).toBe(true);
    expect((await one.getRun('k1'))?.config.run).not.toHaveProperty('samples');
  });

  it('resume asks only the missing (item, repeat) pairs, and more repeats may be added to a run later', async () => {
    const store = sqlite('resume');
    let refuse = true;
    const first = scripted({}, (id, k) => refuse && id === 'demo-2' && k === 1);
    const r = await evaluate(settings({ samples: 2 }), { store, runId: 'res', provider: first });
    expect(r.progress.errors).toBe(1);
    expect((await store.result('res', 'demo-2', 1))?.status).toBe('error');

    refuse = false;
    const second = scripted();
    await evaluate(undefined, { store, runId: 'res', resume: true, provider: second });
    expect(second.asked).toEqual([{ id: 'demo-2', repeat: 1 }]);

    const third = scripted();
    await evaluate({ samples: 3 } as never, { store, runId: 'res', resume: true, provider: third });
    expect(third.asked.map((a) => a.repeat)).toEqual([2, 2, 2, 2]);
    expect(keysOf(await store.results('res'))).toHaveLength(12);
    await expect(evaluate({ samples: 1 } as never, { store, runId: 'res', resume: true, provider: scripted() })).rejects.toThrow(/may only grow/);
  });

  it('--cache keeps K answers K answers: repeat r of an identical request reuses only an earlier repeat r', async () => {
    const store = sqlite('cache');
    const script = { 'demo-1': ['No.', 'Yes.', 'Maybe.'] };
    const first = scripted(script);
    await evaluate(settings({ samples: 3, cache: true }), { store, runId: 'c1', provider: first });
    // Identical requests at temperature 0: without the repeat in the key, repeats 1 and 2 would be cache hits.
    expect(first.asked).toHaveLength(12);
    expect((await store.resultsOf('c1', 'demo-1')).map((x) => x.response)).toEqual(['No.', 'Yes.', 'Maybe.']);

    const second = scripted({});
    await evaluate(settings({ samples: 3, cache: true }), { store, runId: 'c2', provider: second });
    expect(second.asked).toHaveLength(0);
    expect((await store.resultsOf('c2', 'demo-1')).map((x) => x.response)).toEqual(['No.', 'Yes.', 'Maybe.']);
    expect((await store.results('c2')).every((x) => x.details?.cached_answer === true)).toBe(true);

    // A run asking each item once reuses the first answers, as before repeats existed.
    const third = scripted({});
    await evaluate(settings({ cache: true }), { store, runId: 'c3', provider: third });
    expect(third.asked).toHaveLength(0);
    expect((await store.result('c3', 'demo-1'))?.response).toBe('No.');
  });

  it('export: jsonl and csv have a repeat column, one line per answer, an item\'s repeats in order', async () => {
    const store = sqlite('export');
    await evaluate(settings({ samples: 2, limit: 2 }), { store, runId: 'ex', provider: scripted({ 'demo-1': ['No.', 'Yes.'] }) });
    const lines = (await samplesJsonl(store, 'ex')).trim().split('\n').map((l) => JSON.parse(l) as { id: string; repeat: number; response: string });
    expect(lines.map((l) => [l.id, l.repeat])).toEqual([['demo-1', 0], ['demo-1', 1], ['demo-2', 0], ['demo-2', 1]]);
    expect(lines[1].response).toBe('Yes.');
    const csv = parseCsv(await samplesCsv(store, ['ex'])) as string[][];
    const at = csv[0].indexOf('repeat');
    expect(csv[0].slice(0, 3)).toEqual(['run', 'model', 'id']);
    expect(at).toBe(csv[0].length - 1);
    expect(csv.slice(1).map((l) => `${l[2]}/${l[at]}`)).toEqual(['demo-1/0', 'demo-1/1', 'demo-2/0', 'demo-2/1']);
  });

  it('judge agreement pairs answer with answer: a human label with the first answer, another run with the same repeat', async () => {
    const store = sqlite('agree');
    await evaluate(settings({ samples: 2, limit: 1 }), { store, runId: 'ag', provider: scripted({ 'demo-1': ['No.', 'Yes.'] }) });
    const verdicts = await judgeVerdicts(store, 'ag');
    expect([...verdicts.entries()].map(([k, v]) => [k, v.verdict]).sort()).toEqual([['demo-1', false], [answerKey('demo-1', 1), true]].sort());
    expect(await measureJudge(store, 'ag', { labels: new Map([['demo-1', false]]) })).toMatchObject({ n: 1, unmatched: 0 });
  });

  it("the viewer's sample page shows every answer of the item; one answer shows no repeat table", async () => {
    const store = sqlite('viewer');
    await evaluate(settings({ samples: 3, limit: 2 }), { store, runId: 'v3', provider: scripted({ 'demo-1': ['No <b>one</b>.', 'Yes.', 'No, three.'] }) });
    await evaluate(settings({ limit: 2 }), { store, runId: 'v1', provider: scripted() });
    const viewer = await startViewer(store);
    const get = async (p: string) => parse(await (await fetch(new URL(p, viewer.url))).text());
    try {
      const page = await get('/runs/v3/samples/demo-1');
      const repeats = page.querySelectorAll('#repeats tr.repeat');
      expect(repeats.map((tr) => tr.querySelector('pre')?.text)).toEqual(['No <b>one</b>.', 'Yes.', 'No, three.']);
      expect(page.querySelector('#repeats')?.innerHTML).not.toContain('<b>one</b>');
      // Walking the list visits each item once, not once per answer.
      expect(page.querySelector('#next')?.getAttribute('href')).toContain('/samples/demo-2');
      const single = await get('/runs/v1/samples/demo-1');
      expect(single.querySelector('#repeats')).toBeNull();
    } finally {
      await viewer.close();
    }
  });
});

describe('--samples in the dry-run estimate', () => {
  it('K answers per item are K requests per item, at K times the tokens and the cost', async () => {
    const store = sqlite('dry');
    const est = async (extra: Record<string, unknown>) => (await evaluate(settings({ model: 'openai:gpt-4o', ...extra }), { store, runId: 'dry', dryRun: true, provider: scripted() })).estimate!;
    const one = await est({});
    const three = await est({ samples: 3 });
    expect(three).toMatchObject({ samples: one.samples, requests: 3 * one.requests, input_tokens: 3 * one.input_tokens, output_tokens: 3 * one.output_tokens });
    expect(three.cost_usd!).toBeCloseTo(3 * one.cost_usd!, 12);
  });
});

describe('--samples on the command line and in a config file', () => {
  it('mmsafe run --samples 2 and {"samples": 2} store two answers per item', async () => {
    const db = path.join(dir, 'cli.db');
    const common = ['run', '--benchmark', 'demo', '--data', dir, '--model', 'baseline:always-unsafe', '--limit', '3', '--db', db, '--quiet'];
    const flag = await runCli([...common, '--run-id', 'flag', '--samples', '2']).done;
    expect(flag.code, flag.stderr).toBe(0);
    expect(flag.stderr).toMatch(/3 samples to evaluate, 2 answers each, 6 pending/);
    const config = path.join(dir, 'repeats.json');
    writeFileSync(config, JSON.stringify({ samples: 2 }));
    const file = await runCli([...common, '--run-id', 'file', '--config', config]).done;
    expect(file.code, file.stderr).toBe(0);
    const store = new SqliteStore(db, { readOnly: true });
    try {
      for (const id of ['flag', 'file']) expect(keysOf(await store.results(id))).toHaveLength(6);
    } finally {
      await store.close();
    }
    // Progress is counted in answers: 6 of 6, not 6 of 3.
    const listed = await runCli(['runs', '--db', db, '--json']).done;
    expect(JSON.parse(listed.stdout).find((r: { id: string }) => r.id === 'flag')).toMatchObject({ done: 6, evaluable: 6 });
    const bad = await runCli([...common, '--run-id', 'bad', '--samples', '0']).done;
    expect(bad.code).not.toBe(0);
  });
});

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

describe.skipIf(!pg)('--samples K on a shared PostgreSQL store', () => {
  afterAll(async () => pg?.drop());
  /** A store for one test, closed before the test ends (the database is dropped after the last). */
  async function withStore(work: (store: PostgresStore) => Promise<void>): Promise<void> {
    const store = await PostgresStore.connect(pg!.url);
    try {
      await work(store);
    } finally {
      await store.close();
    }
  }

  it('queues one entry per (item, repeat); claims carry the repeat; storing an answer dequeues only it', () => withStore(async (store) => {
    await store.createRun({ id: 'q', benchmark: 'demo', protocol: 'awareness', model: 'openai:m', total: 2, createdAt: new Date().toISOString(), status: 'queued', config: { version: 1, run: settings() } as never });
    expect(await store.enqueue('q', ['a', 'b'], 3)).toBe(6);
    expect(await store.enqueue('q', ['a', 'b'], 3)).toBe(0);
    const claimed = await store.claim('w', 10, 60_000, ['q']);
    expect(claimed.map((c) => `${c.sampleId}/${c.repeat}`)).toEqual(['a/0', 'a/1', 'a/2', 'b/0', 'b/1', 'b/2']);
    await store.putResult({ runId: 'q', sampleId: 'a', repeat: 1, status: 'ok', label: 'unsafe', response: 'No.', attempts: 1 });
    expect(await store.pending(['q'])).toBe(5);
    expect(await store.completedAmong('q', ['a', 'b'], 3)).toEqual(new Set([answerKey('a', 1)]));
    await store.release('w');
    // Another answer stored is not queued again; more repeats later add only what is new.
    expect(await store.enqueue('q', ['a'], 4)).toBe(1);
  }));

  it('a run with --samples 2 through the queue stores every answer once', () => withStore(async (store) => {
    const model = scripted();
    const r = await evaluate(settings({ samples: 2 }), { store, runId: 'pgk', provider: model });
    expect(r.progress).toMatchObject({ total: 8, done: 8 });
    expect(model.asked).toHaveLength(8);
    expect(keysOf(await store.results('pgk'))).toEqual(['demo-1', 'demo-2', 'demo-3', 'demo-4'].flatMap((id) => [id, answerKey(id, 1)]).sort());
    expect(await store.pending(['pgk'])).toBe(0);
  }));
});
