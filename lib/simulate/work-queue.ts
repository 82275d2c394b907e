/**
 * The work queue as SQS behaves for the agents: messages become visible, a receive takes one and
 * hides it for a while, long polls wait for the next visible message, visibility changes and
 * deletes name a receive by its receipt. Standard queues deliver at least once and only roughly in
 * order; this one is first in, first out, with duplicates injected by the simulator.
 */
import type { EventQueue } from './event-queue';

export interface QueuedMessage {
  id: number;
  chunk: number;
  receives: number;
  deleted: boolean;
  /** The receipt of the latest receive (0 while visible). */
  receipt: number;
  /** When it becomes visible again, while received. */
  visibleAt: number;
}

/** A work loop waiting in a long poll. */
export interface Waiter {
  deliver: (message: QueuedMessage | undefined, receipt: number) => void;
  done: boolean;
  /** A waiter whose node died is passed over (its connection is gone). */
  alive: () => boolean;
}

export class WorkQueue {
  private visible: QueuedMessage[] = [];
  private head = 0;
  private waiters: Waiter[] = [];
  private waiterHead = 0;
  private nextId = 0;
  private receipts = 0;
  /** Messages received and neither deleted nor visible again, now and at most. */
  inFlight = 0;
  peakInFlight = 0;

  constructor(private readonly events: EventQueue) {}

  /** Sends a message for `chunk`, visible at once. */
  send(chunk: number): QueuedMessage {
    const message: QueuedMessage = { id: this.nextId++, chunk, receives: 0, deleted: false, receipt: 0, visibleAt: 0 };
    this.makeVisible(message);
    return message;
  }

  /**
   * One receive: the next visible message (hidden for `visibilityMs`), or, when none, a wait of up
   * to `waitMs` for one (`deliver(undefined)` when the wait ends empty).
   */
  receive(visibilityMs: number, waitMs: number, deliver: Waiter['deliver'], alive: () => boolean): void {
    const message = this.take();
    if (message) {
      deliver(message, this.hide(message, visibilityMs));
      return;
    }
    const waiter: Waiter = { done: false, alive, deliver: (m, r) => deliver(m, r) };
    waiter.deliver = (m) => {
      waiter.done = true;
      deliver(m, m ? this.hide(m, visibilityMs) : 0);
    };
    this.waiters.push(waiter);
    this.events.after(waitMs, () => {
      if (!waiter.done && waiter.alive()) waiter.deliver(undefined, 0);
    });
  }

  /** ChangeMessageVisibility: the received message becomes visible after `ms` (0: now); refused for a stale receipt. */
  changeVisibility(message: QueuedMessage, receipt: number, ms: number): boolean {
    if (message.deleted || message.receipt !== receipt) return false;
    if (ms <= 0) {
      this.inFlight--;
      this.makeVisible(message);
      return true;
    }
    this.schedule(message, this.events.now + ms);
    return true;
  }

  /** DeleteMessage with a receipt; a stale receipt of a message received again since is refused. */
  delete(message: QueuedMessage, receipt: number): boolean {
    if (message.deleted || message.receipt !== receipt) return false;
    message.deleted = true;
    this.inFlight--;
    return true;
  }

  /** Messages visible now. */
  get depth(): number {
    return this.visible.length - this.head;
  }

  private take(): QueuedMessage | undefined {
    while (this.head < this.visible.length) {
      const m = this.visible[this.head++];
      if (this.head > 1024 && this.head * 2 > this.visible.length) {
        this.visible = this.visible.slice(this.head);
        this.head = 0;
      }
      if (!m.deleted) return m;
    }
    return undefined;
  }

  private hide(message: QueuedMessage, visibilityMs: number): number {
    message.receives++;
    message.receipt = ++this.receipts;
    this.inFlight++;
    if (this.inFlight > this.peakInFlight) this.peakInFlight = this.inFlight;
    this.schedule(message, this.events.now + visibilityMs);
    return message.receipt;
  }

  private schedule(message: QueuedMessage, at: number): void {
    message.visibleAt = at;
    const receipt = message.receipt;
    this.events.at(at, () => {
      if (message.deleted || message.receipt !== receipt || message.visibleAt !== at) return;
      this.inFlight--;
      this.makeVisible(message);
    });
  }

  private makeVisible(message: QueuedMessage): void {
    message.receipt = 0;
    while (this.waiterHead < this.waiters.length) {
      const waiter = this.waiters[this.waiterHead++];
      if (this.waiterHead > 1024 && this.waiterHead * 2 > this.waiters.length) {
        this.waiters = this.waiters.slice(this.waiterHead);
        this.waiterHead = 0;
      }
      if (waiter.done || !waiter.alive()) continue;
      waiter.deliver(message, 0);
      return;
    }
    this.visible.push(message);
  }
}
