/**
 * Route timeouts for every in-flight request of a worker, checked by one timer instead of one
 * `setTimeout` per request (which costs an allocation and a timer-heap insert and removal on the
 * hot path). Precision is the tick (50 ms), ample for timeouts measured in seconds.
 *
 * @example
 * ```ts
 * const deadlines = new Deadlines();
 * deadlines.arm(exchange, performance.now() + 15_000);
 * deadlines.disarm(exchange); // on completion
 * ```
 * @module
 */
import { SlotSet, type Slotted } from "../worker/slot_set.ts";

export interface Expirable extends Slotted {
  /** performance.now() value after which `expire` is called; 0 when not armed. */
  deadline: number;
  expire(): void;
}

const TICK_MS = 50;

export class Deadlines {
  // Not a Set: one add and one delete per request (see SlotSet).
  private armed = new SlotSet<Expirable>();
  private timer: ReturnType<typeof setInterval> | null = null;

  arm(item: Expirable, at: number): void {
    item.deadline = at;
    this.armed.add(item);
    if (this.timer === null) this.timer = setInterval(() => this.tick(), TICK_MS);
  }

  disarm(item: Expirable): void {
    if (item.deadline === 0) return;
    item.deadline = 0;
    this.armed.delete(item);
  }

  private tick(): void {
    if (this.armed.size === 0) {
      clearInterval(this.timer!);
      this.timer = null;
      return;
    }
    const now = performance.now();
    // Expiring one item can arm or disarm others (the set moves members): collect first.
    const due = this.armed.items.filter((item) => item.deadline <= now);
    for (const item of due) {
      if (!this.armed.delete(item)) continue;
      item.deadline = 0;
      item.expire();
    }
  }
}
