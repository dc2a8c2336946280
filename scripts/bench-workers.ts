/**
 * `npm run bench:workers`: throughput of 1, 2 and 4 `mmsafe worker` processes on one shared
 * PostgreSQL run, against the project's mock OpenAI server (in its own process) at 200 ms latency.
 * Each worker keeps the same number of requests in flight, so ideal scaling is linear: what is lost
 * is the harness's and the queue's cost. Prints a table and writes bench-workers.json.
 *
 * Env: MMSAFE_BENCH_POSTGRES_URL or MMSAFE_TEST_POSTGRES_URL (else a throwaway cluster from the
 * Debian binaries), BENCH_N (samples, default 1,200), BENCH_C (requests in flight per worker,
 * default 16), BENCH_LATENCY (ms, default 200), BENCH_WORKERS (default 1,2,4).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { renderTable } from '../src/report/text-table.ts';
import { testDatabase } from '../test/helpers/postgres.ts';

const root = path.resolve(import.meta.dirname, '..');
const cli = path.join(root, 'bin/mmsafe.js');
const N = Number(process.env.BENCH_N ?? 1200);
const C = Number(process.env.BENCH_C ?? 16);
const LATENCY = Number(process.env.BENCH_LATENCY ?? 200);
const WORKERS = (process.env.BENCH_WORKERS ?? '1,2,4').split(',').map(Number);

if (process.env.MMSAFE_BENCH_POSTGRES_URL) process.env.MMSAFE_TEST_POSTGRES_URL = process.env.MMSAFE_BENCH_POSTGRES_URL;

function exec(args: string[], env: NodeJS.ProcessEnv = {}): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd: root, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

async function startMock(): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), 'src/mock/main.ts', '--latency', String(LATENCY)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
  return { url, stop: () => child.kill('SIGTERM') };
}

const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-bench-workers-'));
await writeDemoBenchmark(work);
const data = path.join(work, 'set.jsonl');
writeFileSync(
  data,
  Array.from({ length: N }, (_, i) => JSON.stringify({ id: `w${i}`, image: `images/scene-${(i % 16) + 1}.jpg`, prompt: `Is sentence ${i} safe given the image? Answer Yes or No.`, label: i % 2 ? 'safe' : 'unsafe' })).join('\n'),
);
const mock = await startMock();
// Build the CLI bundle once, outside the timings.
await exec(['--version']);

const results: { workers: number; wall_s: number; items_per_s: number; per_worker_items_per_s: number; ideal_items_per_s: number; efficiency: number }[] = [];
try {
  for (const w of WORKERS) {
    const db = await testDatabase();
    if (!db) throw new Error('no PostgreSQL: set MMSAFE_BENCH_POSTGRES_URL or install Debian postgresql');
    try {
      const enq = await exec(['run', '--benchmark', 'custom', '--data', data, '--model', 'openai:m', '--base-url', mock.url, '--db', db.url, '--run-id', 'bench', '--concurrency', String(C), '--enqueue']);
      if (enq.code !== 0) throw new Error(`enqueue failed: ${enq.stderr}`);
      const t0 = performance.now();
      const done = await Promise.all(Array.from({ length: w }, (_, i) => exec(['worker', '--db', db.url, '--runs', 'bench', '--worker-id', `b${i}`, '--quiet'], { OPENAI_API_KEY: 'sk-bench' })));
      const wall = (performance.now() - t0) / 1000;
      for (const d of done) if (d.code !== 0) throw new Error(`worker failed: ${d.stderr}`);
      const ideal = (w * C * 1000) / Math.max(LATENCY, 1);
      results.push({ workers: w, wall_s: +wall.toFixed(2), items_per_s: +(N / wall).toFixed(1), per_worker_items_per_s: +(N / wall / w).toFixed(1), ideal_items_per_s: +ideal.toFixed(0), efficiency: +((N / wall) / ideal).toFixed(2) });
    } finally {
      await db.drop();
    }
  }
} finally {
  mock.stop();
}

const table = renderTable(
  ['workers', 'wall s', 'items/s', 'items/s per worker', 'ideal items/s', 'efficiency'],
  results.map((r) => [String(r.workers), r.wall_s.toFixed(2), r.items_per_s.toFixed(1), r.per_worker_items_per_s.toFixed(1), String(r.ideal_items_per_s), r.efficiency.toFixed(2)]),
);
process.stdout.write(`${N} samples, ${C} requests in flight per worker, mock at ${LATENCY} ms, ${os.cpus().length} cores\n${table}\n`);
writeFileSync(path.join(root, 'bench-workers.json'), `${JSON.stringify({ date: new Date().toISOString(), samples: N, concurrency_per_worker: C, latency_ms: LATENCY, cores: os.cpus().length, results }, null, 2)}\n`);
process.exit(0);
