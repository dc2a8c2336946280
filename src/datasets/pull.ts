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
    urls: ['https://huggingface.co/datasets/xinyuelou/SaLAD/resolve/main/SaLAD.zip'],
    marker: 'data.json',
    note: "SaLAD's release on its dataset hub page (about 960 MB)",
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

/** The shallowest folder holding the marker file. */
function findFolderWith(root: string, marker: string, depth = 0): string | undefined {
  if (existsSync(path.join(root, marker))) return root;
  if (depth > 5) return undefined;
  for (const name of readdirSync(root).sort()) {
    const sub = path.join(root, name);
    if (statSync(sub).isDirectory()) {
      const found = findFolderWith(sub, marker, depth + 1);
      if (found) return found;
    }
  }
  return undefined;
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
    rmSync(target, { recursive: true, force: true });
    renameSync(folder, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  const dataset = await loadBenchmark(benchmark, target);
  return { benchmark, path: target, dataset };
}
