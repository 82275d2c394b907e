/** What the throttle needs of a clock (the agent's `Clock` fits). */
export interface SleepClock {
  now(): number;
  sleep(ms: number): Promise<void>;
}

/**
 * A token bucket over bytes: `take(n)` resolves when `n` more bytes fit under `bytesPerSecond`
 * (with up to one second's worth of burst). Shared by every checkpoint upload of a host, so that
 * checkpoints never take more of the network than the operator allows while shards are pulled.
 */
export class ByteThrottle {
  private tokens: number;
  private last: number;
  private queue: Promise<void> = Promise.resolve();

  constructor(
    private readonly bytesPerSecond: number,
    private readonly clock: SleepClock,
  ) {
    if (!(bytesPerSecond > 0)) throw new Error(`bytesPerSecond must be positive, not ${bytesPerSecond}`);
    this.tokens = bytesPerSecond;
    this.last = clock.now();
  }

  /** Waits (in arrival order) until `n` bytes may be sent. */
  take(n: number): Promise<void> {
    const turn = this.queue.then(() => this.wait(n));
    this.queue = turn;
    return turn;
  }

  private async wait(n: number): Promise<void> {
    this.refill();
    this.tokens -= n;
    if (this.tokens < 0) {
      await this.clock.sleep(Math.ceil((-this.tokens / this.bytesPerSecond) * 1000));
      this.refill();
    }
  }

  private refill(): void {
    const now = this.clock.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) / 1000) * this.bytesPerSecond);
    this.last = now;
  }
}
