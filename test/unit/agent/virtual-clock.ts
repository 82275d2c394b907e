import type { Cancel, Clock } from '../../../lib/agent/clock';

interface Timer {
  at: number;
  seq: number;
  fn: () => void;
  /** Set for `every` timers: the period they repeat at. */
  period?: number;
}

/** Lets every pending promise callback run (a macrotask runs only once the microtask queue is empty). */
export const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/**
 * A clock whose time moves only when a test says so. `advance(ms)` runs every timer that falls due,
 * in time order (ties in the order they were set), letting the promises each one starts settle
 * before the next one fires; nothing real ever sleeps.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private timers: Timer[] = [];

  constructor(start = 0) {
    this.t = start;
  }

  now = (): number => this.t;

  sleep = (ms: number): Promise<void> => new Promise((resolve) => void this.add({ at: this.t + ms, fn: resolve }));

  every = (ms: number, fn: () => void): Cancel => {
    const timer = this.add({ at: this.t + ms, fn, period: ms });
    return () => (this.timers = this.timers.filter((t) => t !== timer));
  };

  /** Timers still set (sleeps and repeating timers). */
  get pending(): number {
    return this.timers.length;
  }

  /** Moves time forward by `ms`, firing what falls due on the way. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    await settle();
    for (;;) {
      const next = this.timers.filter((t) => t.at <= end).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
      if (!next) break;
      this.t = next.at;
      if (next.period === undefined) this.timers = this.timers.filter((t) => t !== next);
      else Object.assign(next, { at: next.at + next.period, seq: this.seq++ });
      next.fn();
      await settle();
    }
    this.t = end;
    await settle();
  }

  private add(timer: Omit<Timer, 'seq'>): Timer {
    const full = { ...timer, seq: this.seq++ };
    this.timers.push(full);
    return full;
  }
}
