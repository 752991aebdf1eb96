/**
 * The Bun adapter: `Bun.listen` / `Bun.connect` sockets (uWS underneath, the fastest path measured),
 * `Bun.serve` for admin.
 *
 * @module
 */
import { lookup } from "node:dns/promises";
import { availableParallelism } from "node:os";
import process from "node:process";
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

// deno-lint-ignore no-explicit-any
type BunSocket = any;
// deno-lint-ignore no-explicit-any
declare const Bun: any;

/** Wraps a Bun socket: queues what the kernel does not take, so `write` never loses bytes. */
class BunTcpSocket implements TcpSocket {
  raw: BunSocket = null;
  handlers: SocketHandlers | null = null;
  remoteAddress = "";
  remotePort = 0;
  localPort = 0;
  closed = false;
  pendingBytes = 0;
  /** Keeps reading after the peer's FIN; `end` sends ours (`shutdown`) and Bun closes once both are sent. */
  halfOpen = false;
  private queue: Uint8Array[] = [];
  private ending = false;
  private wantDrain = false;

  attach(raw: BunSocket): void {
    this.raw = raw;
    this.remoteAddress = raw.remoteAddress ?? "";
    this.remotePort = raw.remotePort ?? 0;
    this.localPort = raw.localPort ?? 0;
  }

  write(data: Uint8Array, start = 0, end = data.byteLength): boolean {
    if (this.closed) return false;
    const n = end - start;
    if (this.raw === null || this.queue.length > 0) {
      this.queue.push(data.slice(start, end));
      this.pendingBytes += n;
      this.wantDrain = true;
      return false;
    }
    // A range, not a view: creating a view of a fresh array is costly in JavaScriptCore.
    const written: number = this.raw.write(data, start, n);
    if (written >= n) return true;
    const rest = data.slice(start + (written > 0 ? written : 0), end);
    this.queue.push(rest);
    this.pendingBytes += rest.byteLength;
    this.wantDrain = true;
    return false;
  }

  /** Called by Bun's drain event and after connect: push the queue; true once empty. */
  flush(): boolean {
    while (this.queue.length > 0) {
      const head = this.queue[0]!;
      const written: number = this.raw.write(head);
      if (written >= head.byteLength) {
        this.queue.shift();
        this.pendingBytes -= head.byteLength;
        continue;
      }
      if (written > 0) {
        this.queue[0] = head.subarray(written);
        this.pendingBytes -= written;
      }
      return false;
    }
    if (this.ending) this.finishSending();
    return true;
  }

  onDrain(): void {
    if (!this.flush()) return;
    if (this.wantDrain) {
      this.wantDrain = false;
      this.handlers?.drain(this);
    }
  }

  end(): void {
    if (this.closed) return;
    this.ending = true;
    if (this.raw !== null && this.queue.length === 0) this.finishSending();
  }

  closeAfterWrites(): void {
    // No longer half-open, `end` closes: Bun's `end` also closes a socket whose FIN (`shutdown`) was sent.
    this.halfOpen = false;
    this.end();
  }

  private finishSending(): void {
    if (this.halfOpen) this.raw.shutdown();
    else this.raw.end();
  }

  destroy(): void {
    if (this.closed) return;
    this.queue = [];
    this.pendingBytes = 0;
    if (this.raw !== null) this.raw.terminate();
    else this.onClose(new Error("destroyed before connect"));
  }

  private paused = false;

  // Idempotent here, as the proxy re-asserts the read state after every exchange: no native call then.
  pause(): void {
    if (this.paused || this.raw === null) return;
    this.paused = true;
    this.raw.pause();
  }

  resume(): void {
    if (!this.paused || this.raw === null) return;
    this.paused = false;
    this.raw.resume();
  }

  onClose(error?: Error): void {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.pendingBytes = 0;
    this.handlers?.close(this, error);
  }
}

const socketEvents = {
  data(raw: BunSocket, bytes: Uint8Array) {
    const s: BunTcpSocket = raw.data;
    s.handlers!.data(s, bytes);
  },
  drain(raw: BunSocket) {
    (raw.data as BunTcpSocket).onDrain();
  },
  end(raw: BunSocket) {
    // The peer half-closed. Only relays keep half-open connections (Envoy's HTTP listeners do not).
    const s = raw.data as BunTcpSocket;
    if (s.halfOpen && s.handlers?.end) s.handlers.end(s);
    else s.end();
  },
  close(raw: BunSocket, error?: Error) {
    (raw.data as BunTcpSocket | undefined)?.onClose(error);
  },
  error(raw: BunSocket, error: Error) {
    (raw.data as BunTcpSocket | undefined)?.onClose(error);
  },
};

