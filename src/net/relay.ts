/**
 * A byte-counting bidirectional relay between two ends, each either a `Duplex` (a TLS socket, an
 * HTTP/2 stream, a stream to another worker) or a runtime socket ({@linkcode SocketEnd}: a
 * `Deno.listen`/`Bun.listen` connection, which costs a fraction of `node:net`'s CPU per byte), with
 * backpressure, half-close propagation and no buffering beyond the ends' own. Resolves once both
 * sides have closed.
 *
 * @example
 * ```ts
 * const { up, down } = await relay(client, upstream, { onUp: (n) => rx.add(n), onDown: (n) => tx.add(n) });
 * ```
 *
 * @module
 */

import { Duplex } from "node:stream";
import type {
  ConnectOptions,
  Runtime,
  SocketHandlers,
  TcpSocket,
} from "../runtime/types.ts";

/**
 * Bytes a side may have queued before its source is paused. Streams signal backpressure at their
 * (small, 16 KiB for HTTP/2 streams) high-water mark; pausing there costs a pause/resume per chunk.
 */
export const RELAY_HIGH_WATER = 1 << 20;

/** What an end reports to the relay. */
export interface RelaySink {
  data(bytes: Uint8Array): void;
  /** The end can take more bytes after `write` returned false. */
  drain(): void;
  /** The peer finished sending (TCP FIN, HTTP/2 END_STREAM). */
  end(): void;
  /** Closed. `abrupt`: before this side's sending was ended cleanly (reset, error, destroy). */
  close(abrupt: boolean, error?: Error): void;
}

/** One side of a relay. */
export interface RelayEnd {
  /** `data` bytes are valid only during the call (a runtime socket's read buffer is reused). */
  readonly lendsReads?: boolean;
  /** `write` keeps the bytes it is given, rather than copying what it cannot send at once. */
  readonly keepsWrites?: boolean;
  /** From now on, report events to `sink`. */
  attach(sink: RelaySink): void;
  /** Queue bytes; false when the other side should pause until `drain`. The caller may reuse `bytes`. */
  write(bytes: Uint8Array): boolean;
  /** No more bytes will be written: send them, then end this side's sending. */
  end(): void;
  /** The other side closed cleanly: finish sending what was written, then close (whether or not the peer has ended). */
  closeAfterFlush(): void;
  destroy(): void;
  pause(): void;
  resume(): void;
}

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
  a: Duplex | RelayEnd,
  b: Duplex | RelayEnd,
  hooks: RelayHooks = {},
  initial?: Uint8Array,
): Promise<RelayResult> {
  const ea = a instanceof Duplex ? duplexEnd(a) : a;
  const eb = b instanceof Duplex ? duplexEnd(b) : b;
  return new Promise((resolve) => {
    const counts = { up: 0, down: 0 };
    let error: Error | undefined;
    let closed = 0;
    const busy = hooks.busy;
    const side = (
      from: RelayEnd,
      to: RelayEnd,
      key: "up" | "down",
      count?: (n: number) => void,
    ): RelaySink => {
      const copy = from.lendsReads === true && to.keepsWrites === true;
      return {
        data(c) {
          busy?.enter();
          counts[key] += c.length;
          count?.(c.length);
          if (!to.write(copy ? c.slice() : c)) from.pause();
          busy?.leave();
        },
        // `from` can take more: the side writing into it may read again.
        drain: () => to.resume(),
        end: () => to.end(),
        close(abrupt, e) {
          error ??= e;
          // A side that closes abruptly takes the other down with it; after a clean close, the other
          // side closes once what it was given has been sent.
          if (abrupt) to.destroy();
          else to.closeAfterFlush();
          if (++closed === 2) {
            resolve(error ? { ...counts, error } : { ...counts });
          }
        },
      };
    };
    if (initial && initial.length) {
      counts.up += initial.length;
      hooks.onUp?.(initial.length);
      eb.write(initial);
    }
    ea.attach(side(ea, eb, "up", hooks.onUp));
    eb.attach(side(eb, ea, "down", hooks.onDown));
  });
}

/** A `Duplex` as a relay end. */
export function duplexEnd(d: Duplex): RelayEnd {
  let error: Error | undefined;
  return {
    keepsWrites: true,
    attach(sink) {
      d.on("data", (c: Uint8Array) => sink.data(c));
      d.on("drain", () => sink.drain());
      d.on("end", () => sink.end());
      d.on("error", (e: Error) => {
        error ??= e;
        d.destroy();
      });
      d.on(
        "close",
        () => sink.close(!d.readableEnded || error !== undefined, error),
      );
    },
    write: (bytes) => d.write(bytes) || d.writableLength < RELAY_HIGH_WATER,
    end: () => d.end(),
    closeAfterFlush() {
      if (d.destroyed) return;
      if (!d.writableEnded) d.end();
      if (d.writableFinished) d.destroy();
      else d.once("finish", () => d.destroy());
    },
    destroy: () => d.destroy(),
    pause: () => d.pause(),
    resume: () => d.resume(),
  };
}

