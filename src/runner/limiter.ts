/**
 * A concurrency gate whose width adapts to rate limits only (AIMD, as TCP does): a 429 that says
 * nothing about when to come back halves the width, a window of successes grows it by one, never
 * above the user's --concurrency. A 429 that names its wait (Retry-After, a rate-limit reset) does
 * not shrink the width: that request waits what the server asked, in its slot, which slows the
 * sender by exactly that. Server errors and resets never change the width: they are retried, and
 * while a sample waits to retry one on a server that answers others, its slot goes to another
 * sample (`awayWhile`).
 *
 * As in TCP, one burst is one signal: a 429 answering a request sent before the last decrease says
 * nothing new, so only requests sent at the current width (the current `epoch`) can halve it.
 */
export class AdaptiveLimiter {
  private inFlight = 0;
  private awayCount = 0;
  private width: number;
  private successes = 0;
  private epochValue = 0;
  private readonly waiters: (() => void)[] = [];

  constructor(readonly max: number) {
    this.width = max;
  }

  /** Tag a request with this when it is sent; pass it back to onRateLimit. */
  get epoch(): number {
    return this.epochValue;
  }

  get current(): number {
    return this.width;
  }

  get active(): number {
    return this.inFlight;
  }

  /** Callers that gave their slot up for a while (`awayWhile`) and will take one again. */
  get away(): number {
    return this.awayCount;
  }

  async acquire(): Promise<void> {
    if (this.inFlight < this.width) {
      this.inFlight++;
      return;
    }
    await new Promise<void>((resolve) => this.waiters.push(resolve));
  }

  release(): void {
    this.inFlight--;
    this.drain();
  }

  /**
   * Gives the caller's slot up while `wait` runs and takes one again after (waiting its turn): a
   * sample backing off from a server error must not hold back the samples the server would answer.
   */
  async awayWhile<T>(wait: () => Promise<T>): Promise<T> {
    this.awayCount++;
    this.release();
    try {
      return await wait();
    } finally {
      await this.acquire();
      this.awayCount--;
    }
  }

  onSuccess(): void {
    if (this.width >= this.max) return;
    if (++this.successes >= this.width) {
      this.successes = 0;
      this.width++;
      this.drain();
    }
  }

  /** A 429 on a request sent in `sentInEpoch`; `retryAfterMs` is the wait the server asked for, if any. */
  onRateLimit(sentInEpoch: number = this.epochValue, retryAfterMs?: number): void {
    if (retryAfterMs !== undefined && retryAfterMs > 0) return;
    if (sentInEpoch < this.epochValue) return;
    this.epochValue++;
    this.successes = 0;
    this.width = Math.max(1, Math.floor(this.width / 2));
  }

  private drain(): void {
    while (this.inFlight < this.width && this.waiters.length > 0) {
      this.inFlight++;
      this.waiters.shift()!();
    }
  }
}
