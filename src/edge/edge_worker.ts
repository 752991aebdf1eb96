/**
 * The proxy inside one worker: binds every listener with SO_REUSEPORT, owns the connections the
 * kernel hands it, applies new snapshots between requests (adding and draining listeners, keeping
 * unchanged clusters' pooled connections), enforces connection limits and timeouts, and drains on
 * request.
 *
 * @module
 */
import type { HttpConnectionManager, Listener } from "../config/types.ts";
import type { Runtime, SocketHandlers, TcpListener, TcpSocket } from "../runtime/types.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { BoundListener, DrainOptions, InitOptions, UpdateResult } from "../worker/messages.ts";
import type { WorkerMode } from "../worker/worker_host.ts";
import { ClusterRuntime } from "./cluster.ts";
import { ConnectionLimits } from "./connection_limits.ts";
import { Deadlines } from "./deadlines.ts";
import type { WorkerContext } from "./context.ts";
import { DownstreamConnection, type DownstreamHost } from "./downstream.ts";
import { FilterChainSelector, type ListenerSlot, ListenerRuntime, ListenerStats, listenerStatPrefix } from "./listener.ts";
import type { EdgeSnapshot } from "./snapshot.ts";
import { type TcpProxyHost, TcpProxyRuntime, TcpProxySession } from "./tcp_proxy.ts";

/** What a filter chain runs: an HTTP connection manager (its slot) or a TCP proxy. */
type ChainRuntime = { kind: "http"; slot: ListenerSlot } | { kind: "tcp_proxy"; proxy: TcpProxyRuntime };

interface BoundSlot {
  tcp: TcpListener;
  /** The listener config it was bound with: an address change means a new listener. */
  config: Listener;
  stats: ListenerStats;
  /** Column in the shared connection-limit counters. */
  index: number;
  selector: FilterChainSelector;
  /** One per `filter_chains` entry, in order, then the default chain's if any. */
  chains: ChainRuntime[];
  /** Bound half-open (a TCP proxy relays each direction's FIN alone). */
  halfOpen: boolean;
}

/** How often connections are checked against idle and header timeouts. */
const SWEEP_MS = 250;

/** Handlers for a connection refused by a limit: it is closed before a byte is read. */
const REFUSED: SocketHandlers = { data() {}, drain() {}, close() {} };

