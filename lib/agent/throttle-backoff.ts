/**
 * Throttling is back pressure, not failure: S3 answers `SlowDown` / 503 and DynamoDB
 * `ProvisionedThroughputExceededException` / `ThrottlingException` when a prefix or partition is
 * hot. The SDK clients already retry those adaptively; when a chunk still hits one, the worker
 * keeps its lease, waits with full jitter and tries again, and the agent lowers its concurrency
 * (additive increase, multiplicative decrease) instead of failing the chunk.
 */
import { isThrottle } from '../aws/throttling';

/** Full-jitter exponential backoff: a random wait in [0, min(cap, base * 2^attempt)). */
export function jitteredBackoffMs(attempt: number, baseMs = 500, capMs = 10_000, random = Math.random): number {
  return Math.floor(random() * Math.min(capMs, baseMs * 2 ** attempt));
}

/**
 * Runs `work`, retrying it after a jittered wait while it fails with throttling, at most
 * `maxRetries` times; any other error, or throttling beyond that, is thrown.
 */
export async function withThrottleRetries<T>(
  work: () => Promise<T>,
  opts: { maxRetries?: number; onThrottle?: (err: unknown, attempt: number) => void; sleep?: (ms: number) => Promise<void> } = {},
): Promise<T> {
  const sleep = opts.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  for (let attempt = 0; ; attempt++) {
    try {
      return await work();
    } catch (err) {
      if (!isThrottle(err) || attempt >= (opts.maxRetries ?? 5)) throw err;
      opts.onThrottle?.(err, attempt);
      await sleep(jitteredBackoffMs(attempt));
    }
  }
}

/**
 * AIMD concurrency: halves on throttling (not below 1, at most once per `coolDownMs`), grows by one
 * after `successesToGrow` chunks without throttling, up to the configured concurrency.
 */
export class AdaptiveConcurrency {
  private limit = Infinity;
  private successes = 0;
  private lastCut = -Infinity;

  constructor(private readonly opts: { successesToGrow?: number; coolDownMs?: number; now?: () => number } = {}) {}

  /** The concurrency to run at, given what the config allows. */
  current(configured: number): number {
    return Math.max(1, Math.min(configured, this.limit));
  }

  throttled(configured: number): number {
    const now = (this.opts.now ?? Date.now)();
    if (now - this.lastCut >= (this.opts.coolDownMs ?? 2000)) {
      this.limit = Math.max(1, Math.floor(this.current(configured) / 2));
      this.lastCut = now;
    }
    this.successes = 0;
    return this.current(configured);
  }

  succeeded(configured: number): number {
    if (this.limit !== Infinity && ++this.successes >= (this.opts.successesToGrow ?? 10)) {
      this.successes = 0;
      this.limit = this.limit + 1 >= configured ? Infinity : this.limit + 1;
    }
    return this.current(configured);
  }
}
