/**
 * The simulator's agenda: events ordered by virtual time, then by the order they were scheduled
 * (so that equal times never depend on heap layout and a run is deterministic). A binary heap of
 * small records: a few million events cost a few seconds.
 */
interface Entry {
  t: number;
  seq: number;
  fn: () => void;
}

const before = (a: Entry, b: Entry): boolean => a.t < b.t || (a.t === b.t && a.seq < b.seq);

export class EventQueue {
  private heap: Entry[] = [];
  private seq = 0;
  private clock = 0;

  /** The current virtual time (milliseconds since the simulation started). */
  get now(): number {
    return this.clock;
  }

  get size(): number {
    return this.heap.length;
  }

  /** Runs `fn` at virtual time `at` (never before now). */
  at(at: number, fn: () => void): void {
    const heap = this.heap;
    const entry: Entry = { t: at > this.clock ? at : this.clock, seq: this.seq++, fn };
    let i = heap.length;
    heap.push(entry);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(entry, heap[parent])) break;
      heap[i] = heap[parent];
      i = parent;
    }
    heap[i] = entry;
  }

  /** Runs `fn` after `ms` of virtual time. */
  after(ms: number, fn: () => void): void {
    this.at(this.clock + ms, fn);
  }

  /** Runs the next event; false when there is none, or when the next is after `until`. */
  step(until = Infinity): boolean {
    const heap = this.heap;
    if (heap.length === 0 || heap[0].t > until) return false;
    const top = heap[0];
    const last = heap.pop() as Entry;
    if (heap.length > 0) {
      const n = heap.length;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const m = r < n && before(heap[r], heap[l]) ? r : l;
        if (!before(heap[m], last)) break;
        heap[i] = heap[m];
        i = m;
      }
      heap[i] = last;
    }
    this.clock = top.t;
    top.fn();
    return true;
  }
}
