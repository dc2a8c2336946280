import { mkdirSync, renameSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { BENCHMARKS, benchmarkNames } from '../benchmarks/registry.ts';
import type { DataSource } from '../benchmarks/types.ts';
import type { LoadedDataset } from '../core/types.ts';
import { download, extract, findFolderWith } from './archive.ts';
import { DatasetError } from './errors.ts';
import { displayUrl } from '../core/display-url.ts';
import { fetchExtras } from './extras.ts';
import { checkPin, type UpstreamPin } from '../upstream/template.ts';
import { loadBenchmark } from './registry.ts';

export function defaultDataDir(): string {
  return process.env.MMSAFE_CACHE_DIR ? path.join(process.env.MMSAFE_CACHE_DIR, 'data') : path.join(os.homedir(), '.cache', 'mmsafe', 'data');
}

export interface PullResult {
  benchmark: string;
  path: string;
  dataset: LoadedDataset;
  /** Parts the user still has to fetch (images behind a drive link), as instructions. */
  todo: string[];
}

export interface PullOptions {
  dir?: string;
  /** Mirrors: the repository archive first ("-" for the default), then archives of the parts published elsewhere. */
  from?: string | string[];
  log?: (s: string) => void;
  env?: NodeJS.ProcessEnv;
}

/** A snapshot that is not the pinned commit would run other prompts than the ones documented. */
function verifyPin(folder: string, pin: UpstreamPin, url: string): string[] {
  const check = checkPin(folder, pin);
  const wrong = [...check.missing.map((f) => `${f} is missing`), ...check.differing.map((d) => `${d.file} differs (blob ${d.blob.slice(0, 12)}, expected ${d.expected.slice(0, 12)})`)];
  if (wrong.length) {
    throw new DatasetError(`the archive from ${displayUrl(url)} is not ${pin.repo} at ${pin.commit.slice(0, 12)}: ${wrong.join('; ')}. Use the pinned snapshot, or pass a clone of the version you want as --data directly (its templates are then marked unverified).`);
  }
  return check.verified;
}

/**
 * Downloads a benchmark archive, keeps its data folder under `dir/<benchmark>`, and verifies it by
 * loading it as a run would (counts, image presence).
 */
export async function pullBenchmark(benchmark: string, opts: PullOptions = {}): Promise<PullResult> {
  const source = BENCHMARKS.find((b) => b.name === benchmark)?.source;
  if (!source) throw new DatasetError(`no download source for "${benchmark}"; known: ${benchmarkNames({ pullable: true }).join(', ')}`);
  return pullFromSource(benchmark, source, opts);
}

/** `pullBenchmark` with the source given (tests pin their own fixtures). */
export async function pullFromSource(benchmark: string, source: DataSource, opts: PullOptions = {}): Promise<PullResult> {
  const log = opts.log ?? (() => undefined);
  const root = path.resolve(opts.dir ?? defaultDataDir());
  const target = path.join(root, benchmark);
  const work = path.join(root, `.pull-${benchmark}-${process.pid}`);
  rmSync(work, { recursive: true, force: true });
  mkdirSync(work, { recursive: true });
  const [first, ...rest] = typeof opts.from === 'string' ? [opts.from] : (opts.from ?? []);
  let verified: string[] = [];
  try {
    const url = first && first !== '-' ? first : source.urls[0];
    log(`downloading ${url}`);
    const archive = path.join(work, 'archive');
    await download(url, archive);
    log('extracting');
    await extract(archive, path.join(work, 'x'));
    const folder = findFolderWith(path.join(work, 'x'), source.marker);
    if (!folder) throw new DatasetError(`the archive from ${url} holds no ${source.marker}: is it ${source.note}?`);
    if (source.pin) verified = verifyPin(folder, source.pin, url);
    await source.afterExtract?.(folder, path.join(work, 'x'), log);
    rmSync(target, { recursive: true, force: true });
    renameSync(folder, target);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
  if (source.pin) log(`${verified.length} files match ${source.pin.repo}@${source.pin.commit.slice(0, 12)}`);
  // Big downloads live beside the snapshots, so an interrupted pull resumes where it stopped.
  const extras = await fetchExtras(source.extras ?? [], { root: target, cacheDir: path.join(root, '.downloads', benchmark), urls: rest, log, env: opts.env, extract });
  // With parts still to fetch, the images may all be missing: report them rather than fail.
  const def = BENCHMARKS.find((b) => b.name === benchmark)!;
  const dataset = extras.todo.length ? await def.load(target, {}) : await loadBenchmark(benchmark, target);
  return { benchmark, path: target, dataset, todo: extras.todo };
}
