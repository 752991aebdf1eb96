/**
 * A cluster as one worker sees it: its hosts, its load balancer, and per host a pool of idle
 * HTTP/1.1 upstream connections (Envoy's per-worker connection pools). Idle connections keep a read
 * pending, so one the upstream closes leaves the pool at once instead of failing the next request.
 *
 * @module
 */
import type { Cluster, Endpoint } from "../config/types.ts";
import type { Counter, Gauge, StatsScope } from "../stats/scope.ts";
import type { Histogram } from "../stats/histogram.ts";
import type { SocketHandlers, TcpSocket } from "../runtime/types.ts";
import type { QueueEntry } from "../worker/queue_tracker.ts";
import { type Balanced, createLoadBalancer, type LoadBalancer } from "./load_balancer.ts";
import type { WorkerContext } from "./context.ts";

/** The request that currently owns an upstream connection. */
export interface UpstreamUser {
  onUpstreamConnected(conn: UpstreamConnection): void;
  /** Connecting failed: refused, reset or timed out. */
  onUpstreamConnectFailed(conn: UpstreamConnection, reason: "connection failure" | "connection timeout"): void;
  onUpstreamData(conn: UpstreamConnection, bytes: Uint8Array): void;
  onUpstreamDrain(conn: UpstreamConnection): void;
  onUpstreamClose(conn: UpstreamConnection, error?: Error): void;
  /** The upstream's FIN (half-close); returns true when the user takes it (an upgraded stream), else the connection closes. */
  onUpstreamEnd?(conn: UpstreamConnection): boolean;
}

/**
 * A cluster's `cluster.<name>.*` stats. As in Envoy they outlive a change of the cluster's config
 * (the changed cluster takes them over) and go when the cluster leaves the config (`remove`).
 */
export class ClusterStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxConnectFail: Counter;
  readonly cxConnectTimeout: Counter;
  readonly cxNoneHealthy: Counter;
  readonly cxDestroyLocal: Counter;
  readonly cxDestroyRemote: Counter;
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqCompleted: Counter;
  readonly rqPendingTotal: Counter;
  readonly rqPendingActive: Gauge;
  readonly rqTimeout: Counter;
  readonly rqTime: Histogram;
  private byCode = new Map<number, Counter>();
  private onDemand = new Map<string, Counter>();
  private byClass: Counter[];
  /** Every stat name this cluster owns, so `remove` takes exactly these (a prefix would also match cluster `a.b`'s). */
  private names: string[] = [];

  constructor(private scope: StatsScope, readonly prefix: string) {
    const c = (n: string) => scope.counter(this.own(prefix + n));
    const g = (n: string) => scope.gauge(this.own(prefix + n));
    this.cxTotal = c("upstream_cx_total");
    this.cxActive = g("upstream_cx_active");
    this.cxConnectFail = c("upstream_cx_connect_fail");
    this.cxConnectTimeout = c("upstream_cx_connect_timeout");
    this.cxNoneHealthy = c("upstream_cx_none_healthy");
    this.cxDestroyLocal = c("upstream_cx_destroy_local");
    this.cxDestroyRemote = c("upstream_cx_destroy_remote");
    this.rqTotal = c("upstream_rq_total");
    this.rqActive = g("upstream_rq_active");
    this.rqCompleted = c("upstream_rq_completed");
    this.rqPendingTotal = c("upstream_rq_pending_total");
    this.rqPendingActive = g("upstream_rq_pending_active");
    this.rqTimeout = c("upstream_rq_timeout");
    this.rqTime = scope.histogram(this.own(prefix + "upstream_rq_time"));
    this.byClass = [1, 2, 3, 4, 5].map((k) => c(`upstream_rq_${k}xx`));
  }

  /** `upstream_rq_<code>` and `upstream_rq_<class>xx`. */
  countResponse(code: number): void {
    let counter = this.byCode.get(code);
    if (counter === undefined) this.byCode.set(code, counter = this.scope.counter(this.own(`${this.prefix}upstream_rq_${code}`)));
    counter.inc();
    this.byClass[Math.floor(code / 100) - 1]?.inc();
    this.rqCompleted.inc();
  }

  /**
   * A counter of this cluster that only some users count (tcp_proxy's `upstream_cx_rx_bytes_total`,
   * say), made on first use and owned like the others, so `remove` takes it along.
   */
  counter(stat: string): Counter {
    let counter = this.onDemand.get(stat);
    if (counter === undefined) this.onDemand.set(stat, counter = this.scope.counter(this.own(this.prefix + stat)));
    return counter;
  }

  /** The cluster left the config: forget its stats, here and (with the next flush) on main. */
  remove(): void {
    this.scope.remove(this.names);
  }

  private own(name: string): string {
    this.names.push(name);
    return name;
  }
}

