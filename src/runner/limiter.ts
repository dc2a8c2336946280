/**
 * A concurrency gate whose width adapts (AIMD, as TCP does): halve on a rate limit, grow by one
 * after a window of successes, never above the user's --concurrency. Sustained 429s thus shrink the
 * load on the API instead of burning retries, and the width recovers once the API does.
 */
export class AdaptiveLimiter {
  private inFlight = 0;
  private width: number;
  private successes = 0;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  private readonly waiters: (() => void)[] = [];

  constructor(
    readonly max: number,
    private readonly now: () => number = Date.now,
  ) {
    this.width = max;
  }

  get current(): number {
    return this.width;
  }

  get active(): number {
    return this.inFlight;
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

  onSuccess(): void {
    if (this.width >= this.max) return;
    if (++this.successes >= this.width) {
      this.successes = 0;
      this.width++;
      this.drain();
    }
  }

  onRateLimit(): void {
    // One halving per second at most: a burst of 429s from one overload is one signal, not many.
    const t = this.now();
    if (t - this.lastDecrease < 1000) return;
    this.lastDecrease = t;
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
