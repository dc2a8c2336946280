// Before a run, one short request proves key, endpoint and model, so a wrong setting fails in a
// second with its real cause instead of after every sample's retries.
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockOpenAI, type MockServer } from '../src/mock/openai-server.ts';
import { startMockAnthropic } from '../src/mock/anthropic-server.ts';
import { runCli } from './helpers/cli.ts';
import { closedPort } from './helpers/net.ts';

let dir: string;
const servers: { close(): Promise<void> }[] = [];
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-preflight-'));
  await writeDemoBenchmark(dir);
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

// Unset in the child (an empty value counts as unset too).
const noKeys = { OPENAI_API_KEY: undefined, OPENAI_BASE_URL: undefined, ANTHROPIC_API_KEY: '', GEMINI_API_KEY: undefined, GOOGLE_API_KEY: '' };
let dbCount = 0;
async function run(args: string[], env: NodeJS.ProcessEnv = {}) {
  const db = path.join(dir, `run-${++dbCount}.db`);
  const r = await runCli(['run', '--benchmark', 'demo', '--data', dir, '--db', db, '--quiet', ...args], { ...noKeys, ...env }).done;
  const runs = JSON.parse((await runCli(['runs', '--db', db, '--json']).done).stdout || '[]') as { id: string; status: string }[];
  return { ...r, runs };
}

/** A loopback port nothing listens on. */
async function mock(opts: Parameters<typeof startMockOpenAI>[0]): Promise<MockServer> {
  const s = await startMockOpenAI(opts);
  servers.push(s);
  return s;
}

describe('preflight', () => {
  it('a missing key names the variable to set, before anything is sent or stored', async () => {
    const openai = await run(['--model', 'openai:gpt-4o']);
    expect(openai.code).toBe(1);
    expect(openai.stderr).toMatch(/OPENAI_API_KEY is not set; export OPENAI_API_KEY=/);
    expect(openai.runs).toEqual([]);
    const anthropic = await run(['--model', 'anthropic:claude-sonnet-4-5']);
    expect(anthropic.stderr).toMatch(/ANTHROPIC_API_KEY is not set/);
    const gemini = await run(['--model', 'gemini:gemini-2.5-flash']);
    expect(gemini.stderr).toMatch(/GEMINI_API_KEY or GOOGLE_API_KEY is not set/);
  });

  it('a port nothing listens on is "connection refused" with the URL, and no run is stored', async () => {
    const url = `http://127.0.0.1:${await closedPort()}/v1`;
    const r = await run(['--model', 'openai:m', '--base-url', url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`cannot reach ${url} (ECONNREFUSED)`);
    expect(r.stderr).toMatch(/--no-preflight/);
    expect(r.stderr).not.toMatch(/progress:/);
    expect(r.runs).toEqual([]);
  });

  it('an unknown model says so after one request', async () => {
    const server = await mock({ models: ['mock-vlm'] });
    const r = await run(['--model', 'openai:gpt-4x', '--base-url', server.url]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/--model openai:gpt-4x: model not found at .*does not exist/);
    expect(server.requests).toBe(1);
    expect(r.runs).toEqual([]);
  });

  it('a rejected key names the variable, never the key', async () => {
    const server = await startMockAnthropic({ faults: () => '401' });
    servers.push(server);
    const key = 'sk-ant-test-SECRET-0042';
    const r = await run(['--model', 'anthropic:claude-x', '--base-url', server.url], { ANTHROPIC_API_KEY: key });
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/ANTHROPIC_API_KEY was rejected/);
    expect(r.stderr + r.stdout).not.toContain(key);
    expect(server.requests).toBe(1);
  });

  it('a good setup runs as before, with one extra short request; --no-preflight skips it', async () => {
    const server = await mock({ models: ['mock-vlm'] });
    const ok = await run(['--model', 'openai:mock-vlm', '--base-url', server.url]);
    expect(ok.code, ok.stderr).toBe(0);
    expect(server.requests).toBe(26 + 1);
    expect(ok.runs.map((x) => x.status)).toEqual(['done']);

    const skipped = await run(['--model', 'openai:gpt-4x', '--base-url', server.url, '--no-preflight']);
    // Without the check the run itself is stored and meets the error: the old way.
    expect(skipped.code).toBe(1);
    expect(skipped.runs).toHaveLength(1);
    expect(server.requests).toBeGreaterThan(27);
  });
});