/**
 * A runtime socket (opened with `halfOpen`) as a relay end. Its `handlers` are the socket's from the
 * start: until a relay attaches, bytes go to `early` (a handshake parser) or, without one, are kept
 * (copied) for the relay, as are the socket's other events.
 *
 * @example
 * ```ts
 * const end = SocketEnd.connect(runtime, { hostname, port });
 * await end.opened;
 * await relay(clientEnd, end);
 * ```
 */
export class SocketEnd implements RelayEnd {
  socket: TcpSocket | null;
  /** Receives data before a relay attaches (e.g. a SOCKS5 or CONNECT parser). */
  early: ((bytes: Uint8Array) => void) | null = null;
  /** Resolves once connected (client sockets); rejects if connecting fails. */
  readonly opened: Promise<TcpSocket>;
  /** The socket's event handlers (for `listenTcp`'s `onOpen` or `connectTcp`). */
  readonly handlers: SocketHandlers & { open(socket: TcpSocket): void };
  /** Runs once when the socket closes (after the relay heard of it). */
  onClose: ((error?: Error) => void) | null = null;
  #sink: RelaySink | null = null;
  #kept: Uint8Array[] = [];
  #sentEnd = false;
  #peerEnded = false;
  #closed: { error?: Error } | null = null;

  /** `lendsReads`: the runtime reuses the buffers `data` bytes are in (`Runtime.lendsReadBuffers`). */
  constructor(socket: TcpSocket | null, readonly lendsReads: boolean) {
    this.socket = socket;
    const opened = Promise.withResolvers<TcpSocket>();
    this.opened = opened.promise;
    this.opened.catch(() => {});
    if (socket !== null) opened.resolve(socket);
    this.handlers = {
      open: (s) => {
        this.socket = s;
        opened.resolve(s);
      },
      data: (_s, bytes) => {
        if (this.#sink !== null) this.#sink.data(bytes);
        else if (this.early !== null) this.early(bytes);
        else {
          // Between a handshake and the relay (or after a refusal): keep what came, read no more.
          this.#kept.push(this.lendsReads ? bytes.slice() : bytes);
          this.socket?.pause();
        }
      },
      drain: () => this.#sink?.drain(),
      end: () => {
        this.#peerEnded = true;
        this.#sink?.end();
      },
      close: (_s, error) => {
        this.#closed = error ? { error } : {};
        opened.reject(error ?? new Error("closed before connecting"));
        this.#deliverClose();
        this.onClose?.(error);
      },
    };
  }

  /** Connects a half-open runtime socket; writes before it is open are queued by the socket. */
  static connect(runtime: Runtime, options: ConnectOptions): SocketEnd {
    const end = new SocketEnd(null, runtime.lendsReadBuffers);
    end.socket = runtime.connectTcp(
      { ...options, halfOpen: true },
      end.handlers,
    );
    return end;
  }

  /** Bytes kept for a relay that has not attached yet. */
  get keptBytes(): number {
    let n = 0;
    for (const b of this.#kept) n += b.byteLength;
    return n;
  }

  /** True once the socket closed. */
  get closed(): boolean {
    return this.#closed !== null;
  }

  #deliverClose(): void {
    const sink = this.#sink;
    const c = this.#closed;
    if (sink === null || c === null) return;
    // Bun closes a half-open socket whose FIN was sent when the peer's arrives, without an `end`.
    sink.close(c.error !== undefined || !this.#sentEnd, c.error);
  }

  attach(sink: RelaySink): void {
    this.#sink = sink;
    this.early = null;
    // Read again (paused if bytes were kept); the relay pauses it again if the other side is full.
    this.socket?.resume();
    const kept = this.#kept;
    this.#kept = [];
    for (const bytes of kept) sink.data(bytes);
    if (this.#peerEnded) sink.end();
    this.#deliverClose();
  }
  write(bytes: Uint8Array): boolean {
    return this.socket?.write(bytes) ?? false;
  }
  end(): void {
    if (this.#sentEnd) return;
    this.#sentEnd = true;
    this.socket?.end();
  }
  closeAfterFlush(): void {
    this.#sentEnd = true;
    this.socket?.closeAfterWrites();
  }
  destroy(): void {
    this.socket?.destroy();
  }
  pause(): void {
    this.socket?.pause();
  }
  resume(): void {
    this.socket?.resume();
  }
}
