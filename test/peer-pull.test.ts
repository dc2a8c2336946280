import { createHash } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { zipSync } from 'fflate';
import * as tar from 'tar';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mmSafetyBench } from '../src/benchmarks/mm-safetybench.ts';
import { siuo } from '../src/benchmarks/siuo.ts';
import { vlsbench } from '../src/benchmarks/vlsbench.ts';
import { pullBenchmark, pullFromSource } from '../src/datasets/pull.ts';
import { gitBlobId, type UpstreamPin } from '../src/upstream/template.ts';
import { tinyPng, writeTree } from './helpers/upstream.ts';

// Loopback stand-ins for GitHub's archive server and the Hugging Face Hub, serving fixtures the test writes.
const served = new Map<string, Buffer>();
const seen: { method?: string; url?: string; auth?: string }[] = [];
let server: http.Server;
let base: string;
let work: string;

beforeAll(async () => {
  work = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-peer-pull-'));
  server = http.createServer((req, res) => {
    seen.push({ method: req.method, url: req.url, auth: req.headers.authorization });
    const hub = /^\/datasets\/(.+)\/resolve\/main\/(.+)$/.exec(req.url ?? '');
    // A small file kept in git: answered directly, its ETag the git blob id (of `etag` content when given: a corrupt copy).
    const inGit = hub && served.get(`hubgit:${hub[1]}/${hub[2]}`);
    if (inGit) return res.writeHead(200, { 'content-length': inGit.length, etag: `"${gitBlobId(served.get(`etag:${hub![1]}/${hub![2]}`) ?? inGit)}"`, 'x-repo-commit': 'd'.repeat(40) }).end(inGit);
    if (hub) {
      const body = served.get(`hub:${hub[1]}/${hub[2]}`);
      if (!body) return res.writeHead(404).end();
      return res.writeHead(302, { location: `${base}/cdn/${hub[1]}/${hub[2]}`, 'x-repo-commit': 'b'.repeat(40), 'x-linked-etag': `"${createHash('sha256').update(body).digest('hex')}"` }).end();
    }
    const cdn = /^\/cdn\/(.+)$/.exec(req.url ?? '');
    const body = cdn ? served.get(`hub:${cdn[1]}`) : served.get(req.url ?? '');
    if (!body) return res.writeHead(404).end('not found');
    res.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await new Promise<void>((r) => server.close(() => r()));
  rmSync(work, { recursive: true, force: true });
});

/** A GitHub-style archive (<repo>-<sha>/...) of files the test writes; returns it and a pin of those files. */
async function repoArchive(name: string, files: Record<string, string>, pinned: string[]): Promise<{ archive: Buffer; pin: UpstreamPin }> {
  const src = mkdtempSync(path.join(work, 'src-'));
  writeTree(path.join(src, `${name}-abc`), files);
  const file = path.join(src, 'a.tar.gz');
  await tar.c({ gzip: true, file, cwd: src }, [`${name}-abc`]);
  const pin = { repo: `someone/${name}`, commit: 'c'.repeat(40), blobs: Object.fromEntries(pinned.map((f) => [f, gitBlobId(Buffer.from(files[f]))])) };
  return { archive: readFileSync(file), pin };
}

const vlsFiles = {
  'data/data.json': JSON.stringify([0, 1].map((i) => ({ instruction_id: i, instruction: `question ${i}`, image_path: `imgs/${i}.png`, category: 'Privacy' }))),
  'eval_utils.py': 'PROMPT_TEMPLATE = """x {question} {response}"""\n',
  'models/load_openai.py': 'm = [{"role": "system", "content": "s"}]\n',
};

describe('data pull of the peer benchmarks', () => {
  it('VLSBench: the repository archive checked against its pin, imgs.tar from the Hub (HF_ENDPOINT, HF_TOKEN) unpacked into data/imgs', async () => {
    const { archive, pin } = await repoArchive('VLSBench', vlsFiles, ['data/data.json', 'eval_utils.py']);
    served.set('/vls.tar.gz', archive);
    const imgs = mkdtempSync(path.join(work, 'imgs-'));
    writeTree(imgs, { 'imgs/0.png': await tinyPng(1), 'imgs/1.png': await tinyPng(2) });
    const tarFile = path.join(imgs, 'imgs.tar');
    await tar.c({ file: tarFile, cwd: imgs }, ['imgs']);
    served.set('hub:Foreshhh/vlsbench/imgs.tar', readFileSync(tarFile));
    seen.length = 0;
    const dir = path.join(work, 'cache');
    const result = await pullFromSource('vlsbench', { ...vlsbench.source!, pin }, { dir, from: `${base}/vls.tar.gz`, env: { HF_ENDPOINT: base, HF_TOKEN: 'hf_fixture' } });
    expect(result.path).toBe(path.join(dir, 'vlsbench'));
    expect(result.dataset.samples.map((s) => s.id)).toEqual(['0', '1']);
    expect(existsSync(path.join(result.path, 'data', 'imgs', '1.png'))).toBe(true);
    expect(result.todo).toEqual([]);
    const hubCalls = seen.filter((s) => s.url?.startsWith('/datasets/'));
    expect(hubCalls.map((s) => s.url)).toContain('/datasets/Foreshhh/vlsbench/resolve/main/imgs.tar');
    expect(hubCalls.every((s) => s.auth === 'Bearer hf_fixture')).toBe(true);
  });

  it('refuses an archive that is not the pinned commit, naming the file that differs', async () => {
    const { archive } = await repoArchive('VLSBench', vlsFiles, []);
    served.set('/other.tar.gz', archive);
    await expect(pullBenchmark('vlsbench', { dir: path.join(work, 'c2'), from: `${base}/other.tar.gz` })).rejects.toThrow(/is not AI45Lab\/VLSBench at 68f54dea3eab: .*data\/data\.json differs/);
  });

  it('MM-SafetyBench: says what to fetch by hand, or unpacks an images archive given as a second --from', async () => {
    const files = {
      'TinyVersion_ID_List.json': '[]',
      'evaluation.py': 'gpt_query_template_safety = ("{prediction}")\n',
      'data/processed_questions/01-Illegal_Activitiy.json': JSON.stringify({ '0': { 'Rephrased Question': 'r', 'Rephrased Question(SD)': 'rs' } }),
    };
    const { archive, pin } = await repoArchive('MM-SafetyBench', files, ['evaluation.py']);
    served.set('/mmsb.tar.gz', archive);
    const first = await pullFromSource('mm-safetybench', { ...mmSafetyBench.source!, pin }, { dir: path.join(work, 'c3'), from: `${base}/mmsb.tar.gz` });
    expect(first.todo[0]).toMatch(/MM-SafetyBench\(imgs\)\.zip.*data\/imgs/);
    expect(first.dataset.samples).toHaveLength(0);

    const png = await tinyPng(9);
    const entries: Record<string, Uint8Array> = {};
    for (const kind of ['SD', 'SD_TYPO', 'TYPO']) entries[`MM-SafetyBench(imgs)/imgs/01-Illegal_Activitiy/${kind}/0.jpg`] = new Uint8Array(png);
    served.set('/imgs.zip', Buffer.from(zipSync(entries)));
    const second = await pullFromSource('mm-safetybench', { ...mmSafetyBench.source!, pin }, { dir: path.join(work, 'c3'), from: [`${base}/mmsb.tar.gz`, `${base}/imgs.zip`] });
    expect(second.todo).toEqual([]);
    expect(second.dataset.samples.map((s) => s.id).sort()).toEqual(['01-Illegal_Activitiy/SD/0', '01-Illegal_Activitiy/SD_TYPO/0', '01-Illegal_Activitiy/TYPO/0']);
  });

  it('SIUO: the images one Hub file each (HF_ENDPOINT, HF_TOKEN), each checked against the git blob id the Hub names; a corrupt one fails and the next pull completes', async () => {
    const gen = (id: number) => ({ question_id: id, image: `S-${id}.png`, question: `Ask ${id}`, category: 'morality', safety_warning: 'w', reference_answer: 'r' });
    const files = {
      'data/siuo_gen.json': JSON.stringify([gen(1), gen(2)]),
      'eval/gpt-eval.py': 'prompt_template = "x"\n',
    };
    const { archive, pin } = await repoArchive('SIUO', files, ['data/siuo_gen.json']);
    served.set('/siuo.tar.gz', archive);
    const [one, two] = [await tinyPng(11), await tinyPng(12)];
    served.set('hubgit:sinwang/SIUO/images/S-1.png', one);
    served.set('hubgit:sinwang/SIUO/images/S-2.png', two);
    served.set('etag:sinwang/SIUO/images/S-2.png', one); // the Hub names another file's blob: this copy is not the one published
    seen.length = 0;
    const dir = path.join(work, 'c4');
    const env = { HF_ENDPOINT: base, HF_TOKEN: 'hf_fixture' };
    await expect(pullFromSource('siuo', { ...siuo.source!, pin }, { dir, from: `${base}/siuo.tar.gz`, env })).rejects.toThrow(/S-2\.png .*not the expected file: git blob/);
    expect(seen.filter((r) => r.url?.startsWith('/datasets/sinwang/SIUO/resolve/main/images/')).every((r) => r.auth === 'Bearer hf_fixture')).toBe(true);
    served.delete('etag:sinwang/SIUO/images/S-2.png');
    const result = await pullFromSource('siuo', { ...siuo.source!, pin }, { dir, from: `${base}/siuo.tar.gz`, env });
    expect(result.todo).toEqual([]);
    expect(readFileSync(path.join(result.path, 'data', 'images', 'S-2.png'))).toEqual(two);
    expect(result.dataset.samples.map((s) => s.id)).toEqual(['1', '2']);
  });

  it("SIUO: the release's image archive given as a second --from is unpacked into data/images instead of asking the Hub", async () => {
    const gen = (id: number) => ({ question_id: id, image: `S-${id}.png`, question: `Ask ${id}`, category: 'morality', safety_warning: 'w', reference_answer: 'r' });
    const { archive, pin } = await repoArchive('SIUO', { 'data/siuo_gen.json': JSON.stringify([gen(1), gen(2)]) }, ['data/siuo_gen.json']);
    served.set('/siuo2.tar.gz', archive);
    const [one, two] = [await tinyPng(21), await tinyPng(22)];
    served.set('/SIUO-images.zip', Buffer.from(zipSync({ 'SIUO-images/S-1.png': new Uint8Array(one), 'SIUO-images/S-2.png': new Uint8Array(two) })));
    seen.length = 0;
    const result = await pullFromSource('siuo', { ...siuo.source!, pin }, { dir: path.join(work, 'c5'), from: [`${base}/siuo2.tar.gz`, `${base}/SIUO-images.zip`], env: { HF_ENDPOINT: base } });
    expect(result.todo).toEqual([]);
    expect(readFileSync(path.join(result.path, 'data', 'images', 'S-2.png'))).toEqual(two);
    expect(result.dataset.samples.map((s) => s.id)).toEqual(['1', '2']);
    expect(seen.filter((r) => r.url?.startsWith('/datasets/'))).toEqual([]);
  });
});
