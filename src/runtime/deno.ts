/**
 * The Deno adapter: `Deno.listen` / `Deno.connect` (reusePort needs `"unstable": ["net"]`), a read
 * loop per socket that feeds the callback interface, and `Deno.serve` for admin.
 *
 * @module
 */
import type {
  ConnectOptions,
  HttpHandler,
  HttpServer,
  ListenOptions,
  Runtime,
  SignalName,
  SocketHandlers,
  TcpListener,
  TcpSocket,
} from "./types.ts";

/**
 * Every connection keeps a read pending, with its own buffer. Small buffers keep idle connections
 * cheap (10,000 idle keep-alive connections); a read that fills its buffer grows it (512 B, 4 KiB,
 * 32 KiB, 64 KiB), so bulk transfers still read 64 KiB at a time, and a small read shrinks it back.
 */
const SMALL_READ_BYTES = 512;
const LARGE_READ_BYTES = 64 * 1024;
/** Queued write bytes past which `write` reports back-pressure. */
const WRITE_HIGH_WATER_BYTES = 64 * 1024;
/** Queued writes up to this size are coalesced into one (a response head and its body). */
const COALESCE_BYTES = 16 * 1024;

/**
 * Large read buffers are recycled per thread. A chunk a read delivered and a `write` on this
 * thread queues whole (a relayed body) is not copied: the write takes the buffer, the read loop
 * takes a fresh one, and the buffer returns here once written. Without this, relaying 1 GiB
 * allocated 16,384 buffers of 64 KiB that lived until the next GC (about 70 MiB per worker).
 */
const largeBuffers: ArrayBuffer[] = [];
const LARGE_BUFFERS_KEPT = 16;
/** Buffers that came from (and go back to) `largeBuffers`. */
const recyclable = new WeakSet<ArrayBufferLike>();
/** The read buffer being delivered right now (`data` handlers run synchronously), and whether a write took it. */
let lent: ArrayBufferLike | null = null;
let lentTaken = false;

function largeBuffer(): Uint8Array<ArrayBuffer> {
  const b = largeBuffers.pop() ?? new ArrayBuffer(LARGE_READ_BYTES);
  recyclable.add(b);
  return new Uint8Array(b);
}

function recycle(chunk: Uint8Array): void {
  const b = chunk.buffer;
  if (recyclable.has(b) && largeBuffers.length < LARGE_BUFFERS_KEPT) largeBuffers.push(b as ArrayBuffer);
}

/** Callbacks over a `Deno.Conn`: one read loop, one write loop, so `write` never awaits. */
class DenoTcpSocket implements TcpSocket {
  handlers: SocketHandlers | null = null;
  remoteAddress = "";
  remotePort = 0;
  localPort = 0;
  closed = false;
  pendingBytes = 0;
  /** Keeps the socket open after the peer's FIN; `end` then sends ours (`closeWrite`). */
  halfOpen = false;
  /** Half-open: the peer's FIN arrived / ours was sent. The socket closes when both are true. */
  private peerEnded = false;
  private sentEnd = false;
  private conn: Deno.TcpConn | null = null;
  private queue: Uint8Array[] = [];
  private writing = false;
  private wantDrain = false;
  private ending = false;
  private paused = false;
  private resumeReading: (() => void) | null = null;

  attach(conn: Deno.TcpConn): void {
    this.conn = conn;
    const remote = conn.remoteAddr as Deno.NetAddr;
    const local = conn.localAddr as Deno.NetAddr;
    this.remoteAddress = remote.hostname;
    this.remotePort = remote.port;
    this.localPort = local.port;
    try {
      conn.setNoDelay(true);
    } catch { /* closed already */ }
  }

  async readLoop(): Promise<void> {
    const conn = this.conn!;
    let buf = new Uint8Array(SMALL_READ_BYTES);
    try {
      while (!this.closed) {
        if (this.paused) {
          await new Promise<void>((r) => (this.resumeReading = r));
          continue;
        }
        const n = await conn.read(buf);
        if (n === null) {
          // Peer half-closed. Only relays keep half-open connections (Envoy's HTTP listeners do not):
          // others finish what is queued, then close.
          this.peerEnded = true;
          if (!this.halfOpen || !this.handlers?.end) this.end();
          else if (this.sentEnd) this.shutdown();
          else this.handlers.end(this);
          return;
        }
        if (this.closed) return;
        const large = buf.byteLength === LARGE_READ_BYTES;
        if (large) {
          lent = buf.buffer;
          lentTaken = false;
        }
        try {
          this.handlers!.data(this, buf.subarray(0, n));
        } finally {
          lent = null;
        }
        if (large && lentTaken) buf = n < SMALL_READ_BYTES ? new Uint8Array(SMALL_READ_BYTES) : largeBuffer();
        else if (n === buf.byteLength && buf.byteLength < LARGE_READ_BYTES) {
          const next = buf.byteLength * 8;
          buf = next >= LARGE_READ_BYTES ? largeBuffer() : new Uint8Array(next);
        } else if (n < SMALL_READ_BYTES && buf.byteLength > SMALL_READ_BYTES) {
          if (large) recycle(buf);
          buf = new Uint8Array(SMALL_READ_BYTES);
        }
      }
    } catch (e) {
      this.onClose(e instanceof Error ? e : new Error(String(e)));
    }
  }

