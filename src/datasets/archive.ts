import { closeSync, createWriteStream, existsSync, openSync, readSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { DatasetError } from './errors.ts';
import { displayUrl } from '../core/display-url.ts';
import { unreachable } from './download.ts';

// Downloading and unpacking a benchmark archive: untrusted input, so nothing lands outside its target.

export async function download(url: string, file: string): Promise<void> {
  const res = await fetch(url, { redirect: 'follow' }).catch((error: unknown) => {
    throw unreachable(url, error, 'no network here? give a copy you can reach with --from URL (a mirror, or a server on this network)');
  });
  if (!res.ok || !res.body) throw new DatasetError(`download failed: HTTP ${res.status} from ${displayUrl(url)} (use --from URL for a mirror)`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(file));
}

export async function extract(archive: string, into: string): Promise<void> {
  mkdirSync(into, { recursive: true });
  // Only the header: an image archive can be several GB.
  const head = Buffer.alloc(512);
  const fd = openSync(archive, 'r');
  try {
    readSync(fd, head, 0, 512, 0);
  } finally {
    closeSync(fd);
  }
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
  // gzip, or a plain tar (its header says "ustar" at offset 257), streamed.
  if ((head[0] === 0x1f && head[1] === 0x8b) || head.subarray(257, 262).toString('latin1') === 'ustar') {
    const tar = await import('tar');
    await tar.x({ file: archive, cwd: into, strict: true });
    return;
  }
  throw new DatasetError(`${archive}: not a .zip, .tar or .tar.gz archive`);
}

/**
 * The folder whose marker file is the largest: a repository may hold a small sample beside the
 * full release (one keeps both a top-level data.json and data/data.json). Ties go to the shallowest.
 */
export function findFolderWith(root: string, marker: string): string | undefined {
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
 * For a benchmark that ships its images as an archive to unpack under images/: when the data folder has
 * no images/ yet, an images archive found beside data.json or higher up in the download is unpacked there.
 */
export async function unpackNestedImages(folder: string, top: string, log: (s: string) => void): Promise<void> {
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