export class EdgeWorker implements WorkerMode, DownstreamHost, TcpProxyHost {
  ctx!: WorkerContext;
  clusters = new Map<string, ClusterRuntime>();
  private listeners = new Map<string, BoundSlot>();
  private open = new Set<DownstreamConnection>();
  private tcpSessions = new Set<TcpProxySession>();
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
    let bound: BoundSlot | null = null;
    let tcp: TcpListener;
    const halfOpen = needsHalfOpen(config);
    try {
      tcp = await this.runtime.listenTcp({
        hostname: config.address.address,
        port,
        reusePort: true,
        halfOpen,
        onAcceptError: () => bound?.stats.cxAcceptError.inc(),
        // A worker that cannot accept must not look alive: end it, and the pool starts one that binds again.
        onListenerLost: (e) =>
          setTimeout(() => {
            throw new Error(`listener "${config.name}" stopped accepting: ${e.message}`);
          }),
      }, (socket) => this.accept(socket, bound!));
    } catch (e) {
      throw new Error(`listener "${config.name}" cannot bind ${config.address.address}:${port}: ${e instanceof Error ? e.message : e}`);
    }
    const stats = new ListenerStats(scope, listenerStatPrefix(config.address.address, tcp.port), this.ctx.workerId);
    const index = this.snapshot.listenerIndex[config.name] ?? 0;
    bound = { tcp, config, stats, index, selector: new FilterChainSelector(config), chains: [], halfOpen };
    bound.chains = this.chainRuntimes(config, bound, []);
    this.listeners.set(config.name, bound);
    return { name: config.name, hostname: tcp.hostname, port: tcp.port };
  }

  /**
   * The runtimes of a listener's chains. An HTTP chain at the same position as an HTTP chain of
   * `previous` keeps its slot, so its open connections take the new routes at their next request;
   * the connections of other previous HTTP chains close after their current request.
   */
  private chainRuntimes(config: Listener, bound: BoundSlot, previous: ChainRuntime[]): ChainRuntime[] {
    const scope = this.ctx.dispatcher.stats;
    const all = config.defaultFilterChain === null ? config.filterChains : [...config.filterChains, config.defaultFilterChain];
    const kept = new Set<ListenerSlot>();
    const chains = all.map((chain, i): ChainRuntime => {
      if (chain.kind === "tcp_proxy") return { kind: "tcp_proxy", proxy: new TcpProxyRuntime(chain.tcpProxy, scope) };
      const current = new ListenerRuntime({ ...config, http: chain.http }, scope);
      const old = previous[i];
      if (old?.kind === "http") {
        old.slot.current = current;
        kept.add(old.slot);
        return old;
      }
      return { kind: "http", slot: { current, stats: bound.stats, index: bound.index, removed: false } };
    });
    for (const old of previous) if (old.kind === "http" && !kept.has(old.slot)) this.retireSlot(old.slot);
    return chains;
  }

  /** A slot whose chain left the config: its connections close after their current request. */
  private retireSlot(slot: ListenerSlot): void {
    slot.removed = true;
    for (const conn of this.open) if (conn.slot === slot) conn.closeWhenIdle();
  }

  private accept(socket: TcpSocket, bound: BoundSlot): SocketHandlers {
    const verdict = this.ctx.limits.tryOpen(bound.index, bound.config.maxConnections, this.snapshot.bootstrap.globalDownstreamMaxConnections);
    if (verdict !== "ok") {
      (verdict === "global_overflow" ? bound.stats.globalCxOverflow : bound.stats.cxOverflow).inc();
      queueMicrotask(() => socket.destroy());
      return REFUSED;
    }
    const i = bound.selector.selectIndex(socket);
    const chain = i === null ? undefined : bound.chains[i === -1 ? bound.chains.length - 1 : i];
    if (chain === undefined) {
      // Envoy closes it before it counts as a connection of the listener.
      bound.stats.noFilterChainMatch.inc();
      this.ctx.limits.close(bound.index);
      queueMicrotask(() => socket.destroy());
      return REFUSED;
    }
    if (chain.kind === "tcp_proxy") {
      const session = new TcpProxySession(socket, { name: bound.config.name, stats: bound.stats, index: bound.index }, chain.proxy, this);
      this.tcpSessions.add(session);
      return session.handlers;
    }
    const conn = new DownstreamConnection(socket, chain.slot, this);
    this.open.add(conn);
    // On a half-open socket the client's FIN arrives as `end`: the connection relays it if upgraded,
    // else closes once what was written is sent, as a socket that is not half-open does by itself.
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
    const errors: string[] = [];
    const wanted = new Map(snap.bootstrap.listeners.map((l) => [l.name, l]));
    // Removed listeners, and listeners whose address changed (or that now need half-open sockets, or
    // no longer do), stop accepting and drain.
    for (const [name, bound] of this.listeners) {
      const next = wanted.get(name);
      if (next !== undefined && sameAddress(next, bound.config) && needsHalfOpen(next) === bound.halfOpen) continue;
      bound.tcp.close();
      this.listeners.delete(name);
      for (const chain of bound.chains) if (chain.kind === "http") this.retireSlot(chain.slot);
    }
    for (const l of snap.bootstrap.listeners) {
      const bound = this.listeners.get(l.name);
      if (bound !== undefined) {
        // New requests on existing connections pick up the new routes; new connections the new chains.
        bound.chains = this.chainRuntimes(l, bound, bound.chains);
        bound.selector = new FilterChainSelector(l);
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
    const listeners = [...this.listeners.values()].map(({ config, tcp }) => ({ name: config.name, hostname: tcp.hostname, port: tcp.port }));
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
    if (this.open.size === 0 && this.tcpSessions.size === 0) this.onEmpty?.();
  }

  onTcpSessionClosed(session: TcpProxySession): void {
    this.tcpSessions.delete(session);
    this.ctx.limits.close(session.listener.index);
    if (this.open.size === 0 && this.tcpSessions.size === 0) this.onEmpty?.();
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
        // TCP proxy connections are not idle between requests: they go at the deadline, as in Envoy.
        for (const session of [...this.tcpSessions]) session.destroy();
        done();
      }, options.deadlineMs);
      if (this.open.size === 0 && this.tcpSessions.size === 0) done();
      else this.onEmpty = done;
    });
  }
}

function sameAddress(a: Listener, b: Listener): boolean {
  return a.address.address === b.address.address && a.address.port === b.address.port;
}

/**
 * Whether the listener's sockets must be half-open: a chain is a TCP proxy, or an HTTP one may relay
 * an upgrade (its HCM or a route has `upgrade_configs`), where a FIN is relayed, not a close.
 */
function needsHalfOpen(l: Listener): boolean {
  const chains = l.defaultFilterChain === null ? l.filterChains : [...l.filterChains, l.defaultFilterChain];
  return chains.some((c) => c.kind === "tcp_proxy" || mayUpgrade(c.http));
}

function mayUpgrade(hcm: HttpConnectionManager): boolean {
  if (hcm.upgradeConfigs.length > 0) return true;
  return hcm.routeConfig.virtualHosts.some((vh) => vh.routes.some((r) => r.action.type === "route" && r.action.upgradeConfigs.length > 0));
}
