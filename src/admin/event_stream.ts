/**
 * Server-sent events for `/events`: every subscriber gets each snapshot as `event: snapshot`. A slow
 * subscriber never holds the server back: past a small queue its snapshots are dropped and counted,
 * and the count rides in the next snapshot it does get (tokio-console's `dropped`).
 *
 * @example
 * ```ts
 * const hub = new EventHub<Snapshot>();
 * const res = hub.subscribe(latest); // a text/event-stream Response
 * hub.publish((dropped) => ({ ...snap, dropped }));
 * ```
 * @module
 */

const encoder = new TextEncoder();
const QUEUE_LIMIT = 4;

interface Subscriber<T> {
  controller: ReadableStreamDefaultController<Uint8Array>;
  dropped: number;
}

export class EventHub<T> {
  private subscribers = new Set<Subscriber<T>>();

  get size(): number {
    return this.subscribers.size;
  }

  /** A streaming response; `first` (if any) is sent at once so a client draws without waiting. */
  subscribe(first: ((dropped: number) => T) | null): Response {
    let sub: Subscriber<T>;
    const body = new ReadableStream<Uint8Array>({
      start: (controller) => {
        sub = { controller, dropped: 0 };
        this.subscribers.add(sub);
        controller.enqueue(encoder.encode(": weft event stream\nretry: 1000\n\n"));
        if (first !== null) controller.enqueue(encodeEvent("snapshot", first(0)));
      },
      cancel: () => {
        this.subscribers.delete(sub);
      },
    }, new CountQueuingStrategy({ highWaterMark: QUEUE_LIMIT }));
    return new Response(body, {
      headers: {
        "content-type": "text/event-stream",
        "cache-control": "no-cache",
        "x-accel-buffering": "no",
      },
    });
  }

  /** Send to every subscriber; `make(dropped)` builds the payload with that subscriber's drop count. */
  publish(make: (dropped: number) => T): void {
    let cached: Uint8Array | null = null;
    for (const sub of this.subscribers) {
      const c = sub.controller;
      if ((c.desiredSize ?? 0) <= 0) {
        sub.dropped++;
        continue;
      }
      try {
        if (sub.dropped === 0) c.enqueue(cached ??= encodeEvent("snapshot", make(0)));
        else c.enqueue(encodeEvent("snapshot", make(sub.dropped)));
      } catch {
        this.subscribers.delete(sub);
      }
    }
  }

  close(): void {
    for (const sub of this.subscribers) {
      try {
        sub.controller.close();
      } catch { /* already closed */ }
    }
    this.subscribers.clear();
  }
}

function encodeEvent(event: string, data: unknown): Uint8Array {
  return encoder.encode(`event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
}
