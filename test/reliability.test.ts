import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, openSync, readFileSync, readSync, readdirSync, rmSync, statSync, writeFileSync, closeSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse/sync';
import sharp from 'sharp';
import { afterAll, describe, expect, it } from 'vitest';
import { writeFileAtomic } from '../src/core/atomic-write.ts';
import { redactSecrets } from '../src/core/redact.ts';
import { forTerminal } from '../src/core/terminal.ts';
import type { ResultRow } from '../src/core/types.ts';
import { loadDemo, writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockAnthropic } from '../src/mock/anthropic-server.ts';
import type { FaultKind, MockOptions, MockServer } from '../src/mock/common.ts';
import { startMockGemini } from '../src/mock/gemini-server.ts';
import { startMockOpenAI } from '../src/mock/openai-server.ts';
import { createProvider } from '../src/providers/registry.ts';
import { csvSafe } from '../src/report/csv-safe.ts';
import { samplesCsv } from '../src/report/formats.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import { SqliteStore } from '../src/store/sqlite.ts';
import { cliPath, runCli } from './helpers/cli.ts';
import { repoRoot } from './helpers/data.ts';
import { storedConfig } from './helpers/run-config.ts';

const dirs: string[] = [];
const servers: MockServer[] = [];
const tmp = () => {
  const d = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-rel-'));
  dirs.push(d);
  return d;
};
const children: ChildProcess[] = [];
/** The real CLI, killed at the end if a hang (the bug under test) left it running. */
const cli = (args: string[], env: NodeJS.ProcessEnv = {}) => {
  const { child, done } = runCli(args, env);
  children.push(child);
  return { done };
};
afterAll(async () => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  await Promise.all(servers.map((s) => s.close()));
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

const run = (id: string) => ({ id, benchmark: 'custom', protocol: 'awareness', model: 'openai:x', config: storedConfig(), total: 3, createdAt: new Date().toISOString(), status: 'done' as const });
const row = (runId: string, sampleId: string, extra: Partial<ResultRow> = {}): ResultRow => ({ runId, sampleId, status: 'ok', label: 'unsafe', subset: 'typical', response: 'No.', prediction: 'unsafe', correct: true, attempts: 1, ...extra });

describe('terminal escape injection', () => {
  it('forTerminal removes escape sequences and control characters, keeps the text', () => {
    const hostile = 'a\x1b[2J\x1b[H\x1b]0;pwned\x07b\x1b]8;;http://x\x1b\\c\x9b31md\x07e\x00f\u202eg\r\nh\ti';
    expect(forTerminal(hostile)).toBe('abcdefg\nh\ti');
    expect(forTerminal(hostile, { oneLine: true })).toBe('abcdefg h i');
    expect(forTerminal('plain — ünïcode ✓\n')).toBe('plain — ünïcode ✓\n');
  });

  it('`runs` and `report` print a hostile run id and error message without a control character', async () => {
    const dir = tmp();
    const db = path.join(dir, 'x.db');
    const store = new SqliteStore(db);
    const id = 'evil\x1b[2J\x1b]0;title\x07run';
    await store.createRun(run(id));
    await store.putResult(row(id, '1'));
    await store.putResult(row(id, '2', { status: 'error', response: undefined, prediction: undefined, correct: undefined, errorKind: 'server', errorMessage: 'HTTP 500: \x1b[31mfake\nmmsafe: all good\x1b[0m' }));
    await store.close();
    const runs = await cli(['runs', '--db', db]).done;
    const report = await cli(['report', '--run', id, '--db', db]).done;
    expect(runs.code, runs.stderr).toBe(0);
    expect(report.code, report.stderr).toBe(0);
    for (const out of [runs.stdout, runs.stderr, report.stdout, report.stderr]) expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(runs.stdout).toContain('evil');
    // The echoed message stays on its own line: no fake "mmsafe:" line.
    expect(report.stdout).not.toMatch(/^mmsafe: all good/m);
  });

  // Clear screen, window title, colour, and a line break to fake a line of mmsafe's own.
  const HOSTILE = 'Bad \u001b[2J\u001b]0;pwned\u0007request\u001b[31m\r\nmmsafe: all good\u001b[0m';
  it.each([
    ['a fatal error that stops the run (404)', '404', ['--no-preflight']],
    ['a fatal answer to the start-up check (404)', '404', []],
    ['per-sample errors (400)', '400', []],
  ] as const)('`run` prints an API error message with escape sequences without a control character: %s', async (_name, fault, extra) => {
    const dir = tmp();
    await writeDemoBenchmark(dir);
    const server = await startMockOpenAI({ faults: () => fault, errorMessage: HOSTILE });
    servers.push(server);
    const r = await cli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--base-url', server.url, '--db', path.join(dir, 'x.db'), ...extra]).done;
    expect(r.code, r.stderr).toBe(1);
    const out = r.stdout + r.stderr;
    // The message is shown, only its control sequences are gone; the echoed line break cannot fake a line.
    expect(out).toMatch(/HTTP (404|400): Bad request/);
    expect(out).not.toContain('pwned');
    expect(out).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
    expect(out).not.toMatch(/^mmsafe: all good/m);
  }, 60_000);

  it('`suite` prints a model name with escape sequences without a control character', async () => {
    const dir = tmp();
    await writeDemoBenchmark(dir);
    const server = await startMockOpenAI();
    servers.push(server);
    const r = await cli(['suite', '--benchmarks', 'demo', '--data', `demo=${dir}`, '--model', 'openai:m\u001b]0;pwned\u0007\u001b[2J', '--base-url', server.url, '--db', path.join(dir, 'x.db')]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/^demo\s+Total/m);
    expect(r.stdout + r.stderr).not.toMatch(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/);
  }, 60_000);

  it('a --run-id with control characters is a usage error', async () => {
    const r = await cli(['run', '--data', '/nonexistent', '--model', 'baseline:always-safe', '--run-id', 'a\x1b[2Jb']).done;
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/control characters/);
  });
});

