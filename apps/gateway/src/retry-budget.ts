// A retry budget (token bucket): every call deposits `ratio` tokens, a retry
// spends one, and a small floor refills over time so a quiet gateway can still
// retry. When the feed is down, retries stay a fixed fraction of traffic
// instead of multiplying it by the attempt count.
export class RetryBudget {
  private tokens: number;
  private lastRefill: number;

  constructor(
    private readonly ratio: number,
    private readonly minPerSecond: number,
    private readonly capacity = Math.max(10, minPerSecond * 10),
    private readonly now: () => number = Date.now,
  ) {
    this.tokens = capacity;
    this.lastRefill = now();
  }

  /** Called once per original (non-retry) call. */
  deposit(): void {
    this.refill();
    this.tokens = Math.min(this.capacity, this.tokens + this.ratio);
  }

  /** True (and a token is spent) when a retry may go ahead. */
  tryWithdraw(): boolean {
    this.refill();
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private refill(): void {
    const at = this.now();
    const elapsedSeconds = (at - this.lastRefill) / 1000;
    this.lastRefill = at;
    this.tokens = Math.min(this.capacity, this.tokens + elapsedSeconds * this.minPerSecond);
  }
}