  write(data: Uint8Array, start = 0, end = data.byteLength): boolean {
    if (this.closed) return false;
    if (lent !== null && data.buffer === lent && !lentTaken) {
      // A chunk the current read delivered: take it instead of copying (see `largeBuffers`).
      lentTaken = true;
      this.queue.push(data.subarray(start, end));
    } else this.queue.push(data.slice(start, end));
    this.pendingBytes += end - start;
    if (this.conn !== null && !this.writing) void this.writeLoop();
    if (this.pendingBytes > 0) {
      // Writes complete asynchronously; signal back-pressure only past a small high-water mark.
      if (this.pendingBytes > WRITE_HIGH_WATER_BYTES) {
        this.wantDrain = true;
        return false;
      }
    }
    return true;
  }

  private async writeLoop(): Promise<void> {
    const conn = this.conn!;
    this.writing = true;
    try {
      while (this.queue.length > 0) {
        let chunk: Uint8Array;
        let total = 0;
        for (const q of this.queue) total += q.byteLength;
        if (this.queue.length === 1 || total > COALESCE_BYTES) chunk = this.queue.shift()!;
        else {
          // Coalesce small writes (a response head and its body) into one syscall.
          chunk = new Uint8Array(total);
          let at = 0;
          for (const q of this.queue) {
            chunk.set(q, at);
            at += q.byteLength;
            recycle(q);
          }
          this.queue = [];
        }
        let off = 0;
        while (off < chunk.byteLength) off += await conn.write(off === 0 ? chunk : chunk.subarray(off));
        this.pendingBytes -= chunk.byteLength;
        recycle(chunk);
        if (this.closed) return;
      }
    } catch (e) {
      this.onClose(e instanceof Error ? e : new Error(String(e)));
      return;
    } finally {
      this.writing = false;
    }
    if (this.ending) {
      this.shutdown();
      return;
    }
    if (this.wantDrain) {
      this.wantDrain = false;
      this.handlers?.drain(this);
    }
  }

  private shutdown(): void {
    if (this.halfOpen && !this.peerEnded && !this.closed) {
      // Send our FIN and keep reading until the peer's.
      this.sentEnd = true;
      this.conn?.closeWrite().then(undefined, (e) => this.onClose(e instanceof Error ? e : new Error(String(e))));
      return;
    }
    try {
      this.conn?.close();
    } catch { /* already closed */ }
    this.onClose();
  }

  end(): void {
    if (this.closed) return;
    if (this.ending) return;
    this.ending = true;
    if (this.conn !== null && !this.writing && this.queue.length === 0) this.shutdown();
  }

  closeAfterWrites(): void {
    if (this.closed) return;
    // No longer half-open: `shutdown` closes, now or once the queue is written (even after our FIN).
    this.halfOpen = false;
    this.ending = true;
    if (this.conn !== null && !this.writing && this.queue.length === 0) this.shutdown();
  }

  destroy(): void {
    if (this.closed) return;
    this.queue = [];
    this.pendingBytes = 0;
    if (this.conn !== null) this.onClose();
    else this.onClose(new Error("destroyed before connect"));
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    this.paused = false;
    const r = this.resumeReading;
    this.resumeReading = null;
    r?.();
  }

  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.pendingBytes = 0;
    try {
      this.conn?.close();
    } catch { /* already closed */ }
    const r = this.resumeReading;
    this.resumeReading = null;
    r?.();
    this.handlers?.close(this, error);
  }

  /** Connected (client side): start both loops. */
  start(): void {
    if (this.queue.length > 0) void this.writeLoop();
    else if (this.ending) this.shutdown(); // ended before it was connected
    void this.readLoop();
  }
}

/** After accept fails for lack of descriptors or memory, accepting pauses this long, doubling up to the max. */
const MIN_ACCEPT_PAUSE_MS = 10;
const MAX_ACCEPT_PAUSE_MS = 1000;

/**
 * Whether a failed accept concerns only the connection it took from the queue (the client reset
 * before it was accepted: ENOTCONN, ECONNABORTED, ECONNRESET), so the next accept may go at once.
 * Anything else (EMFILE, ENFILE, ENOBUFS, ENOMEM) would fail again right away.
 */
function isOneConnectionFailed(error: unknown): boolean {
  return error instanceof Deno.errors.NotConnected || error instanceof Deno.errors.ConnectionAborted ||
    error instanceof Deno.errors.ConnectionReset;
}

