import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'node-html-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { startViewer } from '../src/viewer/serve.ts';
import { runCli } from './helpers/cli.ts';

let dir: string;
let db: string;
let model: MockServer;
const SYSTEM = 'Answer as a careful safety reviewer.';
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-asked-'));
  await writeDemoBenchmark(dir);
  db = path.join(dir, 'asked.db');
  model = await startMockOpenAI({ record: true });
  const store = new SqliteStore(db);
  // A method rewrites the question: what was sent is no longer what the dataset says.
  await evaluate({ benchmark: 'demo', data: dir, model: 'openai:m', baseURL: model.url, method: 'fusion-prompt', system: SYSTEM, limit: 4 }, { store, runId: 'fused', apiKey: 'x' });
  await store.close();
});
afterAll(async () => {
  await model.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('what was asked is stored with each answer', () => {
  it('the prompt and system prompt exactly as sent, after the method', async () => {
    const store = new SqliteStore(db);
    try {
      const rows = await store.results('fused');
      expect(rows).toHaveLength(4);
      const sent = new Map(model.received.map((r) => [r.lastUserText, r]));
      for (const r of rows) {
        expect(sent.has(r.prompt!)).toBe(true);
        expect(r.system).toBe(SYSTEM);
      }
    } finally {
      await store.close();
    }
  });

  it('the viewer shows the stored prompt, not one rebuilt from the dataset', async () => {
    const store = new SqliteStore(db);
    const viewer = await startViewer(store);
    try {
      const row = (await store.results('fused'))[0];
      const doc = parse(await (await fetch(new URL(`/runs/fused/samples/${row.sampleId}`, viewer.url))).text());
      expect(doc.querySelector('#prompt')!.text).toBe(row.prompt);
      expect(doc.querySelector('#system')!.text).toBe(SYSTEM);
    } finally {
      await viewer.close();
      await store.close();
    }
  });

  it('export --format jsonl and csv include prompt and system', async () => {
    const store = new SqliteStore(db);
    const rows = new Map((await store.results('fused')).map((r) => [r.sampleId, r]));
    await store.close();
    const jsonl = await runCli(['export', '--run', 'fused', '--format', 'jsonl', '--db', db]).done;
    expect(jsonl.code, jsonl.stderr).toBe(0);
    const lines = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l));
    expect(lines).toHaveLength(4);
    for (const l of lines) {
      expect(l.prompt).toBe(rows.get(l.id)!.prompt);
      expect(l.system).toBe(SYSTEM);
      expect(l).toHaveProperty('cost_usd');
    }
    const csv = await runCli(['export', '--run', 'fused', '--format', 'csv', '--db', db]).done;
    const { parse: parseCsv } = await import('csv-parse/sync');
    const records = parseCsv(csv.stdout, { columns: true }) as Record<string, string>[];
    expect(records.map((r) => [r.prompt, r.system])).toEqual(records.map((r) => [rows.get(r.id)!.prompt, SYSTEM]));
  });
});
