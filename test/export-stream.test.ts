import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { stringify } from 'csv-stringify/sync';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomicFrom } from '../src/core/atomic-write.ts';
import { redactSecrets } from '../src/core/redact.ts';
import type { ResultRow } from '../src/core/types.ts';
import { csvSafe } from '../src/report/csv-safe.ts';
import { samplesCsvStream, samplesJsonlStream, upstreamJsonlStream, collect } from '../src/report/formats.ts';
import { inIdOrder } from '../src/report/order.ts';
import { leaderboardHtml } from '../src/report/html.ts';
import { buildLeaderboard } from '../src/report/leaderboard.ts';
import { PostgresStore } from '../src/store/postgres.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import type { ScanOptions, Store } from '../src/store/store.ts';
import { runCli } from './helpers/cli.ts';
import { POSTGRES_SKIP_MESSAGE, testDatabase } from './helpers/postgres.ts';
import { storedConfig } from './helpers/run-config.ts';

const pg = await testDatabase();
if (!pg) console.warn(`\n*** ${POSTGRES_SKIP_MESSAGE} ***\n`);

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-export-'));
  dirs.push(d);
  return d;
};
afterAll(async () => {
  await pg?.drop();
  dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
});

/*
 * The exports as they were before they streamed (every row read at once, sorted in memory),
 * verbatim: the streamed output must equal them byte for byte.
 */
const old = {
  async csv(store: Store, runIds: string[]): Promise<string> {
    const records: unknown[][] = [];
    for (const id of runIds) {
      const run = await store.getRun(id);
      for (const r of inIdOrder(await store.results(id))) {
        records.push([
          id, run?.model ?? '', r.sampleId, r.subset ?? '', r.scenario ?? '', r.category ?? '', r.label, r.prediction ?? '',
          r.correct === undefined ? '' : r.correct ? 1 : 0, r.response ?? '', r.errorKind ? `${r.errorKind}: ${redactSecrets(r.errorMessage ?? '')}` : '',
          r.latencyMs ?? '', r.inputTokens ?? '', r.outputTokens ?? '', r.prompt ?? '', r.system ?? '', r.costUsd ?? '', r.judgeCostUsd ?? '', r.repeat ?? 0,
        ]);
      }
    }
    return stringify(records, {
      header: true,
      cast: { string: csvSafe },
      columns: ['run', 'model', 'id', 'subset', 'scenario', 'category', 'label', 'verdict', 'correct', 'response', 'error', 'latency_ms', 'input_tokens', 'output_tokens', 'prompt', 'system', 'cost_usd', 'judge_cost_usd', 'repeat'],
    });
  },
  async jsonl(store: Store, runId: string): Promise<string> {
    const lines: string[] = [];
    for (const r of inIdOrder(await store.results(runId))) {
      lines.push(JSON.stringify({
        id: r.sampleId, repeat: r.repeat ?? 0, status: r.status, label: r.label, subset: r.subset, scenario: r.scenario, domain: r.domain, attack: r.attack, category: r.category,
        prompt: r.prompt ?? null, system: r.system ?? null, response: r.response ?? null, verdict: r.prediction ?? null, correct: r.correct ?? null,
        error: r.errorKind ? { kind: r.errorKind, message: redactSecrets(r.errorMessage ?? '') } : null, latency_ms: r.latencyMs ?? null, attempts: r.attempts,
        input_tokens: r.inputTokens ?? null, output_tokens: r.outputTokens ?? null, cached_tokens: r.cachedTokens ?? null, reasoning_tokens: r.reasoningTokens ?? null,
        cost_usd: r.costUsd ?? null, judge_input_tokens: r.judgeInputTokens ?? null, judge_output_tokens: r.judgeOutputTokens ?? null, judge_cost_usd: r.judgeCostUsd ?? null,
        image_sha256: r.imageSha256 ?? null, details: r.details ?? null,
      }));
    }
    return lines.map((l) => `${l}\n`).join('');
  },
  async upstream(store: Store, runId: string): Promise<string> {
    return inIdOrder(await store.results(runId))
      .filter((r) => r.status === 'ok')
      .map((r) => `${JSON.stringify({ id: /^\d+$/.test(r.sampleId) ? Number(r.sampleId) : r.sampleId, response: r.response ?? '', ...(r.repeat ? { repeat: r.repeat } : {}) })}\n`)
      .join('');
  },
};

