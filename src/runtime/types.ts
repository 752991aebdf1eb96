/**
 * The one interface weft's code uses for runtime I/O. `deno.ts` and `bun.ts` implement it; nothing
 * else in weft names `Deno.` or `Bun.` (Hono's adapter pattern).
 *
 * Sockets are callback-driven, like `Bun.listen`: the data plane reacts to `data`, `drain` and `close`
 * events and never awaits per chunk, which is what made the raw-TCP prototype the fastest design.
 *
 * @module
 */

/** An open TCP connection. */
export interface TcpSocket {
  readonly remoteAddress: string;
  readonly remotePort: number;
  readonly localPort: number;
  /**
   * Queue `data[start, end)` (all of it by default) for sending. Never drops data: what the kernel
   * does not take now is copied and sent later, so the caller may reuse `data` once this returns.
   * Returns false when the caller should stop producing until the `drain` handler runs.
   */
  write(data: Uint8Array, start?: number, end?: number): boolean;
  /** Bytes accepted by `write` and not yet handed to the kernel. */
  readonly pendingBytes: number;
  /**
   * Close after everything written so far is sent. On a half-open socket (`halfOpen`), this only
   * ends the sending side (TCP FIN); the socket closes once the peer has ended too.
   */
  end(): void;
  /** Close once everything written so far is sent, whether or not the peer has ended (also after `end`). */
  closeAfterWrites(): void;
  /** Close now, discarding unsent bytes. */
  destroy(): void;
  /** Stop delivering `data` until `resume` (TCP back-pressure reaches the peer). */
  pause(): void;
  resume(): void;
  /** True once closed (by either side). */
  readonly closed: boolean;
}

/** Socket events. `data` bytes are only valid during the call: copy what you keep. */
export interface SocketHandlers {
  data(socket: TcpSocket, bytes: Uint8Array): void;
  /** Everything queued by `write` has been handed to the kernel after `write` returned false. */
  drain(socket: TcpSocket): void;
  /** Closed by either side; `error` is set for failures (reset, refused, timeout). Called once. */
  close(socket: TcpSocket, error?: Error): void;
  /**
   * The peer ended its sending side (TCP FIN) and the socket stays open for writing: half-open
   * sockets only (`halfOpen`). Other sockets close once what was written is sent (as Envoy's HTTP
   * listeners do), and `close` follows.
   */
  end?(socket: TcpSocket): void;
}

/** Keep a socket open after the peer's FIN, as a TCP relay must (the peer may still be reading). */
export interface HalfOpenOption {
  /** Default false. */
  halfOpen?: boolean;
}

export interface ListenOptions extends HalfOpenOption {
  hostname: string;
  port: number;
  /** SO_REUSEPORT: every worker binds the same address and the kernel spreads connections. */
  reusePort: boolean;
  /**
   * A failed accept (a client that reset before it was accepted, no file descriptor left). The
   * listener goes on accepting; out of descriptors, it pauses briefly first. Bun's listener reports
   * none (it retries inside).
   */
  onAcceptError?: (error: Error) => void;
  /** The listening socket stopped for good without `close` (logged when not given). */
  onListenerLost?: (error: Error) => void;
}

export interface TcpListener {
  readonly hostname: string;
  readonly port: number;
  /** Stop accepting; open connections are not touched. */
  close(): void;
}

export interface ConnectOptions extends HalfOpenOption {
  hostname: string;
  port: number;
  /**
   * The source address to bind before connecting. Only where `Runtime.bindsLocalAddress` is true:
   * Deno's `Deno.connect` cannot bind one.
   */
  localAddress?: string;
}

/** Information about the peer of an admin HTTP request. */
export interface HttpConnInfo {
  remoteAddress: string;
}

export type HttpHandler = (req: Request, info: HttpConnInfo) => Response | Promise<Response>;

export interface HttpServer {
  readonly hostname: string;
  readonly port: number;
  /** Stop accepting and close open connections. */
  close(): Promise<void>;
}

export type SignalName = "SIGTERM" | "SIGINT" | "SIGHUP";

/** Runtime services used by weft: sockets, an HTTP server for admin, signals, process facts. */
export interface Runtime {
  /** "deno" or "bun". */
  readonly name: "deno" | "bun";
  /** e.g. "deno 2.9.6". */
  readonly version: string;
  /**
   * Accept connections; `onOpen` returns the handlers for each new socket. Rejects on bind errors.
   * `onOpen` must not close the socket itself (its handlers are not attached yet, so `close` would
   * not reach them): defer it, e.g. with `queueMicrotask`.
   */
  listenTcp(
    options: ListenOptions,
    onOpen: (socket: TcpSocket) => SocketHandlers,
  ): Promise<TcpListener>;
  /**
   * Whether a socket's `data` bytes live in a read buffer the runtime reuses (Deno here, which
   * recycles its large read buffers), so that a consumer keeping them must copy them; Bun hands over
   * a fresh buffer each time (checked by runtime_test.ts).
   */
  readonly lendsReadBuffers: boolean;
  /** Whether `connectTcp` accepts `localAddress`. */
  readonly bindsLocalAddress: boolean;
  /**
   * Open a connection. Returns at once; `onOpen` runs once connected, `handlers.close` with an error
   * if connecting fails.
   */
  connectTcp(
    options: ConnectOptions,
    handlers: SocketHandlers & { open(socket: TcpSocket): void },
  ): TcpSocket;
  /** A web-standard HTTP server (admin endpoints, the built-in echo upstream). */
  serveHttp(options: { hostname: string; port: number; reusePort?: boolean }, handler: HttpHandler): Promise<HttpServer>;
  /** A port free right now on `hostname` (bound and released at once: another process may take it). */
  freePort(hostname: string): Promise<number>;
  /** Register a signal handler; returns a function that removes it. Main thread only. */
  onSignal(signal: SignalName, handler: () => void): () => void;
  /** Resolve a host name to IPv4 addresses. */
  resolveIPv4(hostname: string): Promise<string[]>;
  readTextFile(path: string): Promise<string>;
  /** Resident set size of the whole process, bytes. */
  rss(): number;
  /** User + system CPU time of the process, microseconds. */
  cpuUsageMicros(): number;
  readonly pid: number;
  cpuCount(): number;
  env(name: string): string | undefined;
  exit(code: number): never;
}
