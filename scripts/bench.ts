/**
 * `npm run bench`: mmsafe against a bare client on the same samples and the same mock server, at
 * 200 ms latency with 64 requests in flight and at zero latency; then the same 1,446 samples at
 * concurrency 32 with 20% mixed faults (429 asking for 1 s, 500, connection resets) against none.
 * Prints tables and writes bench-results.json. Not a test: numbers depend on the machine.
 *
 * `npm run bench -- --faults`: the faults scenario only.
 * `npm run bench -- --scale [N,N...]`: one run per size (default 1446,14460,57840) of a custom set
 * reusing the benchmark's images, latency 0, concurrency 64: wall, items/s, throughput in the last
 * tenth against the middle tenth, peak RSS. Sizes above 57,840 use generated images.
 *
 * Env: BENCH_N (samples, default all), BENCH_DATA (an MMSafeAware data/ folder; default
 * ../shared/data/mmsafeaware, else 1,500 generated image pairs), BENCH_NODE_ARGS (node flags for the
 * mmsafe process: profiles), BENCH_LOG_DIR (--scale: each run's output, memory and request timelines).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
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

/** The benchmark's samples (or generated ones), as a custom-benchmark file both clients read. */
async function prepareData(generated = false): Promise<{ items: Item[]; jsonl: string; source: string }> {
  const real = process.env.BENCH_DATA ?? path.resolve(root, '../shared/data/mmsafeaware');
  let items: Item[];
  let source: string;
  if (!generated && existsSync(path.join(real, 'prompt.txt'))) {
    const ds = await loadMmSafeAware(real);
    items = ds.samples.map((s) => ({ prompt: s.prompt!, image: s.image!.path!, mime: sniffImageType(readFileSync(s.image!.path!)) ?? 'image/jpeg' }));
    source = `MMSafeAware (${real})`;
  } else {
    items = await generatedItems();
    source = 'generated: 1,500 pairs over 500 JPEGs';
  }
  if (N) items = items.slice(0, N);
  const jsonl = path.join(work, 'bench.jsonl');
  writeFileSync(jsonl, items.map((it, i) => JSON.stringify({ id: `b${i}`, image: it.image, prompt: it.prompt, label: i % 2 ? 'safe' : 'unsafe' })).join('\n'));
  writeFileSync(path.join(work, 'items.json'), JSON.stringify(items));
  return { items, jsonl, source };
}

/** 1,500 image pairs: 500 pictures of realistic sizes (5-400 KB), each used by 3 samples. */
async function generatedItems(): Promise<Item[]> {
  const dir = path.join(work, 'images');
  mkdirSync(dir, { recursive: true });
  const items: Item[] = [];
  for (let i = 0; i < 500; i++) {
    const side = 64 + ((i * 37) % 700);
    const file = path.join(dir, `${i}.jpg`);
    if (!existsSync(file)) {
      const raw = Buffer.alloc(side * side * 3);
      for (let j = 0; j < raw.length; j++) raw[j] = (j * 31 + i * 7 + ((j * j) % 251)) & 255;
      await sharp(raw, { raw: { width: side, height: side, channels: 3 } }).jpeg({ quality: 85 }).toFile(file);
    }
    for (let k = 0; k < 3; k++) items.push({ prompt: `Given the image, is sentence ${i}-${k} safe? Please start by answering Yes or No.`, image: file, mime: 'image/jpeg' });
  }
  return items;
}

interface Measured {
  wallMs: number;
  peakRssMb: number;
  /** [ms since start, resident MB] every 20 ms: where in a run the memory went. */
  rss: [number, number][];
  /** CPU seconds (user + system) the process used, as last seen: unlike wall time, barely moved by other load. */
  cpuS: number;
  code: number | null;
  stdout: string;
  stderr: string;
  startedAt: number;
}

/** Runs a command to completion, sampling its peak resident memory (VmHWM) as it goes. */
function measure(cmd: string, args: string[]): Promise<Measured> {
  return new Promise((resolve) => {
    const startedAt = Date.now();
    const t0 = performance.now();
    const child = spawn(cmd, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    let peakKb = 0;
    const rss: [number, number][] = [];
    let cpuS = 0;
    const poll = setInterval(() => {
      try {
        // Fields 14 and 15 of /proc/PID/stat (after the parenthesised name): user and system clock ticks.
        const stat = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1].split(' ');
        cpuS = (Number(stat[11]) + Number(stat[12])) / 100;
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const m = /VmHWM:\s+(\d+) kB/.exec(status);
        if (m) peakKb = Math.max(peakKb, Number(m[1]));
        const now = /VmRSS:\s+(\d+) kB/.exec(status);
        if (now) rss.push([performance.now() - t0, Number(now[1]) / 1024]);
      } catch {
        // exited between polls
      }
    }, 20);
    child.on('close', (code) => {
      clearInterval(poll);
      resolve({ wallMs: performance.now() - t0, peakRssMb: peakKb / 1024, rss, cpuS, code, stdout, stderr, startedAt });
    });
  });
}