let lastRss = 0;

export function createBunRuntime(): Runtime {
  return {
    name: "bun",
    version: `bun ${Bun.version}`,
    // Not in Bun's documented options, but `Bun.connect` binds it (checked by runtime_test.ts).
    bindsLocalAddress: true,
    lendsReadBuffers: false,
    listenTcp(options: ListenOptions, onOpen: (s: TcpSocket) => SocketHandlers): Promise<TcpListener> {
      try {
        const halfOpen = options.halfOpen ?? false;
        const listener = Bun.listen({
          hostname: options.hostname,
          port: options.port,
          reusePort: options.reusePort,
          allowHalfOpen: halfOpen,
          socket: {
            ...socketEvents,
            open(raw: BunSocket) {
              const s = new BunTcpSocket();
              s.halfOpen = halfOpen;
              s.attach(raw);
              raw.data = s;
              raw.setNoDelay?.(true);
              s.handlers = onOpen(s);
            },
          },
        });
        return Promise.resolve({
          hostname: listener.hostname,
          port: listener.port,
          close: () => listener.stop(false),
        });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    connectTcp(options: ConnectOptions, handlers: SocketHandlers & { open(s: TcpSocket): void }): TcpSocket {
      const s = new BunTcpSocket();
      s.handlers = handlers;
      s.halfOpen = options.halfOpen ?? false;
      Bun.connect({
        hostname: options.hostname,
        port: options.port,
        allowHalfOpen: s.halfOpen,
        ...(options.localAddress ? { localAddress: options.localAddress } : {}),
        data: s,
        socket: {
          ...socketEvents,
          open(raw: BunSocket) {
            if (s.closed) {
              raw.terminate();
              return;
            }
            s.attach(raw);
            raw.setNoDelay?.(true);
            handlers.open(s);
            // Send what was written before the connection opened; a writer told to wait hears drain.
            s.onDrain();
          },
          connectError(_raw: BunSocket, error: Error) {
            s.onClose(error);
          },
        },
      }).catch((error: Error) => s.onClose(error));
      return s;
    },
    serveHttp(options: { hostname: string; port: number; reusePort?: boolean }, handler: HttpHandler): Promise<HttpServer> {
      try {
        const server = Bun.serve({
          hostname: options.hostname,
          port: options.port,
          reusePort: options.reusePort ?? false,
          idleTimeout: 0,
          // deno-lint-ignore no-explicit-any
          fetch(req: Request, srv: any) {
            return handler(req, { remoteAddress: srv.requestIP(req)?.address ?? "" });
          },
        });
        return Promise.resolve({
          hostname: server.hostname,
          port: server.port,
          close: async () => {
            await server.stop(true);
          },
        });
      } catch (e) {
        return Promise.reject(e);
      }
    },
    freePort(hostname: string): Promise<number> {
      const l = Bun.listen({ hostname, port: 0, socket: { data() {} } });
      const port: number = l.port;
      l.stop(true);
      return Promise.resolve(port);
    },
    onSignal(signal: SignalName, handler: () => void): () => void {
      process.on(signal, handler);
      return () => process.off(signal, handler);
    },
    async resolveIPv4(hostname: string): Promise<string[]> {
      const found = await lookup(hostname, { all: true, family: 4 });
      return found.map((a) => a.address);
    },
    readTextFile: (path: string) => Bun.file(path).text(),
    rss() {
      // Read from /proc, which fails while the process is out of file descriptors: keep the last value.
      try {
        lastRss = process.memoryUsage.rss();
      } catch { /* out of descriptors */ }
      return lastRss;
    },
    cpuUsageMicros() {
      const u = process.cpuUsage();
      return u.user + u.system;
    },
    pid: process.pid,
    cpuCount: () => availableParallelism(),
    env: (name: string) => process.env[name],
    exit: (code: number): never => process.exit(code),
  };
}
