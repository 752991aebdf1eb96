/**
 * A set of objects whose `add` and `delete` allocate nothing: members sit in a dense array and each
 * remembers its index (`slot`), so deleting moves the last member into the gap. For sets changed on
 * every request (in-flight tasks, armed deadlines).
 *
 * Why not a `Set`: JavaScriptCore's `Set` keeps deleted entries in its table until it rehashes, and
 * with an add and a delete per request the rehashed tables outlive young-generation collections:
 * measured on Bun 1.4.5, each eden collection of a proxy worker promoted about 300 KiB and every
 * other collection was a full one. A member belongs to at most one `SlotSet` (one `slot` field), and
 * iteration order is not insertion order.
 *
 * @example
 * ```ts
 * const set = new SlotSet<{ slot: number; name: string }>();
 * const a = { slot: -1, name: "a" };
 * set.add(a);
 * set.delete(a); // true
 * set.delete(a); // false: not a member
 * ```
 * @module
 */

/** An object that can be a member of one {@linkcode SlotSet}. */
export interface Slotted {
  /** Index in the set's array while a member, -1 otherwise. */
  slot: number;
}

export class SlotSet<T extends Slotted> {
  /** The members, densely packed. Read-only for callers; use `add` and `delete`. */
  readonly items: T[] = [];

  get size(): number {
    return this.items.length;
  }

  /** Adds `item` unless it is already a member. */
  add(item: T): void {
    if (this.has(item)) return;
    item.slot = this.items.length;
    this.items.push(item);
  }

  has(item: T): boolean {
    const i = item.slot;
    return i >= 0 && i < this.items.length && this.items[i] === item;
  }

  /** Removes `item`; false if it was not a member. */
  delete(item: T): boolean {
    if (!this.has(item)) return false;
    const i = item.slot;
    const last = this.items.pop()!;
    if (last !== item) {
      this.items[i] = last;
      last.slot = i;
    }
    item.slot = -1;
    return true;
  }
}
