import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/types.ts';
import { writeDemoBenchmark } from '../src/demo/dataset.ts';
import { startMockAnthropic } from '../src/mock/anthropic-server.ts';
import type { MockOptions, MockServer } from '../src/mock/common.ts';
import { startMockOpenAI } from '../src/mock/openai-server.ts';
import { parseGoDuration, parseRateLimitReset, requestedWaitMs, untilTimestamp } from '../src/providers/errors.ts';
import { createProvider } from '../src/providers/registry.ts';
import { withRetry } from '../src/runner/backoff.ts';
import { evaluate } from '../src/runner/evaluate.ts';
import type { RunProgress } from '../src/runner/run.ts';
import { SqliteStore } from '../src/store/sqlite.ts';

/** A 429 waits what the API's own rate-limit headers name, and does not shrink the concurrency. */

const headers = (h: Record<string, string>) => (name: string) => h[name];
const NOW = Date.parse('2026-11-30T13:00:00Z');

describe('rate-limit header parsing', () => {
  it.each([
    ['1s', 1000],
    ['6m0s', 360_000],
    ['20ms', 20],
    ['1h2m3.5s', 3_723_500],
    ['23h47m36.648s', 85_656_648],
    ['1.5s', 1500],
    ['500us', 1],
    ['0s', 0],
    [' 2s ', 2000],
    // Bare seconds, as some OpenAI-compatible servers send.
    ['7', 7000],
    ['0', 0],
  ])('the Go duration %j is %d ms', (text, ms) => expect(parseGoDuration(text)).toBe(ms));

  it.each(['', 'soon', '1x', 's', '-1s', '1s later', '1 s', 'ms', '1.s', 'NaN', 'Infinity'])('the duration %j is ignored', (text) => {
    expect(parseGoDuration(text)).toBeUndefined();
  });

  it('reads RFC 3339 timestamps as the time left until them', () => {
    expect(untilTimestamp('2026-11-30T13:00:02Z', NOW)).toBe(2000);
    expect(untilTimestamp('2026-11-30T13:00:02.250Z', NOW)).toBe(2250);
    expect(untilTimestamp('2026-11-30T14:00:03+01:00', NOW)).toBe(3000);
    expect(untilTimestamp('2026-11-30t13:00:04z', NOW)).toBe(4000);
    expect(untilTimestamp('2026-11-30 13:00:05Z', NOW)).toBe(5000);
    // Already replenished: come back at once.
    expect(untilTimestamp('2026-11-30T12:59:00Z', NOW)).toBe(0);
  });

  it.each(['', '1', 'tomorrow', '2026-11-30', '2026-11-30T13:00:02', 'Mon, 30 Nov 2026 13:00:02 GMT', '2026-13-45T99:99:99Z', '1764507602'])(
    'the timestamp %j is ignored',
    (text) => expect(untilTimestamp(text, NOW)).toBeUndefined(),
  );

  it('OpenAI: waits for the reset of the limit that ran out, not the longer one', () => {
    const openai = { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '1.5s', 'x-ratelimit-remaining-tokens': '149984', 'x-ratelimit-reset-tokens': '6m0s' };
    expect(requestedWaitMs(429, headers(openai), NOW)).toBe(1500);
    const tokensSpent = { ...openai, 'x-ratelimit-remaining-requests': '59', 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '20s' };
    expect(requestedWaitMs(429, headers(tokensSpent), NOW)).toBe(20_000);
    const bothSpent = { ...openai, 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '20s' };
    expect(requestedWaitMs(429, headers(bothSpent), NOW)).toBe(20_000);
  });

  it('on a 429 where no limit reads 0, the longer of the resets; on other errors nothing', () => {
    const unknown = { 'x-ratelimit-reset-requests': '20ms', 'x-ratelimit-reset-tokens': '3s' };
    expect(requestedWaitMs(429, headers(unknown), NOW)).toBe(3000);
    // A large request can need more tokens than remain: the API refuses it with tokens left.
    const notEnough = { ...unknown, 'x-ratelimit-remaining-requests': '4999', 'x-ratelimit-remaining-tokens': '150' };
    expect(requestedWaitMs(429, headers(notEnough), NOW)).toBe(3000);
    expect(requestedWaitMs(500, headers(notEnough), NOW)).toBeUndefined();
    // A limit that ran out still names the wait on an error that is not a 429.
    expect(requestedWaitMs(500, headers({ ...unknown, 'x-ratelimit-remaining-requests': '0' }), NOW)).toBe(20);
    expect(requestedWaitMs(429, headers({}), NOW)).toBeUndefined();
  });

  it('ignores unreadable values', () => {
    const garbled = { 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': 'soon', 'x-ratelimit-remaining-tokens': 'lots', 'x-ratelimit-reset-tokens': '2s' };
    expect(requestedWaitMs(429, headers(garbled), NOW)).toBe(2000);
    expect(requestedWaitMs(500, headers(garbled), NOW)).toBeUndefined();
    expect(requestedWaitMs(429, headers({ 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': 'soon' }), NOW)).toBeUndefined();
    expect(requestedWaitMs(429, headers({ 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': 'in a minute' }), NOW)).toBeUndefined();
    // An empty remaining count is not a spent limit.
    expect(parseRateLimitReset(headers({ 'x-ratelimit-remaining-requests': '', 'x-ratelimit-reset-requests': '2s' }), false, NOW)).toBeUndefined();
  });

  it('Anthropic: the reset of the spent limit among requests, tokens, input and output tokens', () => {
    const anthropic = {
      'anthropic-ratelimit-requests-remaining': '12',
      'anthropic-ratelimit-requests-reset': '2026-11-30T13:00:01Z',
      'anthropic-ratelimit-tokens-remaining': '37000',
      'anthropic-ratelimit-tokens-reset': '2026-11-30T13:01:00Z',
      'anthropic-ratelimit-input-tokens-remaining': '29000',
      'anthropic-ratelimit-input-tokens-reset': '2026-11-30T13:01:00Z',
      'anthropic-ratelimit-output-tokens-remaining': '0',
      'anthropic-ratelimit-output-tokens-reset': '2026-11-30T13:00:07Z',
    };
    expect(requestedWaitMs(429, headers(anthropic), NOW)).toBe(7000);
    expect(requestedWaitMs(429, headers({ ...anthropic, 'anthropic-ratelimit-output-tokens-remaining': '100' }), NOW)).toBe(60_000);
  });

  it('Retry-After wins over the rate-limit headers', () => {
    const both = { 'retry-after': '2', 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': '20s', 'anthropic-ratelimit-requests-remaining': '0', 'anthropic-ratelimit-requests-reset': '2026-11-30T13:00:09Z' };
    expect(requestedWaitMs(429, headers(both), NOW)).toBe(2000);
    expect(requestedWaitMs(429, headers({ ...both, 'retry-after-ms': '250' }), NOW)).toBe(250);
    // An unreadable Retry-After names no wait: the headers do.
    expect(requestedWaitMs(429, headers({ ...both, 'retry-after': 'later' }), NOW)).toBe(20_000);
  });
});

let dir: string;
let data: string;
const servers: MockServer[] = [];
const stores: SqliteStore[] = [];
const SAMPLES = 40;
beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 'mmsafe-ratelimit-'));
  await writeDemoBenchmark(dir);
  const lines = Array.from({ length: SAMPLES }, (_, i) =>
    JSON.stringify({ id: `r${i}`, image: `images/scene-${(i % 16) + 1}.jpg`, prompt: `Pacing check number ${i}: is this picture calm?`, label: i % 2 ? 'safe' : 'unsafe' }),
  );
  data = path.join(dir, 'ratelimit.jsonl');
  writeFileSync(data, lines.join('\n'));
});
afterAll(async () => {
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(stores.map((s) => s.close()));
  rmSync(dir, { recursive: true, force: true });
});

const APIS = [
  ['openai', startMockOpenAI],
  ['anthropic', startMockAnthropic],
] as const;

describe.each(APIS)('%s: a 429 naming its wait in the rate-limit headers', (api, start) => {
  async function mock(opts: MockOptions) {
    const s = await start(opts);
    servers.push(s);
    return s;
  }
  const ask = { messages: [{ role: 'user' as const, content: [{ type: 'text' as const, text: 'hi' }] }] };

  it('becomes the error\'s wait: the spent requests limit\'s reset, not the tokens limit\'s longer one', async () => {
    const server = await mock({ faults: () => '429-reset-headers', rateLimitResetSeconds: 1.5 });
    const err = await createProvider(`${api}:m`, { baseURL: server.url, apiKey: 'x' }).generate(ask).catch((e) => e);
    expect(err).toBeInstanceOf(ProviderError);
    expect(err.kind).toBe('rate_limit');
    // OpenAI names a duration; Anthropic a moment, already a little nearer when it is read.
    if (api === 'openai') expect(err.retryAfterMs).toBe(1500);
    else expect(err.retryAfterMs).toBeGreaterThan(1000), expect(err.retryAfterMs).toBeLessThanOrEqual(1500);
  });

  it('is the back-off the retry engine decides, capped by the policy\'s maximum', async () => {
    let n = 0;
    const server = await mock({ faults: () => (++n === 1 ? '429-reset-headers' : undefined), rateLimitResetSeconds: 0.6 });
    const provider = createProvider(`${api}:m`, { baseURL: server.url, apiKey: 'x' });
    const delays: number[] = [];
    const policy = { maxAttempts: 3, baseDelayMs: 1, maxDelayMs: 30_000 };
    await withRetry(() => provider.generate(ask), policy, { onRetry: (_e, _a, ms) => delays.push(ms) });
    expect(delays).toHaveLength(1);
    if (api === 'openai') expect(delays).toEqual([600]);
    else expect(delays[0]).toBeGreaterThan(300), expect(delays[0]).toBeLessThanOrEqual(600);
    // A reset far off (OpenAI's tokens reset of 6 minutes, say) never stalls longer than the cap.
    n = 0;
    const capped: number[] = [];
    const far = await mock({ faults: () => (++n === 1 ? '429-reset-headers' : undefined), rateLimitResetSeconds: 360 });
    const p2 = createProvider(`${api}:m`, { baseURL: far.url, apiKey: 'x' });
    await withRetry(() => p2.generate(ask), { ...policy, maxDelayMs: 50 }, { onRetry: (_e, _a, ms) => capped.push(ms) });
    expect(capped).toEqual([50]);
  });

  it('in a run: the limited samples are asked again no sooner than the reset, and the concurrency is not halved', async () => {
    const arrivals = new Map<string, number[]>();
    const limited = (text: string) => Number(/number (\d+):/.exec(text)?.[1]) % 5 === 0;
    const server = await mock({
      rateLimitResetSeconds: 0.4,
      faults: (req) => {
        const seen = arrivals.get(req.lastUserText) ?? [];
        seen.push(Date.now());
        arrivals.set(req.lastUserText, seen);
        return seen.length === 1 && limited(req.lastUserText) ? '429-reset-headers' : undefined;
      },
    });
    const widths: number[] = [];
    const s = new SqliteStore(path.join(dir, `${api}.db`));
    stores.push(s);
    const r = await evaluate(
      { benchmark: 'custom', data, model: `${api}:m`, baseURL: server.url, concurrency: 8, maxAttempts: 4, retryBaseMs: 1 },
      { store: s, runId: `rl-${api}`, apiKey: 'x', onProgress: (p: RunProgress) => widths.push(p.concurrency) },
    );
    const waited = [...arrivals].filter(([text]) => limited(text)).map(([, times]) => times[1]! - times[0]!);
    expect(waited).toHaveLength(SAMPLES / 5);
    // The engine's own back-off here would be about 1 ms: only the header explains a wait this long.
    for (const ms of waited) expect(ms).toBeGreaterThanOrEqual(300);
    expect(r.progress.rateLimits).toBe(SAMPLES / 5);
    expect(Math.min(...widths)).toBe(8);
    expect((await s.results(`rl-${api}`)).filter((x) => x.status !== 'ok')).toEqual([]);
  });
});
