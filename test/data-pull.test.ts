import { cpSync, createReadStream, existsSync, mkdirSync, mkdtempSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import sharp from 'sharp';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pullBenchmark } from '../src/datasets/pull.ts';
import { runCli } from './helpers/cli.ts';
import { hasData, mmsafeawareDir, saladSampleDir } from './helpers/data.ts';

let server: http.Server;
let base: string;
const files = new Map<string, string>();

beforeAll(async () => {
  server = http.createServer((req, res) => {
    const file = files.get(req.url ?? '');
    if (!file) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': statSync(file).size });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe.skipIf(!hasData(mmsafeawareDir, 'data pull of MMSafeAware from a loopback archive'))('mmsafe data pull mmsafeaware', () => {
  it('downloads a GitHub-style tarball, keeps its data/ folder and verifies it', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pull-'));
    // Laid out as GitHub's archive of the upstream repository: <repo>-main/data/...
    const repo = path.join(work, 'src', 'MMSafetyAwareness-main');
    mkdirSync(repo, { recursive: true });
    writeFileSync(path.join(repo, 'README.md'), 'upstream readme');
    cpSync(mmsafeawareDir, path.join(repo, 'data'), { recursive: true });
    const archive = path.join(work, 'main.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: path.join(work, 'src') }, ['MMSafetyAwareness-main']);
    files.set('/mmsafeaware.tar.gz', archive);

    const result = await pullBenchmark('mmsafeaware', { dir: path.join(work, 'cache'), from: `${base}/mmsafeaware.tar.gz` });
    expect(result.path).toBe(path.join(work, 'cache', 'mmsafeaware'));
    expect(result.dataset.total).toBe(1523);
    expect(result.dataset.samples).toHaveLength(1446);
    expect(readFileSync(path.join(result.path, 'prompt.txt'), 'utf8')).toBe(readFileSync(path.join(mmsafeawareDir, 'prompt.txt'), 'utf8'));
  });
});

describe.skipIf(!hasData(saladSampleDir, 'data pull of the SaLAD sample'))('mmsafe data pull salad', () => {
  it('downloads a zip with data.json and images, and verifies it', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pull-salad-'));
    const rows = JSON.parse(readFileSync(path.join(saladSampleDir, 'data.json'), 'utf8').toString()) as { image: string }[];
    const entries: Record<string, Uint8Array> = { 'SaLAD/data.json': new Uint8Array(Buffer.from(JSON.stringify(rows))) };
    for (const name of new Set(rows.slice(1).map((r) => r.image))) {
      entries[`SaLAD/images/${name}`] = new Uint8Array(await sharp({ create: { width: 20, height: 20, channels: 3, background: '#fff' } }).jpeg().toBuffer());
    }
    // Extraction happens in <cache>/.pull-salad-<pid>/x: three levels up is the test's own folder,
    // which outlives the pull (a shallower escape would be deleted with the work folder and prove nothing).
    entries['../../../evil.txt'] = new Uint8Array(Buffer.from('must not escape'));
    entries['SaLAD/../../../../evil2.txt'] = new Uint8Array(Buffer.from('must not escape'));
    const archive = path.join(work, 'salad.zip');
    writeFileSync(archive, zipSync(entries));
    files.set('/salad.zip', archive);
    const result = await pullBenchmark('salad', { dir: path.join(work, 'cache'), from: `${base}/salad.zip` });
    expect(result.dataset.total).toBe(rows.length);
    const missing = rows.filter((r) => r.image === rows[0].image).length;
    expect(result.dataset.samples).toHaveLength(rows.length - missing);
    expect(existsSync(path.join(work, 'evil.txt'))).toBe(false);
    expect(existsSync(path.join(work, 'evil2.txt'))).toBe(false);
    // Verified as a run would load it: the data.json rows, and the images beside it.
    expect(result.path).toBe(path.join(work, 'cache', 'salad'));
    expect(readFileSync(path.join(result.path, 'data.json'), 'utf8')).toBe(JSON.stringify(rows));
    expect(result.dataset.problems.filter((p) => p.kind === 'missing_image')).toHaveLength(missing);
  });

  it('`mmsafe data pull` prints the --data path on stdout and the verification on stderr', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pull-cli-'));
    const rows = JSON.parse(readFileSync(path.join(saladSampleDir, 'data.json'), 'utf8')) as { image: string }[];
    const entries: Record<string, Uint8Array> = { 'data.json': new Uint8Array(readFileSync(path.join(saladSampleDir, 'data.json'))) };
    const jpg = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#000' } }).jpeg().toBuffer());
    for (const r of rows) entries[`images/${r.image}`] = jpg;
    const archive = path.join(work, 'salad-flat.zip');
    writeFileSync(archive, zipSync(entries));
    files.set('/salad-flat.zip', archive);
    const r = await runCli(['data', 'pull', 'salad', '--dir', path.join(work, 'cache'), '--from', `${base}/salad-flat.zip`]).done;
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${path.join(work, 'cache', 'salad')}\n`);
    expect(r.stderr).toContain(`salad: ${rows.length} items, ${rows.length} ready, 0 without an image, 0 other problems`);
  }, 60_000);

  it('the upstream repository layout: the full data/data.json over a smaller top-level one, and the images archive unpacked', async () => {
    const work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pull-repo-'));
    const rows = JSON.parse(readFileSync(path.join(saladSampleDir, 'data.json'), 'utf8')) as { image: string }[];
    const repo = path.join(work, 'src', 'SaLAD-main');
    mkdirSync(path.join(repo, 'data'), { recursive: true });
    writeFileSync(path.join(repo, 'data.json'), JSON.stringify(rows.slice(0, 2)));
    writeFileSync(path.join(repo, 'data', 'data.json'), JSON.stringify(rows));
    const jpg = new Uint8Array(await sharp({ create: { width: 8, height: 8, channels: 3, background: '#333' } }).jpeg().toBuffer());
    const images: Record<string, Uint8Array> = {};
    for (const r of rows) images[`images/${r.image}`] = jpg;
    writeFileSync(path.join(repo, 'data', 'images.zip'), zipSync(images));
    const archive = path.join(work, 'main.tar.gz');
    await tar.c({ gzip: true, file: archive, cwd: path.join(work, 'src') }, ['SaLAD-main']);
    files.set('/salad-repo.tar.gz', archive);
    const result = await pullBenchmark('salad', { dir: path.join(work, 'cache'), from: `${base}/salad-repo.tar.gz` });
    expect(result.dataset.total).toBe(rows.length);
    expect(result.dataset.samples).toHaveLength(rows.length);
    expect(existsSync(path.join(result.path, 'images', rows[0].image))).toBe(true);
  });

  it('a 404 is a clear error naming the URL', async () => {
    await expect(pullBenchmark('salad', { dir: mkdtempSync(path.join(os.tmpdir(), 'mmsafe-pull-')), from: `${base}/nope.zip` })).rejects.toThrow(/HTTP 404 from http:\/\/127\.0\.0\.1:\d+\/nope\.zip/);
  });
});