/** Deterministic shuffle, so rows arrive (and get their rowids) in neither key nor id order. */
function shuffled<T>(xs: T[], seed = 7): T[] {
  const out = [...xs];
  for (let i = out.length - 1; i > 0; i--) {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    const j = seed % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

const ANSWERS = ['=HYPERLINK("http://x","y")', '+1', '@cmd', '\tlead tab', '\rlead cr', '-2+3|calc', '- a list item', '-5', 'nul\u0000inside', 'line one\nline "two", with comma', 'plain answer', 'ünïcödé 🙂', 'lone \ud800 surrogate'];

/** A run with ids whose key order (binary) and id order (numeric-aware) differ, repeats, errors, NUL bytes and formula-led cells. */
async function fixture(store: Store, runId: string, items: number): Promise<void> {
  await store.createRun({ id: runId, benchmark: 'custom', protocol: 'awareness', model: 'openai:m=1', config: storedConfig({ samples: 3 }), total: items, createdAt: new Date().toISOString(), status: 'done' });
  const ids = [...Array.from({ length: items - 6 }, (_, i) => String(i)), 'img-9', 'img-10', 'Img-2', 'a b', 'é', 'z~'];
  const rows: ResultRow[] = [];
  for (const [i, id] of ids.entries()) {
    for (let repeat = 0; repeat < (i % 4 === 0 ? 3 : 1); repeat++) {
      const base = { runId, sampleId: id, repeat, label: i % 2 ? 'safe' : 'unsafe', subset: `sub${i % 3}`, category: i % 5 ? `cat ${i % 5}` : '=cat', attempts: 1 + (i % 3) } as const;
      rows.push(
        i % 11 === 3
          ? { ...base, status: 'error', errorKind: 'server', errorMessage: `upstream said no, Bearer tok${i}abcdefgh, \u0000`, attempts: 6, latencyMs: 12 }
          : {
              ...base, status: 'ok', response: `${ANSWERS[(i + repeat) % ANSWERS.length]} #${i}`, prediction: i % 7 ? 'safe' : 'unparsed', correct: i % 3 === 0,
              prompt: i % 6 ? `question ${i}` : '=question', system: i % 9 ? undefined : '@system', latencyMs: 100 + 7 * i, inputTokens: i, outputTokens: 2 * i,
              costUsd: i % 4 ? i * 1e-7 : undefined, judgeCostUsd: i % 8 ? undefined : 0.1 + 0.2, imageSha256: `sha${i % 5}`, details: i % 10 ? undefined : { raw: `x${i}`, n: i },
            },
      );
    }
  }
  for (const r of shuffled(rows)) await store.putResult(r);
}

describe('exports stream from the store', () => {
  it('CSV, JSONL and upstream equal the all-rows-at-once output byte for byte, sorted in memory or in parts on disk', async () => {
    const store = new SqliteStore(':memory:');
    await fixture(store, 'a', 120);
    await fixture(store, 'b', 33);
    const want = { csv: await old.csv(store, ['a', 'b']), jsonl: await old.jsonl(store, 'a'), upstream: await old.upstream(store, 'a') };
    // The fixture means something: key order is not id order, and every kind of row is there.
    expect(want.jsonl).toContain('\\u0000');
    expect(want.csv).toContain("'=HYPERLINK");
    expect(want.csv).toContain("'\tlead tab");
    expect(want.jsonl).toContain('"repeat":2');
    expect(want.jsonl).toContain('"status":"error"');
    expect(want.upstream.indexOf('{"id":2,')).toBeLessThan(want.upstream.indexOf('{"id":10,'));
    for (const limits of [undefined, { rows: 7, chars: 1e9 }, { rows: 1e6, chars: 3000 }, { rows: 1, chars: 1 }]) {
      expect(await collect(samplesCsvStream(store, ['a', 'b'], limits))).toBe(want.csv);
      expect(await collect(samplesJsonlStream(store, 'a', limits))).toBe(want.jsonl);
      expect(await collect(upstreamJsonlStream(store, 'a', limits))).toBe(want.upstream);
    }
    // An empty run: the CSV header alone, as before.
    await store.createRun({ id: 'empty', benchmark: 'custom', protocol: 'awareness', model: 'm', config: storedConfig(), total: 0, createdAt: new Date().toISOString(), status: 'done' });
    expect(await collect(samplesCsvStream(store, ['empty']))).toBe(await old.csv(store, ['empty']));
    expect(await collect(samplesJsonlStream(store, 'empty'))).toBe('');
    await store.close();
  });

  it.skipIf(!pg)('on PostgreSQL too (its key order follows the database collation; the export\'s does not)', async () => {
    const store = await PostgresStore.connect(pg!.url);
    try {
      await fixture(store, 'p', 90);
      for (const limits of [undefined, { rows: 7, chars: 1e9 }]) {
        expect(await collect(samplesCsvStream(store, ['p'], limits))).toBe(await old.csv(store, ['p']));
        expect(await collect(samplesJsonlStream(store, 'p', limits))).toBe(await old.jsonl(store, 'p'));
        expect(await collect(upstreamJsonlStream(store, 'p', limits))).toBe(await old.upstream(store, 'p'));
      }
    } finally {
      await store.close();
    }
  });

  it('the CLI writes the same bytes as before, to a file and to stdout', async () => {
    const dir = tmp();
    const db = path.join(dir, 'x.db');
    const store = new SqliteStore(db);
    await fixture(store, 'a', 60);
    await fixture(store, 'b', 20);
    const want = { csv: await old.csv(store, ['a']), jsonl: await old.jsonl(store, 'a'), upstream: await old.upstream(store, 'a'), report: await old.csv(store, ['a', 'b']) };
    await store.close();
    for (const format of ['csv', 'jsonl', 'upstream'] as const) {
      const out = path.join(dir, `a.${format}`);
      const r = await runCli(['export', '--run', 'a', '--format', format, '--out', out, '--db', db]).done;
      expect(r.code, r.stderr).toBe(0);
      expect(readFileSync(out).equals(Buffer.from(want[format])), format).toBe(true);
    }
    const stdout = await runCli(['export', '--run', 'a', '--format', 'jsonl', '--db', db]).done;
    expect(stdout.stdout).toBe(want.jsonl);
    const out = path.join(dir, 'report.csv');
    const report = await runCli(['report', '--runs', 'a,b', '--format', 'csv', '--out', out, '--db', db]).done;
    expect(report.code, report.stderr).toBe(0);
    expect(readFileSync(out).equals(Buffer.from(want.report))).toBe(true);
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);

  it('never reads every row at once: full rows in pages, sorted in parts of the limit on disk, the parts removed after', async () => {
    const store = new SqliteStore(':memory:');
    await fixture(store, 'big', 1_003);
    const scans: ScanOptions[] = [];
    const streaming = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'results') return () => Promise.reject(new Error('the export read every row at once'));
        if (key === 'scanResults') return (runId: string, opts: ScanOptions = {}) => (scans.push(opts), target.scanResults(runId, opts));
        const v = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Store;
    const sortDir = tmp();
    try {
      const parts: number[] = [];
      const pieces: string[] = [];
      for await (const piece of samplesJsonlStream(streaming, 'big', { rows: 100, chars: 1e9, dir: sortDir })) {
        // While the output is written, the rows wait on disk in sorted parts of at most 100 (the last piece comes after the merge).
        const [work] = readdirSync(sortDir);
        parts.push(work ? readdirSync(path.join(sortDir, work)).length : 0);
        pieces.push(piece);
      }
      const rows = (await store.results('big')).length;
      expect(parts.slice(0, -1)).toEqual(parts.slice(0, -1).map(() => Math.ceil(rows / 100)));
      expect(pieces.length).toBe(Math.ceil(rows / 500));
      expect(readdirSync(sortDir)).toEqual([]);
      expect(scans).toEqual([{}]); // full rows (answers and prompts), not slim
      expect(pieces.join('')).toBe(await old.jsonl(store, 'big'));
    } finally {
      await store.close();
    }
  });

  it('writeFileAtomicFrom leaves the previous file whole, and no temporary file, when the pieces fail midway', async () => {
    const dir = tmp();
    const file = path.join(dir, 'out.csv');
    writeFileSync(file, 'the previous complete export\n');
    async function* failing() {
      yield 'a first piece\n';
      throw new Error('the store went away');
    }
    await expect(writeFileAtomicFrom(file, failing())).rejects.toThrow('the store went away');
    expect(readFileSync(file, 'utf8')).toBe('the previous complete export\n');
    expect(readdirSync(dir)).toEqual(['out.csv']);
    await writeFileAtomicFrom(file, ['one ', Buffer.from('two')]);
    expect(readFileSync(file, 'utf8')).toBe('one two');
    expect(readdirSync(dir)).toEqual(['out.csv']);
  });
});

describe('the HTML report of a run', () => {
  it('picks its few wrong answers of the weakest groups from streamed rows, never reading every row at once', async () => {
    const store = new SqliteStore(':memory:');
    await store.createRun({ id: 'h', benchmark: 'custom', protocol: 'awareness', model: 'openai:m', config: storedConfig(), total: 400, createdAt: new Date().toISOString(), status: 'done' });
    // Five weak groups (even ids, mostly wrong) and five strong ones (odd ids, mostly right); the text says which.
    for (let i = 0; i < 400; i++) {
      const weak = i % 2 === 0;
      const correct = weak ? i % 20 === 0 : Math.floor(i / 10) % 10 !== 0;
      const group = `${weak ? 'weak' : 'strong'}${Math.floor((i % 10) / 2)}`;
      await store.putResult({ runId: 'h', sampleId: String(i), status: 'ok', label: 'unsafe', subset: group, scenario: group, category: group, response: `${correct ? 'right' : 'wrong'} answer ${i}`, prediction: correct ? 'unsafe' : 'safe', correct, attempts: 1 });
    }
    const streaming = new Proxy(store, {
      get(target, key, receiver) {
        if (key === 'results') return () => Promise.reject(new Error('the report read every row at once'));
        const v = Reflect.get(target, key, receiver);
        return typeof v === 'function' ? v.bind(target) : v;
      },
    }) as Store;
    // (The leaderboard itself pairs every row of the runs for its comparisons: not part of this check.)
    const html = await leaderboardHtml(await buildLeaderboard(store, ['h']), streaming);
    const shown = [...html.matchAll(/<pre>(\w+) answer (\d+)<\/pre>/g)].map((m) => [m[1], Number(m[2])] as const);
    expect(shown.length, JSON.stringify(shown)).toBe(5);
    expect(shown.every(([kind]) => kind === 'wrong'), JSON.stringify(shown)).toBe(true);
    expect(shown.every(([kind, i]) => kind === 'wrong' && i % 2 === 0), JSON.stringify(shown)).toBe(true);
    await store.close();
  });
});
