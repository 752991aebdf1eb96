/**
 * `envoy.filters.network.tcp_proxy` in one worker: a downstream connection whose filter chain holds
 * it is joined to a new upstream connection of its cluster (weighted among `weighted_clusters`),
 * bytes relayed both ways with back-pressure and half-close by the shared relay (src/net/relay.ts).
 * Connecting is retried on another pick up to `max_connect_attempts`; no byte either way for
 * `idle_timeout` closes both sides. Stats are Envoy's: `tcp.<stat_prefix>.*` and the cluster's
 * `upstream_cx_*`.
 *
 * @module
 */
import type { TcpProxy } from "../config/types.ts";
import { relay, type RelayEnd, SocketEnd } from "../net/relay.ts";
import type { SocketHandlers, TcpSocket } from "../runtime/types.ts";
import type { Counter, Gauge, StatsScope } from "../stats/scope.ts";
import type { ConnectionRecord } from "../worker/connection_table.ts";
import type { TaskRecord } from "../worker/task_table.ts";
import type { ClusterRuntime, Host } from "./cluster.ts";
import type { WorkerContext } from "./context.ts";
import type { ListenerStats } from "./listener.ts";

/** `tcp.<stat_prefix>.*`, Envoy's names. */
export class TcpProxyStats {
  readonly cxTotal: Counter;
  /** The cluster to connect to is not (or no longer) known to this worker. */
  readonly cxNoRoute: Counter;
  readonly cxRxBytes: Counter;
  readonly cxTxBytes: Counter;
  /** Reading from the client paused because the upstream does not take bytes fast enough, and resumed. */
  readonly pausedReading: Counter;
  readonly resumedReading: Counter;
  readonly idleTimeout: Counter;
  /** The client closed while bytes for the upstream were still queued: they are sent first. */
  readonly upstreamFlushTotal: Counter;
  readonly upstreamFlushActive: Gauge;

  constructor(scope: StatsScope, statPrefix: string) {
    const p = `tcp.${statPrefix}.`;
    this.cxTotal = scope.counter(p + "downstream_cx_total");
    this.cxNoRoute = scope.counter(p + "downstream_cx_no_route");
    this.cxRxBytes = scope.counter(p + "downstream_cx_rx_bytes_total");
    this.cxTxBytes = scope.counter(p + "downstream_cx_tx_bytes_total");
    this.pausedReading = scope.counter(p + "downstream_flow_control_paused_reading_total");
    this.resumedReading = scope.counter(p + "downstream_flow_control_resumed_reading_total");
    this.idleTimeout = scope.counter(p + "idle_timeout");
    this.upstreamFlushTotal = scope.counter(p + "upstream_flush_total");
    this.upstreamFlushActive = scope.gauge(p + "upstream_flush_active");
  }
}

/** One filter chain's tcp_proxy: its config, stats and cluster pick. */
export class TcpProxyRuntime {
  readonly stats: TcpProxyStats;
  private readonly totalWeight: number;

  constructor(readonly config: TcpProxy, scope: StatsScope) {
    this.stats = new TcpProxyStats(scope, config.statPrefix);
    this.totalWeight = config.clusters.reduce((sum, c) => sum + c.weight, 0);
  }

  /** A cluster name, each with a chance proportional to its weight (Envoy's weighted_clusters). */
  pickCluster(): string {
    const clusters = this.config.clusters;
    let r = Math.random() * this.totalWeight;
    for (const c of clusters) {
      r -= c.weight;
      if (r < 0) return c.name;
    }
    return clusters[clusters.length - 1]!.name;
  }
}

/** What a session needs from the worker that accepted it. */
export interface TcpProxyHost {
  readonly ctx: WorkerContext;
  readonly clusters: ReadonlyMap<string, ClusterRuntime>;
  onTcpSessionClosed(session: TcpProxySession): void;
}

/** Where the session was accepted. */
export interface TcpProxyListener {
  name: string;
  stats: ListenerStats;
  /** Column in the shared connection-limit counters. */
  index: number;
}

