import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { downloadHubFile, downloadResumable } from './download.ts';
import { DatasetError } from './errors.ts';

/**
 * What a benchmark's repository snapshot does not hold: images published on the Hugging Face Hub
 * (one archive, or one file per item) or somewhere mmsafe cannot fetch (a drive link), in which
 * case the user is told exactly what to get and where to put it.
 */
export type ExtraPart =
  /** An archive on the Hub; the folder in it that holds `marker` becomes `into` (relative to the snapshot root). */
  | { kind: 'hub-archive'; dataset: string; revision: string; file: string; into: string; marker: string; sha256?: string }
  /**
   * One Hub file per item: `files(root)` lists them (from the snapshot's own data file). `into`: where
   * the release's own archive of them goes instead, when its URL is given (`data pull --from`).
   */
  | { kind: 'hub-files'; dataset: string; revision: string; files: (root: string) => { file: string; to: string }[]; into: string }
  /** Published where mmsafe cannot download from: instructions, and where `--from URL` archives go. */
  | { kind: 'manual'; what: string; into: string; marker: string };

export interface ExtrasOptions {
  /** Snapshot root. */
  root: string;
  /** Downloads that outlive a failed pull, so the next one resumes. */
  cacheDir: string;
  /** Archive URLs given for the parts (`data pull --from`), used for manual parts in order. */
  urls?: string[];
  log: (s: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Unpacks an archive (zip, tar, tar.gz) into a folder. */
  extract: (archive: string, into: string) => Promise<void>;
}

export interface ExtrasResult {
  /** Hub commits the revisions pointed to, by dataset. */
  hubCommits: Record<string, string>;
  /** Parts the user still has to fetch, as instructions. */
  todo: string[];
}

export async function fetchExtras(parts: readonly ExtraPart[], opts: ExtrasOptions): Promise<ExtrasResult> {
  const result: ExtrasResult = { hubCommits: {}, todo: [] };
  const urls = [...(opts.urls ?? [])];
  for (const part of parts) {
    // A URL given for a part that lives on the Hub replaces the Hub: the release's own archive.
    if (part.kind !== 'manual' && urls.length) {
      const files = part.kind === 'hub-files' ? part.files(opts.root) : [];
      const marker = part.kind === 'hub-archive' ? part.marker : files[0] && path.basename(files[0].to);
      if (marker) await fromArchive(urls.shift()!, `the images archive`, { into: part.into, marker, kind: part.kind }, opts);
      continue;
    }
    if (part.kind === 'hub-archive') {
      const local = path.join(opts.cacheDir, part.dataset.replace('/', '+'), part.file);
      opts.log(`downloading ${part.file} from the Hub dataset ${part.dataset} (resumable)`);
      const got = await downloadHubFile({ dataset: part.dataset, revision: part.revision, path: part.file, sha256: part.sha256 }, local, { log: opts.log, env: opts.env });
      if (got.commit) result.hubCommits[part.dataset] = got.commit;
      opts.log(`unpacking ${part.file} into ${part.into}/`);
      await unpackInto(local, part, opts);
    } else if (part.kind === 'hub-files') {
      const files = part.files(opts.root);
      opts.log(`downloading ${files.length} files from the Hub dataset ${part.dataset}`);
      for (const f of files) {
        const to = path.resolve(opts.root, f.to);
        if (!to.startsWith(path.resolve(opts.root) + path.sep)) throw new DatasetError(`refusing to write ${f.to} outside the snapshot`);
        if (existsSync(to)) continue;
        const got = await downloadHubFile({ dataset: part.dataset, revision: part.revision, path: f.file }, to, { env: opts.env });
        if (got.commit) result.hubCommits[part.dataset] = got.commit;
      }
    } else {
      const url = urls.shift();
      if (!url) {
        result.todo.push(`${part.what}; unpack it so that it becomes ${path.join(opts.root, part.into)} (or pass its folder as --images), or give its URL: mmsafe data pull ... --from <repository archive URL or "-"> --from <images archive URL>`);
        continue;
      }
      await fromArchive(url, part.what, part, opts);
    }
  }
  return result;
}

/** Downloads an archive given by URL (resumably) and unpacks the folder holding `marker` as `into`. */
async function fromArchive(url: string, what: string, part: { into: string; marker: string; kind: string }, opts: ExtrasOptions): Promise<void> {
  const local = path.join(opts.cacheDir, `extra-${Buffer.from(url).toString('base64url').slice(0, 40)}`);
  opts.log(`downloading ${what} (resumable)`);
  await downloadResumable(url, local, { log: opts.log });
  await unpackInto(local, part, opts);
}

/** The distinct values of one field of a JSON array file (e.g. the image names of a data file). */
export function jsonArrayField(file: string, field: string): string[] {
  const rows = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>[];
  return [...new Set(rows.map((r) => r[field]).filter((v): v is string => typeof v === 'string' && v !== ''))];
}

/**
 * Unpacks an archive and moves the folder that holds `marker` to `<root>/<into>`: archives wrap
 * their files in folders of varying names (imgs/, "<name>(imgs)/imgs/", none at all).
 */
async function unpackInto(archive: string, part: { into: string; marker: string; kind: string }, opts: ExtrasOptions): Promise<void> {
  const scratch = path.join(opts.cacheDir, `.unpack-${process.pid}`);
  rmSync(scratch, { recursive: true, force: true });
  try {
    await opts.extract(archive, scratch);
    const folder = folderHolding(scratch, part.marker, 4);
    if (!folder) throw new DatasetError(`${path.basename(archive)} holds no ${part.marker}: is it the right archive?`);
    const dest = path.join(opts.root, part.into);
    rmSync(dest, { recursive: true, force: true });
    mkdirSync(path.dirname(dest), { recursive: true });
    renameSync(folder, dest);
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}

function folderHolding(dir: string, marker: string, depth: number): string | undefined {
  if (existsSync(path.join(dir, marker))) return dir;
  if (depth === 0) return undefined;
  for (const name of readdirSync(dir).sort()) {
    const sub = path.join(dir, name);
    if (statSync(sub).isDirectory()) {
      const found = folderHolding(sub, marker, depth - 1);
      if (found) return found;
    }
  }
  return undefined;
}