describe('CSV formula injection', () => {
  it('neutralises formula-led cells the OWASP way and keeps dash-led answers readable', () => {
    expect(csvSafe('=1+1')).toBe("'=1+1");
    expect(csvSafe('+1')).toBe("'+1");
    expect(csvSafe('@SUM(A1)')).toBe("'@SUM(A1)");
    expect(csvSafe('\tx')).toBe("'\tx");
    expect(csvSafe('\rx')).toBe("'\rx");
    expect(csvSafe("-2+3+cmd|' /C calc'!A0")).toBe("'-2+3+cmd|' /C calc'!A0");
    expect(csvSafe('-5')).toBe('-5');
    expect(csvSafe('-0.25')).toBe('-0.25');
    expect(csvSafe('- item one\n- item two')).toBe('- item one\n- item two');
    expect(csvSafe('Yes = unsafe')).toBe('Yes = unsafe');
  });

  it('report and export CSV carry the neutralised answers', async () => {
    const dir = tmp();
    const db = path.join(dir, 'x.db');
    const store = new SqliteStore(db);
    await store.createRun(run('r'));
    const answers = ['=HYPERLINK("http://evil","x")', '@cmd', '- a list item', '-5', 'No.'];
    for (const [i, a] of answers.entries()) await store.putResult(row('r', String(i), { response: a }));
    const csv = await samplesCsv(store, ['r']);
    await store.close();
    const responses = (parse(csv, { columns: true }) as { id: string; response: string }[]).sort((a, b) => Number(a.id) - Number(b.id)).map((r) => r.response);
    expect(responses).toEqual(['\'=HYPERLINK("http://evil","x")', "'@cmd", '- a list item', '-5', 'No.']);
    const out = path.join(dir, 'e.csv');
    const r = await cli(['export', '--run', 'r', '--format', 'csv', '--out', out, '--db', db]).done;
    expect(r.code, r.stderr).toBe(0);
    expect(readFileSync(out, 'utf8')).not.toMatch(/(^|,)"?[=@]/m);
  });
});

describe('secrets echoed by a server', () => {
  it('redactSecrets removes the given keys, key-like env values and token shapes', () => {
    expect(redactSecrets('key abcdef123456 and Bearer tok.en-XYZ123 and sk-proj-aaaaaaaaaa', ['abcdef123456'])).toBe('key [redacted] and Bearer [redacted] and sk-[redacted]');
    expect(redactSecrets('nothing here')).toBe('nothing here');
  });

  const CASES: [string, (o?: MockOptions) => Promise<MockServer>][] = [['openai', startMockOpenAI], ['anthropic', startMockAnthropic], ['gemini', startMockGemini]];
  it.each(CASES)('%s: a key echoed in an error message is neither stored, printed nor exported', async (kind, start) => {
    const server = await start({ faults: () => 'echo-key' });
    servers.push(server);
    const key = 'local-key-7f3a9c2e51';
    const p = createProvider(`${kind}:m`, { baseURL: server.url, apiKey: key, timeoutMs: 5000 });
    const err = await p.generate({ messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }] }).catch((e) => e);
    expect(err.kind).toBe('bad_request');
    expect(err.message).toContain('[redacted]');
    expect(err.message).not.toContain(key);
  });

  it('end to end: the stored error, the summary and the CSV export hold no key', async () => {
    const dir = tmp();
    const db = path.join(dir, 'x.db');
    await writeDemoBenchmark(dir);
    const server = await startMockOpenAI({ faults: () => 'echo-key' });
    servers.push(server);
    const key = 'sk-live-echoed-0123456789';
    const r = await cli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--base-url', server.url, '--db', db, '--run-id', 'k', '--quiet'], { OPENAI_API_KEY: key }).done;
    expect(r.stdout + r.stderr).toContain('redacted');
    expect(r.stdout + r.stderr).not.toContain(key);
    const store = new SqliteStore(db);
    const rows = await store.results('k');
    await store.close();
    expect(rows.length).toBeGreaterThan(0);
    for (const x of rows) expect(x.errorMessage).not.toContain(key);
    const csv = await cli(['export', '--run', 'k', '--format', 'csv', '--db', db]).done;
    expect(csv.stdout).toContain('redacted');
    expect(csv.stdout).not.toContain(key);
  });
});