/**
 * One proxied connection: the client socket (half-open) and, once connected, one upstream socket.
 *
 * @example
 * ```ts
 * // In a listener's onOpen, for a connection whose chain holds a tcp_proxy:
 * // return new TcpProxySession(socket, listener, proxyRuntime, worker).handlers;
 * ```
 */
export class TcpProxySession {
  readonly downstream: SocketEnd;
  /** The client socket's handlers (the listener hands them to the runtime). */
  readonly handlers: SocketHandlers;
  readonly row: ConnectionRecord;
  private task: TaskRecord | null;
  private upstream: SocketEnd | null = null;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private idleTimer: ReturnType<typeof setTimeout> | null = null;
  private lastActivityAt = 0;
  private attempts = 0;
  private readonly clusterName: string;
  private finished = false;

  constructor(socket: TcpSocket, readonly listener: TcpProxyListener, readonly proxy: TcpProxyRuntime, readonly host: TcpProxyHost) {
    const ctx = host.ctx;
    const d = ctx.dispatcher;
    this.downstream = new SocketEnd(socket, ctx.runtime.lendsReadBuffers);
    this.handlers = this.downstream.handlers;
    // Until an upstream is connected the client's bytes are kept (its reading paused), as Envoy
    // read-disables the downstream connection meanwhile.
    this.downstream.onClose = () => {
      if (this.upstream === null || this.connectTimer !== null) this.finish();
    };
    this.row = d.connections.open(socket.remoteAddress, socket.remotePort, listener.name, "tcp");
    listener.stats.cxTotal.inc();
    listener.stats.cxActive.inc();
    listener.stats.workerCxTotal.inc();
    listener.stats.workerCxActive.inc();
    proxy.stats.cxTotal.inc();
    this.clusterName = proxy.pickCluster();
    this.task = d.tasks.start(this.row.id, listener.name, "TCP", this.clusterName, "connecting_upstream");
    this.task.cluster = this.clusterName;
    this.connect();
  }

  /** One connection attempt to a host of the cluster. */
  private connect(): void {
    const cluster = this.host.clusters.get(this.clusterName);
    if (cluster === undefined) {
      this.proxy.stats.cxNoRoute.inc();
      this.abort();
      return;
    }
    const target = cluster.pickHost();
    if (target === null) {
      cluster.stats.cxNoneHealthy.inc();
      this.abort();
      return;
    }
    this.attempts++;
    cluster.stats.cxTotal.inc();
    target.stats.cxTotal.inc();
    const ctx = this.host.ctx;
    const up = SocketEnd.connect(ctx.runtime, { hostname: target.address, port: target.port });
    this.upstream = up;
    let timedOut = false;
    this.connectTimer = setTimeout(() => {
      timedOut = true;
      up.destroy();
    }, cluster.config.connectTimeoutMs);
    up.opened.then(
      () => this.connected(cluster, target, up),
      () => this.connectFailed(cluster, target, timedOut),
    );
  }

  private connectFailed(cluster: ClusterRuntime, target: Host, timedOut: boolean): void {
    // The client left while connecting and the attempt was dropped: not an upstream failure.
    if (this.finished) return;
    this.clearConnectTimer();
    cluster.stats.cxConnectFail.inc();
    if (timedOut) cluster.stats.cxConnectTimeout.inc();
    target.stats.cxConnectFail.inc();
    this.upstream = null;
    if (this.downstream.closed) {
      this.finish();
      return;
    }
    if (this.attempts < this.proxy.config.maxConnectAttempts) {
      this.connect();
      return;
    }
    cluster.stats.counter("upstream_cx_connect_attempts_exceeded").inc();
    this.abort();
  }

