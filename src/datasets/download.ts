import { createHash } from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, renameSync, rmSync, statSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { displayUrl } from '../core/display-url.ts';
import { DatasetError } from './errors.ts';

/**
 * Large files (image archives of several GB) are fetched resumably: bytes go to `<file>.part`, an
 * interrupted download continues with an HTTP Range request, and the finished file is checked
 * against the expected sha256 before it takes its final name.
 */
export interface DownloadOptions {
  headers?: Record<string, string>;
  /** Expected sha256 (hex) of the whole file; a mismatch deletes the download and fails. */
  sha256?: string;
  /** Expected git blob id (what the Hub names a file kept in git, not in large-file storage); checked likewise. */
  gitBlob?: string;
  log?: (s: string) => void;
}

export interface Downloaded {
  file: string;
  sha256: string;
  bytes: number;
  /** Bytes already on disk from an earlier, interrupted download. */
  resumedFrom: number;
}

export async function fileSha256(file: string): Promise<string> {
  const hash = createHash('sha256');
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** The git blob id of a file (sha1 of "blob <size>\0" and the content), streamed. */
export async function fileGitBlob(file: string): Promise<string> {
  const hash = createHash('sha1').update(`blob ${statSync(file).size}\0`);
  await pipeline(createReadStream(file), hash);
  return hash.digest('hex');
}

/** Whether a downloaded file is the one expected: sha256 and/or git blob id; the first mismatch, named. */
async function mismatch(file: string, opts: DownloadOptions, digest: string): Promise<string | undefined> {
  if (opts.sha256 && digest !== opts.sha256) return `sha256 ${digest}, expected ${opts.sha256}`;
  if (opts.gitBlob) {
    const blob = await fileGitBlob(file);
    if (blob !== opts.gitBlob) return `git blob ${blob}, expected ${opts.gitBlob}`;
  }
  return undefined;
}

/** A download that never reached its server: the host and the socket's reason, and what to do. */
export function unreachable(url: string, error: unknown, hint: string): DatasetError {
  let e = error as { cause?: unknown; code?: unknown } | undefined;
  let code: string | undefined;
  for (let depth = 0; e && depth < 5 && !code; depth++, e = e.cause as typeof e) if (typeof e.code === 'string') code = e.code;
  let host = url;
  try {
    host = new URL(url).host;
  } catch {
    // not a URL: name it as given
  }
  return new DatasetError(`cannot reach ${host} (${code ?? (error as Error).message}); ${hint}`);
}

export async function downloadResumable(url: string, file: string, opts: DownloadOptions = {}): Promise<Downloaded> {
  const log = opts.log ?? (() => undefined);
  mkdirSync(path.dirname(file), { recursive: true });
  if (existsSync(file) && (opts.sha256 || opts.gitBlob)) {
    const digest = await fileSha256(file);
    if (!(await mismatch(file, opts, digest))) {
      log(`${path.basename(file)}: already here and verified`);
      return { file, sha256: digest, bytes: statSync(file).size, resumedFrom: statSync(file).size };
    }
  }
  const part = `${file}.part`;
  const have = existsSync(part) ? statSync(part).size : 0;
  const headers: Record<string, string> = { ...opts.headers, ...(have ? { range: `bytes=${have}-` } : {}) };
  const res = await fetch(url, { headers, redirect: 'follow' }).catch((error: unknown) => {
    throw unreachable(url, error, 'no network here? the download resumes where it stopped when you run it again, or give a copy you can reach with --from URL');
  });
  if (res.status === 416 && have) {
    // The part file is already complete (or longer than the file): start over to be sure.
    rmSync(part, { force: true });
    return downloadResumable(url, file, opts);
  }
  if (!res.ok || !res.body) {
    const hint = res.status === 401 || res.status === 403 ? ' (gated or private: set HF_TOKEN to a token that may read it)' : '';
    throw new DatasetError(`download failed: HTTP ${res.status} from ${displayUrl(url)}${hint}`);
  }
  const resumed = res.status === 206 && have > 0;
  if (have && !resumed) log(`${path.basename(file)}: the server does not resume; starting over`);
  else if (resumed) log(`${path.basename(file)}: resuming after ${have} bytes`);
  await pipeline(Readable.fromWeb(res.body as import('node:stream/web').ReadableStream), createWriteStream(part, { flags: resumed ? 'a' : 'w' }));
  const digest = await fileSha256(part);
  const wrong = await mismatch(part, opts, digest);
  if (wrong) {
    rmSync(part, { force: true });
    throw new DatasetError(`${path.basename(file)} from ${displayUrl(url)} is corrupt or not the expected file: ${wrong}`);
  }
  renameSync(part, file);
  return { file, sha256: digest, bytes: statSync(file).size, resumedFrom: resumed ? have : 0 };
}

/** A file in a Hugging Face dataset repository at a revision. */
export interface HubFile {
  /** e.g. owner/name */
  dataset: string;
  revision: string;
  path: string;
  /** sha256 of the file, when known in advance. */
  sha256?: string;
}

/** The Hub the Hugging Face tools would use: HF_ENDPOINT, else huggingface.co. */
export function hubEndpoint(env: NodeJS.ProcessEnv = process.env): string {
  return (env.HF_ENDPOINT?.trim() || 'https://huggingface.co').replace(/\/+$/, '');
}

export function hubFileUrl(f: HubFile, env: NodeJS.ProcessEnv = process.env): string {
  const file = f.path.split('/').map(encodeURIComponent).join('/');
  return `${hubEndpoint(env)}/datasets/${f.dataset}/resolve/${encodeURIComponent(f.revision)}/${file}`;
}

/** HF_TOKEN as a bearer token, as the Hugging Face tools send it; never logged. */
export function hubHeaders(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const token = env.HF_TOKEN?.trim();
  return token ? { authorization: `Bearer ${token}` } : {};
}

export interface HubDownloaded extends Downloaded {
  /** The commit the Hub says the revision pointed to. */
  commit?: string;
}

/**
 * Downloads one Hub file, resumably. The Hub names the file's sha256 (X-Linked-Etag, for files
 * in large-file storage) and the commit of the revision before redirecting to its CDN: a file
 * whose sha256 is not pinned is verified against the Hub's own; a small file kept in git is
 * verified against the git blob id its ETag names.
 */
export async function downloadHubFile(f: HubFile, file: string, opts: { log?: (s: string) => void; env?: NodeJS.ProcessEnv } = {}): Promise<HubDownloaded> {
  const url = hubFileUrl(f, opts.env);
  const headers = hubHeaders(opts.env);
  let expected = f.sha256;
  const head = await fetch(url, { method: 'HEAD', headers, redirect: 'manual' }).catch((error: Error) => {
    throw new DatasetError(`cannot reach ${hubEndpoint(opts.env)} (${error.message}); set HF_ENDPOINT for a mirror`);
  });
  if (head.status === 401 || head.status === 403 || head.status === 404) {
    throw new DatasetError(`${displayUrl(url)}: HTTP ${head.status}${head.status === 404 ? ' (no such file at this revision)' : ' (gated or private: set HF_TOKEN)'}`);
  }
  const commit = head.headers.get('x-repo-commit') ?? undefined;
  const etag = (head.headers.get('x-linked-etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  if (!expected && /^[0-9a-f]{64}$/.test(etag)) expected = etag;
  // A file kept in git (not large-file storage) has no X-Linked-Etag; its ETag is its git blob id.
  const plain = (head.headers.get('etag') ?? '').replace(/^W\//, '').replace(/"/g, '');
  const gitBlob = !expected && /^[0-9a-f]{40}$/.test(plain) ? plain : undefined;
  const got = await downloadResumable(url, file, { headers, sha256: expected, ...(gitBlob ? { gitBlob } : {}), log: opts.log });
  return { ...got, commit };
}