/**
 * Per-host figures for `/clusters`, kept as hidden stats so main can merge them like any other. As
 * in Envoy, they live as long as the host: `remove` drops them when the host leaves its cluster.
 */
export class HostStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxConnectFail: Counter;
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqError: Counter;
  readonly rqSuccess: Counter;
  readonly rqTimeout: Counter;
  constructor(private scope: StatsScope, private prefix: string) {
    this.cxTotal = scope.counter(prefix + "cx_total");
    this.cxActive = scope.gauge(prefix + "cx_active");
    this.cxConnectFail = scope.counter(prefix + "cx_connect_fail");
    this.rqTotal = scope.counter(prefix + "rq_total");
    this.rqActive = scope.gauge(prefix + "rq_active");
    this.rqError = scope.counter(prefix + "rq_error");
    this.rqSuccess = scope.counter(prefix + "rq_success");
    this.rqTimeout = scope.counter(prefix + "rq_timeout");
  }

  /** Forget these stats, here and (with the next flush) on main. */
  remove(): void {
    const p = this.prefix;
    this.scope.remove(HOST_STAT_NAMES.map((n) => p + n));
  }
}

/** The names of Envoy's per-host stats that weft keeps (under `~host.<cluster>.<address>:<port>.`). */
export const HOST_STAT_NAMES = ["cx_total", "cx_active", "cx_connect_fail", "rq_total", "rq_active", "rq_error", "rq_success", "rq_timeout"];

export class Host implements Balanced {
  activeRequests = 0;
  currentWeight = 0;
  readonly idle: UpstreamConnection[] = [];
  readonly stats: HostStats;
  /** False once the host left the cluster: its connections close instead of returning to the pool. */
  member = true;
  constructor(readonly cluster: ClusterRuntime, readonly address: string, readonly port: number, public weight: number) {
    this.stats = new HostStats(cluster.ctx.dispatcher.stats, `~host.${cluster.name}.${address}:${port}.`);
  }
  get key(): string {
    return `${this.address}:${this.port}`;
  }
}

export class UpstreamConnection implements SocketHandlers {
  socket!: TcpSocket;
  user: UpstreamUser | null;
  connected = false;
  /** Requests sent on this connection so far (a reused one may have been closed by the upstream). */
  requests = 0;
  private connectTimer: ReturnType<typeof setTimeout> | null = null;
  private pending: QueueEntry | null = null;

  constructor(readonly host: Host, user: UpstreamUser) {
    this.user = user;
  }

  connect(): void {
    const cluster = this.host.cluster;
    const ctx = cluster.ctx;
    cluster.stats.cxTotal.inc();
    this.host.stats.cxTotal.inc();
    cluster.stats.rqPendingTotal.inc();
    cluster.stats.rqPendingActive.inc();
    this.pending = ctx.dispatcher.queues.enqueue(cluster.queueName);
    this.connectTimer = setTimeout(() => this.connectFailed("connection timeout"), cluster.config.connectTimeoutMs);
    // Half-open only for upgraded streams (see `end`); an HTTP exchange's connection closes on the upstream's FIN.
    this.socket = ctx.runtime.connectTcp({ hostname: this.host.address, port: this.host.port, halfOpen: true }, {
      open: () => {
        const loop = ctx.dispatcher.loop;
        loop.enter();
        this.connected = true;
        this.endPending();
        cluster.stats.cxActive.inc();
        this.host.stats.cxActive.inc();
        this.user?.onUpstreamConnected(this);
        loop.leave();
      },
      data: (s, b) => this.data(s, b),
      drain: (s) => this.drain(s),
      end: (s) => this.end(s),
      close: (s, e) => this.close(s, e),
    });
  }

  private endPending(): void {
    if (this.connectTimer !== null) clearTimeout(this.connectTimer);
    this.connectTimer = null;
    if (this.pending !== null) {
      this.host.cluster.ctx.dispatcher.queues.dequeue(this.pending);
      this.pending = null;
      this.host.cluster.stats.rqPendingActive.dec();
    }
  }

  private connectFailed(reason: "connection failure" | "connection timeout"): void {
    if (this.connected || this.pending === null) return;
    this.endPending();
    const stats = this.host.cluster.stats;
    stats.cxConnectFail.inc();
    if (reason === "connection timeout") stats.cxConnectTimeout.inc();
    this.host.stats.cxConnectFail.inc();
    const user = this.user;
    this.user = null;
    this.socket.destroy();
    user?.onUpstreamConnectFailed(this, reason);
  }

