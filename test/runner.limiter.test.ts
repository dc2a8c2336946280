import { describe, expect, it } from 'vitest';
import { ProviderError } from '../src/core/types.ts';
import { retryDelayMs } from '../src/runner/backoff.ts';
import { AdaptiveLimiter } from '../src/runner/limiter.ts';

describe('AdaptiveLimiter (AIMD)', () => {
  it('admits up to its width and queues the rest in order', async () => {
    const limiter = new AdaptiveLimiter(2);
    await limiter.acquire();
    await limiter.acquire();
    const order: number[] = [];
    const third = limiter.acquire().then(() => order.push(3));
    const fourth = limiter.acquire().then(() => order.push(4));
    await new Promise((r) => setTimeout(r, 5));
    expect(order).toEqual([]);
    limiter.release();
    await third;
    expect(order).toEqual([3]);
    limiter.release();
    await fourth;
    expect(order).toEqual([3, 4]);
  });

  it('halves once per burst (requests sent before a decrease do not count again) and grows back by one per window', async () => {
    const limiter = new AdaptiveLimiter(16);
    const burst = limiter.epoch;
    limiter.onRateLimit(burst);
    expect(limiter.current).toBe(8);
    limiter.onRateLimit(burst); // same burst: ignored
    limiter.onRateLimit(burst);
    expect(limiter.current).toBe(8);
    limiter.onRateLimit(limiter.epoch); // sent after the decrease and still limited
    expect(limiter.current).toBe(4);
    for (let i = 0; i < 4; i++) limiter.onSuccess();
    expect(limiter.current).toBe(5);
    for (let i = 0; i < 200; i++) limiter.onSuccess();
    expect(limiter.current).toBe(16);
  });

  it('a 429 that names its wait does not shrink the width (the request waits in its slot)', async () => {
    const limiter = new AdaptiveLimiter(16);
    for (let i = 0; i < 5; i++) limiter.onRateLimit(limiter.epoch, 1000);
    expect(limiter.current).toBe(16);
    limiter.onRateLimit(limiter.epoch, 0); // "come back at once" says nothing about the rate
    expect(limiter.current).toBe(8);
  });

  it('never goes below one', async () => {
    const limiter = new AdaptiveLimiter(2);
    for (let i = 0; i < 5; i++) limiter.onRateLimit(limiter.epoch);
    expect(limiter.current).toBe(1);
  });
});

describe('giving a slot away while waiting', () => {
  it('frees the slot for another caller, counts the caller as away, and takes a slot again after', async () => {
    const limiter = new AdaptiveLimiter(1);
    await limiter.acquire();
    let release!: () => void;
    const away = limiter.awayWhile(() => new Promise<void>((r) => (release = r)));
    expect([limiter.active, limiter.away]).toEqual([0, 1]);
    await limiter.acquire(); // another sample takes the slot at once
    release();
    await new Promise((r) => setTimeout(r, 5));
    expect(limiter.away).toBe(1); // back from waiting, queued for a slot
    limiter.release();
    await away;
    expect([limiter.active, limiter.away]).toEqual([1, 0]);
  });
});

describe('retry delay', () => {
  const policy = { maxAttempts: 6, baseDelayMs: 100, maxDelayMs: 1000 };
  it('grows exponentially with full jitter: anywhere from 0 to the ceiling', async () => {
    expect(retryDelayMs(new Error('x'), 1, policy, () => 0)).toBe(0);
    expect(retryDelayMs(new Error('x'), 1, policy, () => 0.25)).toBe(25);
    expect(retryDelayMs(new Error('x'), 1, policy, () => 1)).toBe(100);
    expect(retryDelayMs(new Error('x'), 3, policy, () => 0.5)).toBe(200);
    expect(retryDelayMs(new Error('x'), 3, policy, () => 1)).toBe(400);
    expect(retryDelayMs(new Error('x'), 10, policy, () => 1)).toBe(1000);
  });
  it('honours Retry-After, capped', async () => {
    expect(retryDelayMs(new ProviderError('rate_limit', 'slow down', { retryAfterMs: 250 }), 1, policy)).toBe(250);
    expect(retryDelayMs(new ProviderError('rate_limit', 'slow down', { retryAfterMs: 10 ** 9 }), 1, policy)).toBe(1000);
  });
});
