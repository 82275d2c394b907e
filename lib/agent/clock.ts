/** Stops a repeating timer. */
export type Cancel = () => void;

/**
 * Where the agent's parts get time from: the wall clock and its timers in production, a virtual
 * clock in unit tests, so that every timing rule (heartbeat, lease renewal, backoff) is tested
 * without sleeping.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Resolves after `ms`; never keeps the process alive by itself. */
  sleep(ms: number): Promise<void>;
  /**
   * Calls `fn` every `ms` until cancelled. The timer keeps the process alive (the agent idles on
   * its timers while paused) unless `unref` is set.
   */
  every(ms: number, fn: () => void, opts?: { unref?: boolean }): Cancel;
}

/** The wall clock over Node's timers. */
export const realClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms).unref()),
  every: (ms, fn, opts) => {
    const timer = setInterval(fn, ms);
    if (opts?.unref) timer.unref();
    return () => clearInterval(timer);
  },
};
