/**
 * The proxy inside one worker: binds every listener with SO_REUSEPORT, owns the connections the
 * kernel hands it, applies new snapshots between requests (adding and draining listeners, keeping
 * unchanged clusters' pooled connections), enforces connection limits and timeouts, and drains on
 * request.
 *
 * @module
 */
import type { Listener } from "../config/types.ts";
import type { Runtime, SocketHandlers, TcpListener, TcpSocket } from "../runtime/types.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { BoundListener, DrainOptions, InitOptions, UpdateResult } from "../worker/messages.ts";
import type { WorkerMode } from "../worker/worker_host.ts";
import { ClusterRuntime } from "./cluster.ts";
import { ConnectionLimits } from "./connection_limits.ts";
import { Deadlines } from "./deadlines.ts";
import type { WorkerContext } from "./context.ts";
import { DownstreamConnection, type DownstreamHost } from "./downstream.ts";
import { type ListenerSlot, ListenerRuntime, ListenerStats, listenerStatPrefix } from "./listener.ts";
import type { EdgeSnapshot } from "./snapshot.ts";

interface BoundSlot {
  slot: ListenerSlot;
  tcp: TcpListener;
  /** The listener config it was bound with: an address change means a new listener. */
  config: Listener;
}

/** How often connections are checked against idle and header timeouts. */
const SWEEP_MS = 250;

/** Handlers for a connection refused by a limit: it is closed before a byte is read. */
const REFUSED: SocketHandlers = { data() {}, drain() {}, close() {} };

export class EdgeWorker implements WorkerMode, DownstreamHost {
  ctx!: WorkerContext;
  clusters = new Map<string, ClusterRuntime>();
  private listeners = new Map<string, BoundSlot>();
  private open = new Set<DownstreamConnection>();
  private onEmpty: (() => void) | null = null;
  private snapshot!: EdgeSnapshot;
  private resolvedPorts: Record<string, number> = {};

  constructor(private runtime: Runtime) {}

  async start(init: InitOptions, dispatcher: Dispatcher): Promise<BoundListener[]> {
    const snap = init.payload as EdgeSnapshot;
    this.snapshot = snap;
    this.resolvedPorts = init.resolvedPorts;
    this.ctx = {
      runtime: this.runtime,
      dispatcher,
      workerId: init.workerId,
      draining: false,
      drain: null,
      limits: new ConnectionLimits(snap.limits, init.workerId),
      deadlines: new Deadlines(),
    };
    this.applyClusters(snap);
    const bound: BoundListener[] = [];
    for (const l of snap.bootstrap.listeners) bound.push(await this.bind(l));
    setInterval(() => this.sweep(), SWEEP_MS);
    return bound;
  }

  private async bind(config: Listener): Promise<BoundListener> {
    const scope = this.ctx.dispatcher.stats;
    const port = config.address.port === 0 ? this.resolvedPorts[config.name] ?? 0 : config.address.port;
    let slot: ListenerSlot | null = null;
    let tcp: TcpListener;
    try {
      tcp = await this.runtime.listenTcp({
        hostname: config.address.address,
        port,
        reusePort: true,
        // Half-open only for upgraded streams (see DownstreamConnection.end); an HTTP one closes on the client's FIN.
        halfOpen: true,
        onAcceptError: () => slot?.stats.cxAcceptError.inc(),
        // A worker that cannot accept must not look alive: end it, and the pool starts one that binds again.
        onListenerLost: (e) =>
          setTimeout(() => {
            throw new Error(`listener "${config.name}" stopped accepting: ${e.message}`);
          }),
      }, (socket) => this.accept(socket, slot!));
    } catch (e) {
      throw new Error(`listener "${config.name}" cannot bind ${config.address.address}:${port}: ${e instanceof Error ? e.message : e}`);
    }
    slot = {
      current: new ListenerRuntime(config, scope),
      stats: new ListenerStats(scope, listenerStatPrefix(config.address.address, tcp.port), this.ctx.workerId),
      index: this.snapshot.listenerIndex[config.name] ?? 0,
      removed: false,
    };
    this.listeners.set(config.name, { slot, tcp, config });
    return { name: config.name, hostname: tcp.hostname, port: tcp.port };
  }

