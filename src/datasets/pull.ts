import { createWriteStream, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { readFileSync } from 'node:fs';
import type { LoadedDataset } from '../core/types.ts';
import { DatasetError } from './errors.ts';
import { loadBenchmark } from './registry.ts';

/** Where each benchmark is published, and the file that marks its data folder inside an archive. */
export const SOURCES: Record<string, { urls: string[]; marker: string; note: string }> = {
  mmsafeaware: {
    urls: ['https://codeload.github.com/Jarviswang94/MMSafetyAwareness/tar.gz/refs/heads/main'],
    marker: 'prompt.txt',
    note: "the MMSafeAware GitHub repository's data/ folder",
  },
  salad: {
    // The upstream repository (xinyuelou/SaLAD): data/data.json and the images archive it names.
    urls: ['https://codeload.github.com/xinyuelou/SaLAD/tar.gz/refs/heads/main'],
    marker: 'data.json',
    note: "the SaLAD GitHub repository (data.json and its images archive; the same files are on the dataset hub as Holly301/SaLAD)",
  },
};

export function defaultDataDir(): string {
  return process.env.MMSAFE_CACHE_DIR ? path.join(process.env.MMSAFE_CACHE_DIR, 'data') : path.join(os.homedir(), '.cache', 'mmsafe', 'data');
}

async function download(url: string, file: string): Promise<void> {
  const res = await fetch(url, { redirect: 'follow' });
  if (!res.ok || !res.body) throw new DatasetError(`download failed: HTTP ${res.status} from ${url} (use --from URL for a mirror)`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
}

async function extract(archive: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  const head = readFileSync(archive).subarray(0, 4);
  if (head[0] === 0x50 && head[1] === 0x4b) {
    const { unzipSync } = await import('fflate');
    const files = unzipSync(readFileSync(archive));
    for (const [name, data] of Object.entries(files)) {
      const target = path.resolve(into, name);
      // Archives are untrusted: nothing may land outside the target directory.
      if (!target.startsWith(path.resolve(into) + path.sep)) continue;
      if (name.endsWith('/')) mkdirSync(target, { recursive: true });
      else {
        mkdirSync(path.dirname(target), { recursive: true });
        writeFileSync(target, data);
      }
    }
    return;
  }
  if (head[0] === 0x1f && head[1] === 0x8b) {
    const tar = await import('tar');
    await tar.x({ file: archive, cwd: into, strict: true });
    return;
  }
  throw new DatasetError(`${archive}: not a .zip or .tar.gz archive`);
}

/**
 * The folder whose marker file is the largest: a repository may hold a small sample beside the
 * full release (SaLAD keeps both a top-level data.json and data/data.json). Ties go to the shallowest.
 */
function findFolderWith(root: string, marker: string): string | undefined {
  let best: { dir: string; size: number; depth: number } | undefined;
  const walk = (dir: string, depth: number) => {
    const file = path.join(dir, marker);
    if (existsSync(file)) {
      const size = statSync(file).size;
      if (!best || size > best.size || (size === best.size && depth < best.depth)) best = { dir, size, depth };
    }
    if (depth >= 5) return;
    for (const name of readdirSync(dir).sort()) {
      const sub = path.join(dir, name);
      if (statSync(sub).isDirectory()) walk(sub, depth + 1);
    }
  };
  walk(root, 0);
  return best?.dir;
}

/**
 * Upstream SaLAD ships its images as an archive to "unzip under ./images": when the data folder has
 * no images/ yet, an images archive found beside data.json or higher up in the download is unpacked there.
 */
async function unpackNestedImages(folder: string, top: string, log: (s: string) => void): Promise<void> {
  if (existsSync(path.join(folder, 'images'))) return;
  for (let dir = folder; dir.startsWith(top); dir = path.dirname(dir)) {
    const archive = readdirSync(dir).find((n) => /^images?[\w.-]*\.(zip|tar\.gz|tgz)$/i.test(n));
    if (archive) {
      log(`unpacking ${archive} into images/`);
      const scratch = path.join(top, '.images');
      await extract(path.join(dir, archive), scratch);
      // The archive may hold the files at its top, or under one images/ folder.
      const inner = existsSync(path.join(scratch, 'images')) ? path.join(scratch, 'images') : scratch;
      renameSync(inner, path.join(folder, 'images'));
      return;
    }
    if (dir === top) return;
  }
}

export interface PullResult {
  benchmark: string;
  path: string;
  dataset: LoadedDataset;
}

/**
 * Downloads a benchmark archive, keeps its data folder under `dir/<benchmark>`, and verifies it by
 * loading it as a run would (counts, image presence).
 */
export async function pullBenchmark(benchmark: string, opts: { dir?: string; from?: string; log?: (s: string) => void } = {}): Promise<PullResult> {
  const source = SOURCES[benchmark];
  if (!source) throw new DatasetError(`no download source for "${benchmark}"; known: ${Object.keys(SOURCES).join(', ')}`);
  const log = opts.log ?? (() => undefined);
  const root = path.resolve(opts.dir ?? defaultDataDir());
  const target = path.join(root, benchmark);
  const work = path.join(root, `.pull-${benchmark}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  try {
    const url = opts.from ?? source.urls[0];
    log(`downloading ${url}`);
    const archive = path.join(work, 'archive');
    await download(url, archive);
    log('extracting');
    await extract(archive, path.join(work, 'x'));
    const folder = findFolderWith(path.join(work, 'x'), source.marker);
    if (!folder) throw new DatasetError(`the archive from ${url} holds no ${source.marker}: is it ${source.note}?`);
    if (benchmark === 'salad') await unpackNestedImages(folder, path.join(work, 'x'), log);
    rmSync(target, { recursive: true, force: true });
    renameSync(folder, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const dataset = await loadBenchmark(benchmark, target);
  return { benchmark, path: target, dataset };
}