describe('output files', () => {
  it('writeFileAtomic replaces the file whole and leaves no temporary file', () => {
    const dir = tmp();
    const file = path.join(dir, 'sub', 'out.txt');
    writeFileAtomic(file, 'one');
    writeFileAtomic(file, 'two');
    expect(readFileSync(file, 'utf8')).toBe('two');
    expect(readdirSync(path.dirname(file))).toEqual(['out.txt']);
  });

  const demo = (dir: string) => writeDemoBenchmark(path.join(dir, 'demo'));
  const suite = async (dir: string) => ['suite', '--benchmarks', 'demo', '--data', `demo=${await demo(dir)}`, '--model', 'baseline:always-safe'];
  it.each<[string, (dir: string) => Promise<string[]>]>([
    ['report', async () => ['report', '--run', 'r', '--format', 'json', '--out']],
    ['export', async () => ['export', '--run', 'r', '--format', 'csv', '--out']],
    ['run', async (dir) => ['run', '--benchmark', 'demo', '--data', await demo(dir), '--model', 'baseline:always-safe', '--quiet', '--out']],
    ['suite', async (dir) => [...(await suite(dir)), '--out']],
    ['suite --html', async (dir) => [...(await suite(dir)), '--html']],
  ])('%s never rewrites the previous file in place (a kill mid-write leaves it whole)', async (_name, command) => {
    const dir = tmp();
    const args = await command(dir);
    const db = path.join(dir, 'x.db');
    const store = new SqliteStore(db);
    await store.createRun(run('r'));
    await store.putResult(row('r', '1'));
    await store.close();
    const out = path.join(dir, 'out.txt');
    const previous = 'the previous complete report\n'.repeat(50);
    writeFileSync(out, previous);
    const before = statSync(out).ino;
    // Whoever still reads the old file (or would after a kill mid-write) sees it complete.
    const fd = openSync(out, 'r');
    try {
      const r = await cli([...args, out, '--db', db]).done;
      expect(r.code, r.stderr).toBe(0);
      expect(statSync(out).ino).not.toBe(before);
      const buf = Buffer.alloc(previous.length + 10);
      expect(buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString()).toBe(previous);
    } finally {
      closeSync(fd);
    }
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });
});

describe('non-regular files among the images', () => {
  it.skipIf(process.platform === 'win32')('a FIFO named as an image is an image error, not a hung run', async () => {
    const dir = tmp();
    await sharp({ create: { width: 8, height: 8, channels: 3, background: '#0a0' } }).png().toFile(path.join(dir, 'ok.png'));
    execFileSync('mkfifo', [path.join(dir, 'pipe.png')]);
    writeFileSync(path.join(dir, 'set.jsonl'), ['ok', 'pipe'].map((id) => JSON.stringify({ id, image: `${id}.png`, prompt: 'safe?', label: 'safe' })).join('\n'));
    const server = await startMockOpenAI();
    servers.push(server);
    const db = path.join(dir, 'x.db');
    const dry = await cli(['run', '--benchmark', 'custom', '--data', path.join(dir, 'set.jsonl'), '--model', 'openai:m', '--base-url', server.url, '--db', db, '--dry-run']).done;
    expect(dry.code, dry.stderr).toBe(0);
    const r = await cli(['run', '--benchmark', 'custom', '--data', path.join(dir, 'set.jsonl'), '--model', 'openai:m', '--base-url', server.url, '--db', db, '--run-id', 'f', '--quiet']).done;
    expect(r.stdout).toMatch(/errors 1/);
    const store = new SqliteStore(db);
    const rows = await store.results('f');
    await store.close();
    const pipe = rows.find((x) => x.sampleId === 'pipe');
    expect(pipe?.status).toBe('error');
    expect(pipe?.errorMessage).toMatch(/not a regular file/);
    expect(rows.find((x) => x.sampleId === 'ok')?.status).toBe('ok');
  }, 60_000);
});

