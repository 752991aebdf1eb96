/**
 * A byte-counting bidirectional relay between two duplex streams (a `net.Socket`, a TLS socket or an
 * HTTP/2 stream), with backpressure, half-close propagation and no buffering beyond the streams'
 * own. Resolves once both sides have closed.
 *
 * @example
 * ```ts
 * const { up, down } = await relay(client, upstream, { onUp: (n) => rx.add(n), onDown: (n) => tx.add(n) });
 * ```
 *
 * @module
 */

import type { Duplex } from "node:stream";

/**
 * Bytes a side may have queued before its source is paused. Streams signal backpressure at their
 * (small, 16 KiB for HTTP/2 streams) high-water mark; pausing there costs a pause/resume per chunk.
 */
export const RELAY_HIGH_WATER = 1 << 20;

export interface RelayHooks {
  /** Bytes read from `a` and written to `b`. */
  onUp?: (n: number) => void;
  /** Bytes read from `b` and written to `a`. */
  onDown?: (n: number) => void;
  /** Brackets each data callback (the dispatcher's busy-time accounting). */
  busy?: { enter(): void; leave(): void };
}

export interface RelayResult {
  up: number;
  down: number;
  /** The first error either side reported, if any. */
  error?: Error;
}

/** Relays until both sides are closed. `initial` is written to `b` first (bytes read ahead from `a`). */
export function relay(
  a: Duplex,
  b: Duplex,
  hooks: RelayHooks = {},
  initial?: Uint8Array,
): Promise<RelayResult> {
  return new Promise((resolve) => {
    let up = 0;
    let down = 0;
    let error: Error | undefined;
    let closed = 0;
    let done = false;
    const onUp = hooks.onUp;
    const onDown = hooks.onDown;
    const finish = () => {
      if (++closed < 2 || done) return;
      done = true;
      resolve(error ? { up, down, error } : { up, down });
    };
    const fail = (e: Error) => {
      error ??= e;
      a.destroy();
      b.destroy();
    };
    if (initial && initial.length) {
      up += initial.length;
      onUp?.(initial.length);
      b.write(initial);
    }
    const busy = hooks.busy;
    a.on("data", (c: Uint8Array) => {
      busy?.enter();
      up += c.length;
      onUp?.(c.length);
      if (!b.write(c) && b.writableLength >= RELAY_HIGH_WATER) a.pause();
      busy?.leave();
    });
    b.on("data", (c: Uint8Array) => {
      busy?.enter();
      down += c.length;
      onDown?.(c.length);
      if (!a.write(c) && a.writableLength >= RELAY_HIGH_WATER) b.pause();
      busy?.leave();
    });
    a.on("drain", () => b.resume());
    b.on("drain", () => a.resume());
    a.on("end", () => b.end());
    b.on("end", () => a.end());
    a.on("error", fail);
    b.on("error", fail);
    // A side that closes abruptly takes the other down with it; after a clean close, the other side
    // is closed once what it was given has been flushed.
    const closeOther = (self: Duplex, other: Duplex) => {
      if (other.destroyed) return;
      if (!self.readableEnded) other.destroy();
      else if (other.writableFinished) other.destroy();
      else other.once("finish", () => other.destroy());
    };
    a.on("close", () => {
      closeOther(a, b);
      finish();
    });
    b.on("close", () => {
      closeOther(b, a);
      finish();
    });
  });
}
