import { createHash, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { displayUrl } from '../src/core/display-url.ts';
import { downloadHubFile, downloadResumable, hubFileUrl } from '../src/datasets/download.ts';

// A loopback stand-in for the Hugging Face Hub: /datasets/<id>/resolve/<rev>/<file> answers a HEAD
// with the commit and the file's sha256 and redirects to a "CDN" path that honours Range requests.
const body = randomBytes(50_000);
const digest = createHash('sha256').update(body).digest('hex');
const seen: { url: string; auth?: string; range?: string; method: string }[] = [];
let server: http.Server;
let base: string;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-dl-'));
  server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization, range: req.headers.range, method: req.method ?? '' });
    if (req.url === '/datasets/someone/bench/resolve/main/imgs.tar' || req.url === '/datasets/someone/bench/resolve/main/sub%20dir/imgs.tar') {
      if (req.url.includes('sub') || (req.headers.authorization ?? '') === 'Bearer hf_test_token') {
        return res.writeHead(302, { location: `${base}/cdn/imgs.tar?X-Signature=secret`, 'x-repo-commit': 'a'.repeat(40), 'x-linked-etag': `"${digest}"`, 'x-linked-size': String(body.length) }).end();
      }
      return res.writeHead(401).end('unauthorized');
    }
    if (req.url?.startsWith('/cdn/imgs.tar')) {
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m) {
        const from = Number(m[1]);
        res.writeHead(206, { 'content-range': `bytes ${from}-${body.length - 1}/${body.length}`, 'content-length': body.length - from });
        return res.end(body.subarray(from));
      }
      res.writeHead(200, { 'content-length': body.length });
      return res.end(body);
    }
    res.writeHead(404).end('not found');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

describe('Hugging Face downloads', () => {
  const env = () => ({ HF_ENDPOINT: `${base}/`, HF_TOKEN: 'hf_test_token' }) as NodeJS.ProcessEnv;

  it('builds the resolve URL from HF_ENDPOINT, encoding the path', () => {
    expect(hubFileUrl({ dataset: 'o/n', revision: 'main', path: 'a b/c.tar' }, {})).toBe('https://huggingface.co/datasets/o/n/resolve/main/a%20b/c.tar');
    expect(hubFileUrl({ dataset: 'o/n', revision: 'v1', path: 'x' }, env())).toBe(`${base}/datasets/o/n/resolve/v1/x`);
  });

  it('sends HF_TOKEN, follows the redirect, verifies against the sha256 the Hub names and records the commit', async () => {
    seen.length = 0;
    const file = path.join(work, 'a', 'imgs.tar');
    const got = await downloadHubFile({ dataset: 'someone/bench', revision: 'main', path: 'imgs.tar' }, file, { env: env() });
    expect(readFileSync(file).equals(body)).toBe(true);
    expect(got).toMatchObject({ sha256: digest, commit: 'a'.repeat(40), resumedFrom: 0 });
    expect(seen.filter((s) => s.url.startsWith('/datasets')).every((s) => s.auth === 'Bearer hf_test_token')).toBe(true);
  });

  it('without HF_TOKEN a gated file is a clear error naming the variable', async () => {
    await expect(downloadHubFile({ dataset: 'someone/bench', revision: 'main', path: 'imgs.tar' }, path.join(work, 'b', 'x'), { env: { HF_ENDPOINT: base } })).rejects.toThrow(/HTTP 401.*HF_TOKEN/);
  });

  it('resumes an interrupted download with a Range request', async () => {
    const file = path.join(work, 'c', 'imgs.tar');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.part`, body.subarray(0, 20_000));
    seen.length = 0;
    const got = await downloadResumable(`${base}/cdn/imgs.tar`, file, { sha256: digest });
    expect(seen.at(-1)?.range).toBe('bytes=20000-');
    expect(got.resumedFrom).toBe(20_000);
    expect(readFileSync(file).equals(body)).toBe(true);
    expect(existsSync(`${file}.part`)).toBe(false);
  });

  it('a corrupt part file fails verification, is deleted, and the next try succeeds', async () => {
    const file = path.join(work, 'd', 'imgs.tar');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(`${file}.part`, randomBytes(1000));
    await expect(downloadResumable(`${base}/cdn/imgs.tar`, file, { sha256: digest })).rejects.toThrow(/corrupt or not the expected file/);
    expect(existsSync(`${file}.part`)).toBe(false);
    await downloadResumable(`${base}/cdn/imgs.tar`, file, { sha256: digest });
    expect(readFileSync(file).equals(body)).toBe(true);
  });

  it('never prints a signed query string or a password', () => {
    expect(displayUrl('https://user:pw@cdn.example/x.tar?X-Signature=secret')).toBe('https://cdn.example/x.tar');
  });
});
