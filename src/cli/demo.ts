import { rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Command } from 'commander';
import { writeDemoBenchmark } from '../demo/dataset.ts';
import { naiveKeywordModel } from '../demo/naive-model.ts';
import { startMockOpenAI } from '../mock/openai-server.ts';
import { demo, DEMO_GUIDE, DEMO_QUESTION } from '../benchmarks/demo.ts';
import { evaluateMetrics } from '../metrics/declared.ts';
import { summarizeStoredRun, type RunSummary } from '../report/summary.ts';
import { renderTable } from '../report/text-table.ts';
import { evaluate } from '../runner/evaluate.ts';
import { SqliteStore } from '../store/sqlite.ts';
import { nextSteps } from './next-steps.ts';
import { summaryOf } from './commands.ts';

const pct = (x: number | undefined) => (x === undefined || Number.isNaN(x) ? '-' : (x * 100).toFixed(1));

export function registerDemo(program: Command): void {
  program
    .command('demo')
    .description(summaryOf('demo'))
    .option('--dir <dir>', 'where to write the demo benchmark and database (default ~/.cache/mmsafe/demo)', demoDir())
    .action(async (flags: { dir: string }) => {
      await runDemo(flags.dir);
    });
}

/** The demo's own folder in the user's cache (MMSAFE_CACHE_DIR moves it), not a temp path every user shares. */
function demoDir(): string {
  return path.join(process.env.MMSAFE_CACHE_DIR ?? path.join(os.homedir(), '.cache', 'mmsafe'), demo.name);
}

/** The demo's headline columns: its groups and headline aggregates, as its definition declares them. */
async function headlineColumns(store: SqliteStore, runId: string): Promise<{ key: string; label: string }[]> {
  const metrics = demo.protocols[demo.defaultProtocol]!.metrics;
  return evaluateMetrics(await store.results(runId), metrics, { replicates: 0 })
    .filter((v) => v.entry.kind === 'groups' || metrics.headline.includes(v.key))
    .map((v) => ({ key: v.key, label: v.entry.kind === 'groups' ? v.key : (v.entry.label ?? v.key) }));
}

export async function runDemo(dir: string, out: NodeJS.WritableStream = process.stdout): Promise<RunSummary[]> {
  const t0 = Date.now();
  const dataDir = await writeDemoBenchmark(dir);
  const dbPath = path.join(dir, 'demo.db');
  for (const suffix of ['', '-wal', '-shm']) rmSync(dbPath + suffix, { force: true });
  out.write(`mmsafe demo: a built-in benchmark of ${'image+sentence'} pairs written to ${dataDir}\n`);
  out.write(`Each model is asked, for every pair: "${DEMO_QUESTION}"\n\n`);

  // A loopback server speaking the OpenAI wire format stands in for a real vision model, so the
  // demo exercises the same path as a real run: image encoding, HTTP, retries, storage, scoring.
  const server = await startMockOpenAI({ latencyMs: 5, respond: (req) => naiveKeywordModel(req.lastUserText) });
  const store = new SqliteStore(dbPath);
  const summaries: RunSummary[] = [];
  let lastRun = '';
  try {
    const models: { model: string; note: string; baseURL?: string }[] = [
      { model: 'baseline:always-unsafe', note: 'answers No to everything' },
      { model: 'baseline:always-safe', note: 'answers Yes to everything' },
      { model: 'baseline:random', note: 'coin flip, seeded' },
      { model: 'openai:naive-keyword-vlm', note: 'simulated model: reads words, ignores the image', baseURL: server.url },
    ];
    for (const m of models) {
      const result = await evaluate(
        { benchmark: demo.name, data: dataDir, model: m.model, baseURL: m.baseURL, concurrency: 8, seed: 7 },
        { store, apiKey: 'not-needed' },
      );
      summaries.push(await summarizeStoredRun(store, result.runId));
      lastRun = result.runId;
    }
    const columns = await headlineColumns(store, summaries[0].run_id!);
    const value = (s: RunSummary, key: string) => {
      const m = s.metrics[key];
      return typeof m === 'number' ? m : m?.accuracy;
    };
    const rows = summaries.map((s, i) => [models[i].model, ...columns.map((c) => pct(value(s, c.key))), String(s.counts.evaluated), models[i].note]);
    out.write(`${renderTable(['model', ...columns.map((c) => c.label), 'n', 'what it is'], rows)}\n\n`);
    out.write(
      [
        ...DEMO_GUIDE,
        '',
        `Every answer is stored in ${dbPath}. Look at them, and at the report with its charts:`,
        '',
      ].join('\n'),
    );
    out.write(await nextSteps(store, dbPath, { ids: [lastRun], benchmark: demo.name, protocol: demo.defaultProtocol }));
    out.write(`Then a real model: see "Your first real run" in the README.\n(demo finished in ${((Date.now() - t0) / 1000).toFixed(1)} s)\n`);
  } finally {
    await store.close();
    await server.close();
  }
  return summaries;
}
