/**
 * Depth and oldest wait of named queues, e.g. requests waiting for an upstream connection
 * (`upstream:<cluster>`). Entries are kept in insertion order, so the oldest is the first.
 *
 * @example
 * ```ts
 * const q = new QueueTracker(0);
 * const e = q.enqueue("upstream:backend");
 * q.dequeue(e);
 * q.report()[0].depth; // 0
 * ```
 * @module
 */
import type { QueueStats } from "../admin/wire.ts";

export interface QueueEntry {
  queue: NamedQueue;
  at: number;
}

interface NamedQueue {
  name: string;
  entries: Set<QueueEntry>;
  total: number;
  dropped: number;
}

export class QueueTracker {
  private queues = new Map<string, NamedQueue>();

  constructor(readonly worker: number) {}

  private queue(name: string): NamedQueue {
    let q = this.queues.get(name);
    if (q === undefined) this.queues.set(name, q = { name, entries: new Set(), total: 0, dropped: 0 });
    return q;
  }

  enqueue(name: string): QueueEntry {
    const q = this.queue(name);
    const e = { queue: q, at: performance.now() };
    q.entries.add(e);
    q.total++;
    return e;
  }

  dequeue(e: QueueEntry): void {
    e.queue.entries.delete(e);
  }

  countDrop(name: string): void {
    this.queue(name).dropped++;
  }

  report(): QueueStats[] {
    const now = performance.now();
    const out: QueueStats[] = [];
    for (const q of this.queues.values()) {
      const first = q.entries.values().next();
      out.push({
        name: q.name,
        worker: this.worker,
        depth: q.entries.size,
        oldestWaitMs: first.done ? 0 : Math.round(now - first.value.at),
        total: q.total,
        dropped: q.dropped,
      });
    }
    return out;
  }
}