  private accept(socket: TcpSocket, slot: ListenerSlot): SocketHandlers {
    const verdict = this.ctx.limits.tryOpen(slot.index, slot.current.config.maxConnections, this.snapshot.bootstrap.globalDownstreamMaxConnections);
    if (verdict !== "ok") {
      (verdict === "global_overflow" ? slot.stats.globalCxOverflow : slot.stats.cxOverflow).inc();
      queueMicrotask(() => socket.destroy());
      return REFUSED;
    }
    const conn = new DownstreamConnection(socket, slot, this);
    this.open.add(conn);
    return conn;
  }

  private applyClusters(snap: EdgeSnapshot): void {
    const next = new Map<string, ClusterRuntime>();
    for (const c of snap.bootstrap.clusters) {
      const endpoints = snap.endpoints[c.name] ?? c.endpoints;
      const existing = this.clusters.get(c.name);
      if (existing !== undefined && JSON.stringify(existing.config) === JSON.stringify(c)) {
        existing.setEndpoints(endpoints);
        next.set(c.name, existing);
      } else {
        // A changed cluster is a new one with new hosts, whose stats start at 0; its cluster.<name>.*
        // stats carry over (Envoy builds it while the old one still holds the same-named stats).
        existing?.retire();
        next.set(c.name, new ClusterRuntime(this.ctx, c, endpoints, existing?.stats));
      }
    }
    for (const [name, old] of this.clusters) if (!next.has(name)) old.remove();
    this.clusters = next;
  }

  async update(payload: unknown): Promise<UpdateResult> {
    const snap = payload as EdgeSnapshot;
    this.snapshot = snap;
    this.resolvedPorts = { ...this.resolvedPorts, ...snap.resolvedPorts };
    this.applyClusters(snap);
    const scope = this.ctx.dispatcher.stats;
    const errors: string[] = [];
    const wanted = new Map(snap.bootstrap.listeners.map((l) => [l.name, l]));
    // Removed listeners, and listeners whose address changed, stop accepting and drain.
    for (const [name, bound] of this.listeners) {
      const next = wanted.get(name);
      if (next !== undefined && sameAddress(next, bound.config)) continue;
      bound.tcp.close();
      bound.slot.removed = true;
      this.listeners.delete(name);
      for (const conn of this.open) if (conn.slot === bound.slot) conn.closeWhenIdle();
    }
    for (const l of snap.bootstrap.listeners) {
      const bound = this.listeners.get(l.name);
      if (bound !== undefined) {
        // New requests on existing connections pick up the new routes.
        bound.slot.current = new ListenerRuntime(l, scope);
        bound.config = l;
        continue;
      }
      if (this.ctx.draining) continue;
      try {
        await this.bind(l);
      } catch (e) {
        errors.push(e instanceof Error ? e.message : String(e));
      }
    }
    const listeners = [...this.listeners.values()].map(({ slot, tcp }) => ({ name: slot.current.config.name, hostname: tcp.hostname, port: tcp.port }));
    return { listeners, errors };
  }

  /** Idle and request-header timeouts, checked for every connection a few times a second. */
  private sweep(): void {
    if (this.open.size === 0) return;
    const loop = this.ctx.dispatcher.loop;
    loop.enter();
    // The clock connections stamp their activity with (loop.wallNow), so a wall-clock step cannot expire them.
    for (const conn of this.open) conn.checkTimeouts(loop.wallNow(), loop.now());
    loop.leave();
  }

  onConnectionClosed(conn: DownstreamConnection): void {
    this.open.delete(conn);
    this.ctx.limits.close(conn.slot.index);
    if (this.open.size === 0) this.onEmpty?.();
  }

  drain(options: DrainOptions): Promise<void> {
    this.ctx.draining = true;
    this.ctx.drain = { ...options, startedAt: performance.now() };
    for (const { tcp } of this.listeners.values()) tcp.close();
    if (options.closeIdle) for (const conn of [...this.open]) conn.closeWhenIdle();
    // A hot-restart parent keeps idle keep-alive connections for the drain time, then closes them.
    else setTimeout(() => [...this.open].forEach((conn) => conn.closeWhenIdle()), options.drainTimeMs);
    for (const c of this.clusters.values()) c.closeIdle();
    return new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        for (const c of this.clusters.values()) c.closeIdle();
        resolve();
      };
      const timer = setTimeout(() => {
        for (const conn of [...this.open]) conn.reset();
        done();
      }, options.deadlineMs);
      if (this.open.size === 0) done();
      else this.onEmpty = done;
    });
  }
}

function sameAddress(a: Listener, b: Listener): boolean {
  return a.address.address === b.address.address && a.address.port === b.address.port;
}
