/**
 * A concurrency gate whose width adapts (AIMD, as TCP does): halve on a rate limit, grow by one
 * after a window of successes, never above the user's --concurrency. Sustained 429s thus shrink the
 * load on the API instead of burning retries, and the width recovers once the API does.
 *
 * As in TCP, one burst is one signal: a 429 answering a request sent before the last decrease says
 * nothing new, so only requests sent at the current width (the current `epoch`) can halve it.
 */
export class AdaptiveLimiter {
  private inFlight = 0;
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

  onRateLimit(sentInEpoch: number = this.epochValue): void {
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