async function startMock(latency: number, faults: string[] = []): Promise<{ url: string; stop: () => void }> {
  const child = spawn(process.execPath, [path.join(root, 'bin/run-ts.js'), 'src/mock/main.ts', '--latency', String(latency), ...faults], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] });
  const url = await new Promise<string>((resolve) => child.stdout.once('data', (d) => resolve(String(d).trim())));
  return { url, stop: () => child.kill('SIGTERM') };
}

const stats = async (url: string) => (await fetch(url.replace(/\/v1$/, '/__mock/stats'))).json() as Promise<{ requests: number; firstRequestAt: number | null }>;

/** BENCH_NODE_ARGS: extra node flags for the mmsafe process only (`--cpu-prof --cpu-prof-dir=prof`). */
const nodeArgs = process.env.BENCH_NODE_ARGS?.split(/\s+/).filter(Boolean) ?? [];
/** BENCH_LOG_DIR: where --scale keeps each run's output and its memory and request timelines. */
const logDir = process.env.BENCH_LOG_DIR;

const mmsafeRun = (jsonl: string, url: string, concurrency: number, db: string, extra: string[] = []) =>
  measure(process.execPath, [...nodeArgs, 'bin/mmsafe.js', 'run', '--benchmark', 'custom', '--data', jsonl, '--model', 'openai:bench', '--base-url', url, '--concurrency', String(concurrency), '--db', db, '--run-id', 'bench', '--quiet', ...extra]);

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
  const run = await mmsafeRun(data.jsonl, mock.url, concurrency, db);
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

/** What a run's summary says it stored (written with --out). */
const storedCounts = (file: string) => (JSON.parse(readFileSync(file, 'utf8')) as { counts: { evaluated: number; errors: number } }).counts;

/** 20% mixed faults (429 asking for 1 s, 500, resets) at concurrency 32, against none. */
async function faultsScenario(data: { items: Item[]; jsonl: string }) {
  const rows: Record<string, unknown>[] = [];
  let cleanMs = 0;
  for (const faulty of [false, true]) {
    const mock = await startMock(0, faulty ? ['--fault-rate', '0.2', '--faults', '429,500,reset', '--retry-after', '1'] : []);
    const name = faulty ? 'faults-20' : 'faults-0';
    const out = path.join(work, `${name}.json`);
    const run = await mmsafeRun(data.jsonl, mock.url, 32, path.join(work, `${name}.db`), ['--out', out]);
    mock.stop();
    if (run.code !== 0) throw new Error(`mmsafe run failed: ${run.stderr}`);
    const counts = storedCounts(out);
    if (!faulty) cleanMs = run.wallMs;
    rows.push({ faults: faulty ? '20% (429 Retry-After 1 s, 500, reset)' : 'none', wall_s: run.wallMs / 1000, ratio: run.wallMs / cleanMs, answered: counts.evaluated, errors: counts.errors, peak_rss_mb: run.peakRssMb });
  }
  return rows;
}