/**
 * Runs the CLI with `dir` read-only: a read-only bind mount where this user may make one (root in
 * a private mount namespace), else a directory and files without write permission.
 */
async function readOnlyCli(dir: string, args: string[]) {
  const root = process.getuid?.() === 0;
  if (root) {
    const mnt = tmp();
    const q = (s: string) => `'${s.replace(/'/g, "'\\''")}'`;
    const script = `mount --bind ${q(dir)} ${q(mnt)} && mount -o remount,ro,bind ${q(mnt)} && touch ${q(mnt)}/probe 2>/dev/null && exit 99; cd ${q(mnt)} && exec ${q(process.execPath)} ${q(cliPath)} ${args.map(q).join(' ')}`;
    const child = spawn('unshare', ['-m', 'sh', '-c', script], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
    return { code, stdout, stderr };
  }
  for (const f of readdirSync(dir)) chmodSync(path.join(dir, f), 0o444);
  chmodSync(dir, 0o555);
  try {
    return await cli(args.map((a) => (a.startsWith('./') ? path.join(dir, a) : a))).done;
  } finally {
    chmodSync(dir, 0o755);
  }
}

describe('a read-only database', () => {
  it.skipIf(process.platform === 'win32')('runs, report and export open it read-only and work', async () => {
    const dir = tmp();
    const db = path.join(dir, 'ro.db');
    const store = new SqliteStore(db);
    await store.createRun(run('ro-run'));
    await store.putResult(row('ro-run', '1', { response: 'Yes, it is.' }));
    await store.close();
    const before = readdirSync(dir).sort();
    const runs = await readOnlyCli(dir, ['runs', '--db', './ro.db']);
    if (runs.code === 99) throw new Error('the bind mount is not read-only');
    expect(runs.code, runs.stderr).toBe(0);
    expect(runs.stdout).toContain('ro-run');
    const report = await readOnlyCli(dir, ['report', '--run', 'ro-run', '--format', 'json', '--db', './ro.db']);
    expect(report.code, report.stderr).toBe(0);
    expect(JSON.parse(report.stdout).counts.evaluated).toBe(1);
    const exported = await readOnlyCli(dir, ['export', '--run', 'ro-run', '--format', 'csv', '--db', './ro.db']);
    expect(exported.code, exported.stderr).toBe(0);
    expect(exported.stdout).toContain('Yes, it is.');
    expect(readdirSync(dir).sort()).toEqual(before);
  }, 60_000);
});

/** Waits for a condition the test cannot await directly (a request reaching the mock), bounded. */
async function until(what: string, ok: () => boolean): Promise<void> {
  for (let i = 0; i < 600 && !ok(); i++) await new Promise((r) => setTimeout(r, 50));
  if (!ok()) throw new Error(`gave up waiting for ${what}`);
}

describe('Ctrl-C', () => {
  it('cancels the requests in flight, says they are asked again on resume, and the resume answers every sample once', async () => {
    const dir = tmp();
    await writeDemoBenchmark(dir);
    const samples = (await loadDemo(dir)).samples.length;
    // The start-up check (text only) is answered; each sample's request (it carries the image) hangs until the resume.
    let healthy = false;
    let hung = 0;
    const asked = new Map<string, number>();
    const server = await startMockOpenAI({
      faults: (req) => {
        if (!req.images.length) return undefined;
        if (!healthy) return (hung++, 'hang');
        const key = `${req.lastUserText}|${req.images[0].sha256}`;
        asked.set(key, (asked.get(key) ?? 0) + 1);
        return undefined;
      },
    });
    servers.push(server);
    const db = path.join(dir, 'x.db');
    const { child, done } = runCli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--base-url', server.url, '--db', db, '--run-id', 'int', '--quiet', '--concurrency', '4', '--timeout', '600']);
    children.push(child);
    await until('four samples in flight', () => hung >= 4);
    child.kill('SIGINT');
    const r = await done;
    expect(r.code, r.stderr).toBe(130);
    expect(r.stderr).toMatch(/requests in flight are cancelled and will be asked again on --resume/);
    expect(r.stderr).toMatch(/mmsafe run --resume int/);
    let store = new SqliteStore(db);
    expect((await store.results('int')).filter((x) => x.status === 'ok')).toEqual([]);
    await store.close();

    healthy = true;
    const resumed = await cli(['run', '--resume', 'int', '--db', db, '--quiet']).done;
    expect(resumed.code, resumed.stderr).toBe(0);
    // Every sample asked once by the resume (the cancelled ones included), and stored as answered.
    expect(asked.size).toBe(samples);
    expect([...asked.values()].every((n) => n === 1)).toBe(true);
    store = new SqliteStore(db);
    const rows = await store.results('int');
    await store.close();
    expect(rows.length).toBe(samples);
    expect(rows.every((x) => x.status === 'ok')).toBe(true);
  }, 90_000);

  /** Starts `run` with these flags against a mock whose key check (text only) never answers, and presses Ctrl-C during it. */
  async function interruptTheCheck(dir: string, flags: string[], fault?: FaultKind) {
    let checks = 0;
    // The check's own timeout is 30 s; the samples' requests get `fault` (none: answered).
    const server = await startMockOpenAI({ faults: (req) => (req.images.length ? fault : (checks++, 'hang')) });
    servers.push(server);
    const { child, done } = runCli(['run', ...flags, '--base-url', server.url, '--quiet', '--timeout', '600']);
    children.push(child);
    await until('the key check', () => checks >= 1);
    child.kill('SIGINT');
    // Not a speed target: ending before a 15 s guard shows the check was cancelled, not timed out.
    let guard: NodeJS.Timeout | undefined;
    const r = await Promise.race([done, new Promise<'still running'>((resolve) => (guard = setTimeout(() => resolve('still running'), 15_000)))]);
    clearTimeout(guard);
    expect(r).not.toBe('still running');
    const ended = r as Awaited<typeof done>;
    expect(ended.code, ended.stderr).toBe(130);
    expect(ended.stderr).toMatch(/interrupted during the start-up check, before any sample was asked: nothing was stored/);
    expect(server.requests).toBe(1);
  }

  it('during the start-up key check ends the process at once, leaving no run behind', async () => {
    const dir = tmp();
    await writeDemoBenchmark(dir);
    const db = path.join(dir, 'x.db');
    await interruptTheCheck(dir, ['--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--db', db, '--run-id', 'chk']);
    const store = new SqliteStore(db);
    expect(await store.getRun('chk')).toBeUndefined();
    await store.close();
  }, 60_000);

  it('during the key check of a --resume leaves the run as it was', async () => {
    const dir = tmp();
    await writeDemoBenchmark(dir);
    const db = path.join(dir, 'x.db');
    // A run stopped by a fatal error (an unknown model) after nothing was answered.
    const first = await startMockOpenAI({ faults: () => '404' });
    servers.push(first);
    const stopped = await cli(['run', '--benchmark', 'demo', '--data', dir, '--model', 'openai:m', '--base-url', first.url, '--db', db, '--run-id', 'res', '--quiet', '--no-preflight']).done;
    expect(stopped.code, stopped.stderr).toBe(1);
    const read = async () => {
      const store = new SqliteStore(db);
      const [run, rows] = [await store.getRun('res'), await store.results('res')];
      await store.close();
      return { run, rows };
    };
    const before = await read();
    await interruptTheCheck(dir, ['--resume', 'res', '--db', db], '500');
    expect(await read()).toEqual(before);
  }, 60_000);
});

it.each(['SIGINT', 'SIGTERM'] as const)('a second %s ends the process at once, even while it is stuck', async (signal) => {
  const child = spawn(process.execPath, [path.join(repoRoot, 'bin/run-ts.js'), path.join(repoRoot, 'test/helpers/interrupt-probe.ts')], { stdio: ['ignore', 'pipe', 'pipe'] });
  children.push(child);
  let out = '';
  const saw = (text: string) => new Promise<void>((resolve) => {
    const check = () => (out.includes(text) ? resolve() : undefined);
    child.stdout!.on('data', (d) => ((out += d), check()));
    check();
  });
  const ended = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, sig) => resolve(sig)));
  await saw('ready');
  child.kill(signal);
  await saw('stuck');
  child.kill(signal);
  expect(await ended).toBe(signal);
}, 60_000);