export function createDenoRuntime(): Runtime {
  return {
    name: "deno",
    version: `deno ${Deno.version.deno}`,
    bindsLocalAddress: false,
    lendsReadBuffers: true,
    listenTcp(options: ListenOptions, onOpen: (s: TcpSocket) => SocketHandlers): Promise<TcpListener> {
      let listener: Deno.TcpListener;
      try {
        // deno-lint-ignore no-explicit-any
        listener = Deno.listen({ hostname: options.hostname, port: options.port, reusePort: options.reusePort } as any);
      } catch (e) {
        return Promise.reject(e);
      }
      const addr = listener.addr as Deno.NetAddr;
      let open = true;
      // One accept at a time, each in its own try: `for await (const conn of listener)` ends for good
      // at the first failed accept (a client that connected and reset already, ENOTCONN; EMFILE).
      (async () => {
        let pauseMs = 0;
        while (open) {
          let conn: Deno.TcpConn;
          try {
            conn = await listener.accept();
            pauseMs = 0;
          } catch (e) {
            if (!open) return;
            const error = e instanceof Error ? e : new Error(String(e));
            if (e instanceof Deno.errors.BadResource) {
              // The listening socket itself is gone (not closed by us): nothing more will arrive.
              if (options.onListenerLost) options.onListenerLost(error);
              else console.error(`weft: listener on ${addr.hostname}:${addr.port} is gone: ${error.message}`);
              return;
            }
            options.onAcceptError?.(error);
            if (!isOneConnectionFailed(e)) {
              // Out of descriptors (or memory): retrying at once would spin until some free up, so
              // stop accepting for a while, longer each time it fails again (10 ms to 1 s).
              pauseMs = Math.min(Math.max(pauseMs * 2, MIN_ACCEPT_PAUSE_MS), MAX_ACCEPT_PAUSE_MS);
              await new Promise((r) => setTimeout(r, pauseMs));
            }
            continue;
          }
          const s = new DenoTcpSocket();
          s.halfOpen = options.halfOpen ?? false;
          s.attach(conn);
          s.handlers = onOpen(s);
          void s.readLoop();
        }
      })();
      return Promise.resolve({
        hostname: addr.hostname,
        port: addr.port,
        close() {
          if (!open) return;
          open = false;
          try {
            listener.close();
          } catch { /* closed */ }
        },
      });
    },
    connectTcp(options: ConnectOptions, handlers: SocketHandlers & { open(s: TcpSocket): void }): TcpSocket {
      const s = new DenoTcpSocket();
      s.handlers = handlers;
      s.halfOpen = options.halfOpen ?? false;
      if (options.localAddress) {
        queueMicrotask(() => s.onClose(new Error("Deno.connect cannot bind a local address")));
        return s;
      }
      Deno.connect({ hostname: options.hostname, port: options.port }).then(
        (conn) => {
          if (s.closed) {
            conn.close();
            return;
          }
          s.attach(conn);
          s.start();
          handlers.open(s);
        },
        (e) => s.onClose(e instanceof Error ? e : new Error(String(e))),
      );
      return s;
    },
    serveHttp(options: { hostname: string; port: number; reusePort?: boolean }, handler: HttpHandler): Promise<HttpServer> {
      return new Promise((resolve, reject) => {
        try {
          const server = Deno.serve({
            hostname: options.hostname,
            port: options.port,
            reusePort: options.reusePort ?? false,
            onListen: (addr) => {
              resolve({
                hostname: addr.hostname,
                port: addr.port,
                close: () => server.shutdown(),
              });
            },
            onError: (e) => {
              console.error(`weft: admin handler failed: ${e}`);
              return new Response("internal error\n", { status: 500 });
            },
          }, (req, info) => handler(req, { remoteAddress: (info.remoteAddr as Deno.NetAddr).hostname }));
        } catch (e) {
          reject(e);
        }
      });
    },
    freePort(hostname: string): Promise<number> {
      const l = Deno.listen({ hostname, port: 0 });
      const port = (l.addr as Deno.NetAddr).port;
      l.close();
      return Promise.resolve(port);
    },
    onSignal(signal: SignalName, handler: () => void): () => void {
      Deno.addSignalListener(signal, handler);
      return () => Deno.removeSignalListener(signal, handler);
    },
    async resolveIPv4(hostname: string): Promise<string[]> {
      return await Deno.resolveDns(hostname, "A").catch(async () => {
        // Deno.resolveDns does not read /etc/hosts: fall back to the system resolver.
        const { lookup } = await import("node:dns/promises");
        const found = await lookup(hostname, { all: true, family: 4 });
        return found.map((a) => a.address);
      });
    },
    readTextFile: (path: string) => Deno.readTextFile(path),
    rss: () => Deno.memoryUsage().rss,
    cpuUsageMicros() {
      // deno-lint-ignore no-explicit-any
      const u = (globalThis as any).process?.cpuUsage?.();
      return u ? u.user + u.system : 0;
    },
    pid: Deno.pid,
    cpuCount: () => navigator.hardwareConcurrency,
    env: (name: string) => Deno.env.get(name),
    exit: (code: number): never => Deno.exit(code),
  };
}