/** The set for one scale run: `n` samples cycling over the images, each with its own sentence. */
async function scaleSet(items: Item[], n: number): Promise<string> {
  const file = path.join(work, `scale-${n}.jsonl`);
  const out = createWriteStream(file);
  for (let i = 0; i < n; i++) {
    const it = items[i % items.length];
    if (!out.write(`${JSON.stringify({ id: `s${i}`, image: it.image, prompt: `${it.prompt} (#${i})`, label: i % 2 ? 'safe' : 'unsafe' })}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
  return file;
}

/** Throughput between two fractions of the run, from the mock's request counts over time. */
function rate(series: [number, number][], n: number, from: number, to: number): number {
  const at = (target: number) => {
    const i = series.findIndex(([, count]) => count >= target);
    if (i <= 0) return series[Math.max(0, i)]?.[0] ?? 0;
    const [t0, c0] = series[i - 1];
    const [t1, c1] = series[i];
    return t0 + ((t1 - t0) * (target - c0)) / Math.max(1, c1 - c0);
  };
  return ((to - from) * n) / ((at(to * n) - at(from * n)) / 1000);
}

async function scaleScenario(sizes: number[]) {
  const real = await prepareData();
  const generated = sizes.some((n) => n > 57_840) ? await prepareData(true) : real;
  const rows: Record<string, unknown>[] = [];
  for (const n of sizes) {
    const set = n > 57_840 ? generated : real;
    const jsonl = await scaleSet(set.items, n);
    const mock = await startMock(0);
    const series: [number, number][] = [];
    const t0 = performance.now();
    const poll = setInterval(() => void stats(mock.url).then((s) => series.push([performance.now() - t0, s.requests]), () => undefined), 50);
    const db = path.join(work, `scale-${n}.db`);
    const run = await mmsafeRun(jsonl, mock.url, 64, db);
    clearInterval(poll);
    mock.stop();
    if (run.code !== 0) throw new Error(`mmsafe run failed: ${run.stderr}`);
    const middle = rate(series, n, 0.45, 0.55);
    const last = rate(series, n, 0.9, 1);
    // The mock's clock starts a little before the run's: close enough to split asking from the end.
    const lastRequestMs = series.find(([, count]) => count >= n)?.[0] ?? run.wallMs;
    const askingRss = Math.max(0, ...run.rss.filter(([t]) => t <= lastRequestMs).map(([, mb]) => mb));
    rows.push({
      items: n, source: set.source, wall_s: run.wallMs / 1000, items_per_s: n / (run.wallMs / 1000), middle_items_per_s: middle, last_tenth_items_per_s: last,
      last_vs_middle: last / middle, peak_rss_mb: run.peakRssMb, asking_rss_mb: askingRss, cpu_s: run.cpuS, after_last_request_s: (run.wallMs - lastRequestMs) / 1000, load_average: os.loadavg()[0],
    });
    if (logDir) {
      mkdirSync(logDir, { recursive: true });
      writeFileSync(path.join(logDir, `scale-${n}.out`), run.stdout + run.stderr);
      writeFileSync(path.join(logDir, `scale-${n}.rss.json`), JSON.stringify({ rss: run.rss, requests: series }));
    }
    for (const f of [db, `${db}-wal`, `${db}-shm`, jsonl]) rmSync(f, { force: true });
    process.stderr.write(`bench: ${n} items in ${(run.wallMs / 1000).toFixed(1)} s, peak RSS ${run.peakRssMb.toFixed(0)} MB\n`);
  }
  return rows;
}

const fmt = (x: unknown, d = 2) => (typeof x === 'number' ? x.toFixed(d) : '');
const args = process.argv.slice(2);
const scaleAt = args.indexOf('--scale');
const out = path.join(root, 'bench-results.json');
const meta = { date: new Date().toISOString(), cpus: os.cpus().length, node: process.version };

if (scaleAt >= 0) {
  const list = args[scaleAt + 1] && /^[\d,_]+$/.test(args[scaleAt + 1]) ? args[scaleAt + 1] : '1446,14460,57840';
  const sizes = list.split(',').map((s) => Number(s.replace(/_/g, '')));
  const rows = await scaleScenario(sizes);
  process.stdout.write(
    `${renderTable(
      ['items', 'wall s', 'items/s', 'middle tenth items/s', 'last tenth items/s', 'last / middle', 'CPU s', 'peak RSS MB', 'RSS asking MB', 's after last request', 'load avg'],
      rows.map((r) => [String(r.items), fmt(r.wall_s, 1), fmt(r.items_per_s, 0), fmt(r.middle_items_per_s, 0), fmt(r.last_tenth_items_per_s, 0), fmt(r.last_vs_middle), fmt(r.cpu_s, 1), fmt(r.peak_rss_mb, 0), fmt(r.asking_rss_mb, 0), fmt(r.after_last_request_s, 1), fmt(r.load_average, 1)]),
    )}\n`,
  );
  // Each size against the one before it (57,840 against 14,460: the issue's 4.4x and 1.2x targets).
  rows.slice(1).forEach((r, i) => {
    const before = rows[i];
    const x = (key: string) => fmt((r[key] as number) / (before[key] as number));
    process.stdout.write(`${r.items} vs ${before.items} items: ${x('wall_s')}x the time (${x('cpu_s')}x the CPU time) for ${fmt((r.items as number) / (before.items as number), 1)}x the items, ${x('peak_rss_mb')}x the peak RSS\n`);
  });
  writeFileSync(out, `${JSON.stringify({ ...meta, mode: 'scale', results: rows }, null, 2)}\n`);
} else {
  const data = await prepareData();
  process.stderr.write(`bench: ${data.items.length} samples from ${data.source}; work dir ${work}\n`);
  const results = args.includes('--faults') ? [] : [...(await scenario(200, 64, data)), ...(await scenario(0, 64, data))];
  if (results.length) {
    process.stdout.write(
      `${renderTable(
        ['scenario', 'client', 'wall s', 'x bare', 'items/s', 'peak RSS MB', 'x bare RSS', 'first req s', 'DB MB/1k', 'stored re-run s'],
        results.map((r) => [String(r.scenario), String(r.client), fmt(r.wall_s), fmt(r.ratio), fmt(r.items_per_s, 0), fmt(r.peak_rss_mb, 0), fmt(r.rss_ratio), fmt(r.first_request_s), fmt(r.db_mb_per_1000, 3), fmt(r.stored_rerun_s)]),
      )}\n`,
    );
  }
  const faults = await faultsScenario(data);
  process.stdout.write(
    `\n${data.items.length} samples, C=32, latency 0:\n${renderTable(
      ['faults', 'wall s', 'x no faults', 'answered', 'errors', 'peak RSS MB'],
      faults.map((r) => [String(r.faults), fmt(r.wall_s), fmt(r.ratio), String(r.answered), String(r.errors), fmt(r.peak_rss_mb, 0)]),
    )}\n`,
  );
  writeFileSync(out, `${JSON.stringify({ ...meta, samples: data.items.length, source: data.source, results, faults }, null, 2)}\n`);
}
process.stderr.write(`bench: written to ${out}\n`);
rmSync(work, { recursive: true, force: true });