  data(_s: TcpSocket, bytes: Uint8Array): void {
    const loop = this.host.cluster.ctx.dispatcher.loop;
    loop.enter();
    if (this.user !== null) this.user.onUpstreamData(this, bytes);
    else {
      // Bytes on an idle connection are a protocol error: drop the connection, not a later request.
      this.destroy();
    }
    loop.leave();
  }

  drain(_s: TcpSocket): void {
    this.user?.onUpstreamDrain(this);
  }

  /** The upstream's FIN: an upgraded stream relays it; otherwise the connection closes once written, as before half-open. */
  end(s: TcpSocket): void {
    const user = this.user;
    if (user?.onUpstreamEnd !== undefined && user.onUpstreamEnd(this)) return;
    s.closeAfterWrites();
  }

  close(_s: TcpSocket, error?: Error): void {
    if (!this.connected) {
      this.connectFailed("connection failure");
      return;
    }
    const loop = this.host.cluster.ctx.dispatcher.loop;
    loop.enter();
    this.connected = false;
    const cluster = this.host.cluster;
    cluster.stats.cxActive.dec();
    this.host.stats.cxActive.dec();
    const i = this.host.idle.indexOf(this);
    if (i >= 0) this.host.idle.splice(i, 1);
    if (!this.closedLocally) cluster.stats.cxDestroyRemote.inc();
    const user = this.user;
    this.user = null;
    user?.onUpstreamClose(this, error);
    loop.leave();
  }

  private closedLocally = false;

  /** Close now (an aborted or broken exchange). */
  destroy(): void {
    if (this.socket.closed) return;
    this.closedLocally = true;
    this.host.cluster.stats.cxDestroyLocal.inc();
    this.user = null;
    this.socket.destroy();
  }

  write(bytes: Uint8Array, start = 0, end = bytes.byteLength): boolean {
    return this.socket.write(bytes, start, end);
  }
}

export class ClusterRuntime {
  readonly stats: ClusterStats;
  readonly lb: LoadBalancer;
  hosts: Host[] = [];
  readonly queueName: string;

  /** `stats`: those of the cluster this one replaces (its config changed), which carry over as in Envoy. */
  constructor(readonly ctx: WorkerContext, readonly config: Cluster, endpoints: Endpoint[], stats?: ClusterStats) {
    this.stats = stats ?? new ClusterStats(ctx.dispatcher.stats, `cluster.${config.name}.`);
    this.lb = createLoadBalancer(config.lbPolicy);
    this.queueName = `upstream:${config.name}`;
    this.setEndpoints(endpoints);
  }

  get name(): string {
    return this.config.name;
  }

  /** Replace the host set, keeping hosts (and their pooled connections) whose address is unchanged. */
  setEndpoints(endpoints: Endpoint[]): void {
    const old = new Map(this.hosts.map((h) => [h.key, h]));
    const next: Host[] = [];
    for (const e of endpoints) {
      const key = `${e.address.address}:${e.address.port}`;
      const kept = old.get(key);
      if (kept) {
        kept.weight = e.weight;
        old.delete(key);
        next.push(kept);
      } else next.push(new Host(this, e.address.address, e.address.port, e.weight));
    }
    for (const gone of old.values()) {
      gone.member = false;
      for (const c of gone.idle.splice(0)) c.destroy();
      gone.stats.remove();
    }
    this.hosts = next;
  }

  pickHost(): Host | null {
    return this.lb.pick(this.hosts);
  }

  /**
   * An idle pooled connection to `host`, handed to `user` (already `connected`: reused);
   * or a new one, connecting.
   */
  acquire(host: Host, user: UpstreamUser): UpstreamConnection {
    const idle = host.idle.pop();
    if (idle !== undefined && !idle.socket.closed) {
      idle.user = user;
      return idle;
    }
    const conn = new UpstreamConnection(host, user);
    conn.connect();
    return conn;
  }

  /** Return a connection whose exchange finished cleanly. */
  release(conn: UpstreamConnection): void {
    conn.user = null;
    if (!conn.host.member || conn.socket.closed || this.ctx.draining) {
      conn.destroy();
      return;
    }
    conn.host.idle.push(conn);
  }

  /** Close every pooled connection (drain, cluster removed). */
  closeIdle(): void {
    for (const h of this.hosts) for (const c of h.idle.splice(0)) c.destroy();
  }

  /**
   * A changed config replaces this cluster: close its pooled connections and drop its hosts' stats
   * (the new cluster's hosts are new, as in Envoy); the cluster's own stats pass to the new one.
   */
  retire(): void {
    this.closeIdle();
    for (const h of this.hosts) {
      h.member = false;
      h.stats.remove();
    }
  }

  /** The cluster left the config: retire it and drop its `cluster.<name>.*` stats too. */
  remove(): void {
    this.retire();
    this.stats.remove();
  }
}