  private connected(cluster: ClusterRuntime, target: Host, up: SocketEnd): void {
    if (this.finished) {
      up.destroy();
      return;
    }
    this.clearConnectTimer();
    const d = this.host.ctx.dispatcher;
    cluster.stats.cxActive.inc();
    target.stats.cxActive.inc();
    const stats = this.proxy.stats;
    /** weft closed the upstream (idle timeout, the client reset): upstream_cx_destroy_local, else _remote. */
    let closedByUs = false;
    /** The client left with bytes for the upstream still queued: they are being flushed. */
    let flushing = false;
    up.onClose = () => {
      cluster.stats.cxActive.dec();
      target.stats.cxActive.dec();
      (closedByUs ? cluster.stats.cxDestroyLocal : cluster.stats.cxDestroyRemote).inc();
      if (flushing) stats.upstreamFlushActive.dec();
    };
    if (this.task !== null) d.tasks.finish(this.task);
    this.task = null;
    const upRx = cluster.stats.counter("upstream_cx_rx_bytes_total");
    const upTx = cluster.stats.counter("upstream_cx_tx_bytes_total");
    const row = this.row;
    const loop = d.loop;
    const touch = () => {
      this.lastActivityAt = loop.now();
      row.lastActivityAt = loop.wallNow();
      d.connections.touch(row);
    };
    const down: RelayEnd = wrapEnd(this.downstream, {
      pause: () => stats.pausedReading.inc(),
      resume: () => stats.resumedReading.inc(),
    });
    const upEnd: RelayEnd = wrapEnd(up, {
      closeAfterFlush: () => {
        if (up.socket !== null && up.socket.pendingBytes > 0 && !flushing) {
          flushing = true;
          stats.upstreamFlushTotal.inc();
          stats.upstreamFlushActive.inc();
        }
      },
      destroy: () => (closedByUs = true),
    });
    this.startIdleTimer(() => {
      closedByUs = true;
    });
    touch();
    relay(down, upEnd, {
      onUp: (n) => {
        stats.cxRxBytes.inc(n);
        upTx.inc(n);
        row.bytesIn += n;
        touch();
      },
      onDown: (n) => {
        stats.cxTxBytes.inc(n);
        upRx.inc(n);
        row.bytesOut += n;
        touch();
      },
      busy: loop,
    }).then(() => this.finish());
  }

  /** Closes both sides once nothing moved either way for `idle_timeout` (0: never). */
  private startIdleTimer(beforeClose: () => void): void {
    const timeoutMs = this.proxy.config.idleTimeoutMs;
    if (timeoutMs <= 0) return;
    const check = () => {
      const idleMs = performance.now() - this.lastActivityAt;
      if (idleMs < timeoutMs) {
        this.idleTimer = setTimeout(check, timeoutMs - idleMs);
        return;
      }
      this.idleTimer = null;
      this.proxy.stats.idleTimeout.inc();
      beforeClose();
      this.upstream?.destroy();
      this.downstream.destroy();
    };
    this.idleTimer = setTimeout(check, timeoutMs);
  }

  /** Close the client connection: no upstream could be had. */
  private abort(): void {
    this.downstream.destroy();
    this.finish();
  }

  /** Close both sides now (the worker's drain deadline). */
  destroy(): void {
    this.upstream?.destroy();
    this.downstream.destroy();
  }

  private clearConnectTimer(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
  }

  private finish(): void {
    if (this.finished) return;
    this.finished = true;
    this.clearConnectTimer();
    if (this.idleTimer !== null) clearTimeout(this.idleTimer);
    this.idleTimer = null;
    const d = this.host.ctx.dispatcher;
    if (this.task !== null) d.tasks.finish(this.task);
    this.task = null;
    // A connect still in flight goes too (the client left).
    if (this.upstream !== null && !this.upstream.closed) this.upstream.destroy();
    d.connections.close(this.row);
    this.listener.stats.cxActive.dec();
    this.listener.stats.workerCxActive.dec();
    this.host.onTcpSessionClosed(this);
  }
}

/** `end` as a relay end, with hooks run before some of its methods. */
function wrapEnd(end: SocketEnd, hooks: { pause?(): void; resume?(): void; closeAfterFlush?(): void; destroy?(): void }): RelayEnd {
  return {
    lendsReads: end.lendsReads,
    attach: (sink) => end.attach(sink),
    write: (bytes) => end.write(bytes),
    end: () => end.end(),
    closeAfterFlush() {
      hooks.closeAfterFlush?.();
      end.closeAfterFlush();
    },
    destroy() {
      hooks.destroy?.();
      end.destroy();
    },
    pause() {
      hooks.pause?.();
      end.pause();
    },
    resume() {
      hooks.resume?.();
      end.resume();
    },
  };
}
