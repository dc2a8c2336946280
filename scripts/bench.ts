/**
 * `npm run bench`: mmsafe against a bare client on the same samples and the same mock server,
 * at 200 ms latency with 64 requests in flight and at zero latency. Prints a table and writes
 * bench-results.json. Not a test: numbers depend on the machine.
 *
 * Options (env): BENCH_N (samples, default all), BENCH_DATA (an MMSafeAware data/ folder; default
 * ../shared/data/mmsafeaware, else 1,500 generated image pairs).
 */
import { spawn } from 'node:child_process';

import { existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import sharp from 'sharp';
import { loadMmSafeAware } from '../src/benchmarks/mmsafeaware.ts';
import { sniffImageType } from '../src/images/sniff.ts';
import { renderTable } from '../src/report/text-table.ts';

const root = path.resolve(import.meta.dirname, '..');
const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-bench-'));
const N = process.env.BENCH_N ? Number(process.env.BENCH_N) : undefined;

interface Item {
  prompt: string;
  image: string;
  mime: string;
}

/** The benchmark's samples, as a custom-benchmark file both clients read. */
async function prepareData(): Promise<{ items: Item[]; jsonl: string; source: string }> {
  const real = process.env.BENCH_DATA ?? path.resolve(root, '../shared/data/mmsafeaware');
  let items: Item[];
  let source: string;
  if (existsSync(path.join(real, 'prompt.txt'))) {
    const ds = await loadMmSafeAware(real);
    items = ds.samples.map((s) => ({ prompt: s.prompt!, image: s.image!.path!, mime: sniffImageType(readFileSync(s.image!.path!)) ?? 'image/jpeg' }));
    source = `MMSafeAware (${real})`;
  } else {
    // 1,500 image pairs: 500 pictures of realistic sizes (5-400 KB), each used by 3 samples.
    const dir = path.join(work, 'images');
    mkdirSync(dir);
    items = [];
    for (let i = 0; i < 500; i++) {
      const side = 64 + ((i * 37) % 700);
      const raw = Buffer.alloc(side * side * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (j * 31 + i * 7 + ((j * j) % 251)) & 255;
      const file = path.join(dir, `${i}.jpg`);
      await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 85 }).toFile(file);
      for (let k = 0; k < 3; k++) items.push({ prompt: `Given the image, is sentence ${i}-${k} safe? Please start by answering Yes or No.`, image: file, mime: 'image/jpeg' });
    }
    source = 'generated: 1,500 pairs over 500 JPEGs';
  }
  if (N) items = items.slice(0, N);
  const jsonl = path.join(work, 'bench.jsonl');
  writeFileSync(jsonl, items.map((it, i) => JSON.stringify({ id: `b${i}`, image: it.image, prompt: it.prompt, label: i % 2 ? 'safe' : 'unsafe' })).join('\n'));
  writeFileSync(path.join(work, 'items.json'), JSON.stringify(items));
  return { items, jsonl, source };
}

/** Runs a command to completion, sampling its peak resident memory (VmHWM) as it goes. */
function measure(cmd: string, args: string[]): Promise<{ wallMs: number; peakRssMb: number; code: number | null; stdout: string; stderr: string; startedAt: number }> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let peakKb = 0;
    const poll = setInterval(() => {
      try {
        const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
      } catch {
        // exited between polls
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ wallMs: performance.now() - t0, peakRssMb: peakKb / 1024, code, stdout, stderr, startedAt });
    });
  });
}

async function startMock(latency: number): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), 'src/mock/main.ts', '--latency', String(latency)], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
  return { url, stop: () => child.kill('SIGTERM') };
}

const stats = async (url: string) => (await fetch(url.replace(/\/v1$/, '/__mock/stats'))).json() as Promise<{ requests: number; firstRequestAt: number | null }>;

async function scenario(latency: number, concurrency: number, data: { items: Item[]; jsonl: string }) {
  const rows: Record<string, unknown>[] = [];
  // Bare client.
  let mock = await startMock(latency);
  const bare = await measure(process.execPath, ['scripts/bare-client.mjs', mock.url, path.join(work, 'items.json'), String(concurrency)]);
  const bareFirst = (await stats(mock.url)).firstRequestAt!;
  mock.stop();
  if (bare.code !== 0) throw new Error(`bare client failed: ${bare.stderr}`);
  // mmsafe, the whole CLI as a user runs it.
  mock = await startMock(latency);
  const db = path.join(work, `bench-${latency}.db`);
  const run = await measure(process.execPath, ['bin/mmsafe.js', 'run', '--benchmark', 'custom', '--data', data.jsonl, '--model', 'openai:bench', '--base-url', mock.url, '--concurrency', String(concurrency), '--db', db, '--run-id', 'bench', '--quiet']);
  const mmsafeFirst = (await stats(mock.url)).firstRequestAt!;
  if (run.code !== 0) throw new Error(`mmsafe run failed: ${run.stderr}`);
  const rerun = await measure(process.execPath, ['bin/mmsafe.js', 'run', '--resume', 'bench', '--db', db, '--quiet']);
  mock.stop();
  const dbBytes = ['', '-wal'].reduce((a, s) => a + (existsSync(db + s) ? statSync(db + s).size : 0), 0);
  const n = data.items.length;
  const itemsPerSec = (ms: number) => n / (ms / 1000);
  rows.push(
    { scenario: `latency ${latency} ms, C=${concurrency}`, client: 'bare client', wall_s: bare.wallMs / 1000, ratio: 1, items_per_s: itemsPerSec(bare.wallMs), peak_rss_mb: bare.peakRssMb, first_request_s: (bareFirst - bare.startedAt) / 1000 },
    {
      scenario: `latency ${latency} ms, C=${concurrency}`,
      client: 'mmsafe run',
      wall_s: run.wallMs / 1000,
      ratio: run.wallMs / bare.wallMs,
      items_per_s: itemsPerSec(run.wallMs),
      peak_rss_mb: run.peakRssMb,
      rss_ratio: run.peakRssMb / bare.peakRssMb,
      first_request_s: (mmsafeFirst - run.startedAt) / 1000,
      db_mb_per_1000: dbBytes / 1e6 / (n / 1000),
      stored_rerun_s: rerun.wallMs / 1000,
    },
  );
  return rows;
}

const data = await prepareData();
process.stderr.write(`bench: ${data.items.length} samples from ${data.source}; work dir ${work}\n`);
const results = [...(await scenario(200, 64, data)), ...(await scenario(0, 64, data))];
const fmt = (x: unknown, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '');
process.stdout.write(
  `${renderTable(
    ['scenario', 'client', 'wall s', 'x bare', 'items/s', 'peak RSS MB', 'x bare RSS', 'first req s', 'DB MB/1k', 'stored re-run s'],
    results.map((r) => [String(r.scenario), String(r.client), fmt(r.wall_s), fmt(r.ratio), fmt(r.items_per_s, 0), fmt(r.peak_rss_mb, 0), fmt(r.rss_ratio), fmt(r.first_request_s), fmt(r.db_mb_per_1000, 3), fmt(r.stored_rerun_s)]),
  )}\n`,
);
const out = path.join(root, 'bench-results.json');
writeFileSync(out, `${JSON.stringify({ date: new Date().toISOString(), samples: data.items.length, source: data.source, cpus: os.cpus().length, node: process.version, results }, null, 2)}\n`);
process.stderr.write(`bench: written to ${out}\n`);
