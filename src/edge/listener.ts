/**
 * A listener's per-worker runtime for one config snapshot: its router, limits and stats handles.
 * Connections read the current one through a {@linkcode ListenerSlot} at each new request, so a
 * new snapshot applies between requests.
 *
 * @module
 */
import type { Listener } from "../config/types.ts";
import type { Counter, Gauge, StatsScope } from "../stats/scope.ts";
import type { Histogram } from "../stats/histogram.ts";
import type { HeadLimits } from "./http1/types.ts";
import { Router } from "./router.ts";

/** `listener.<address>_<port>.` as Envoy names listener stats. */
export function listenerStatPrefix(address: string, port: number): string {
  return `listener.${address}_${port}.`;
}

export class HttpStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly cxDestroy: Counter;
  readonly cxRxBytes: Counter;
  readonly cxTxBytes: Counter;
  readonly cxProtocolError: Counter;
  readonly rqTotal: Counter;
  readonly rqActive: Gauge;
  readonly rqTime: Histogram;
  /** `downstream_rq_1xx` … `_5xx`, indexed by class - 1. */
  readonly rqByClass: Counter[];
  readonly noRoute: Counter;
  readonly noCluster: Counter;
  readonly rqDirectResponse: Counter;
  readonly rqRedirect: Counter;
  /** `request_timeout` fired. */
  readonly rqTimeout: Counter;
  /** `stream_idle_timeout` fired. */
  readonly rqIdleTimeout: Counter;
  /** An Upgrade or CONNECT refused because upgrades are not enabled where it matched. */
  readonly rqWsOnNonWsRoute: Counter;
  readonly rqHeaderOverflow: Counter;
  readonly cxDestroyRemoteActiveRq: Counter;
  /** weft reset the connection while a request was active (a timeout or a broken response after its head). */
  readonly cxDestroyLocalActiveRq: Counter;
  readonly rqHeaderTimeout: Counter;
  readonly cxIdleTimeout: Counter;
  /** A closing connection whose output stopped moving was closed at once (Envoy's delayed close timer). */
  readonly cxDelayedCloseTimeout: Counter;
  readonly cxMaxRequestsReached: Counter;
  /** Upgrades the upstream accepted (a 101 forwarded), and those still relaying, as Envoy counts them. */
  readonly cxUpgradesTotal: Counter;
  readonly cxUpgradesActive: Gauge;

  constructor(scope: StatsScope, statPrefix: string) {
    const p = `http.${statPrefix}.`;
    const c = (n: string) => scope.counter(p + n);
    this.cxTotal = c("downstream_cx_total");
    this.cxActive = scope.gauge(p + "downstream_cx_active");
    this.cxDestroy = c("downstream_cx_destroy");
    this.cxRxBytes = c("downstream_cx_rx_bytes_total");
    this.cxTxBytes = c("downstream_cx_tx_bytes_total");
    this.cxProtocolError = c("downstream_cx_protocol_error");
    this.rqTotal = c("downstream_rq_total");
    this.rqActive = scope.gauge(p + "downstream_rq_active");
    this.rqTime = scope.histogram(p + "downstream_rq_time");
    this.rqByClass = [1, 2, 3, 4, 5].map((k) => c(`downstream_rq_${k}xx`));
    this.noRoute = c("no_route");
    this.noCluster = c("no_cluster");
    this.rqDirectResponse = c("rq_direct_response");
    this.rqRedirect = c("rq_redirect");
    this.rqTimeout = c("downstream_rq_timeout");
    this.rqIdleTimeout = c("downstream_rq_idle_timeout");
    this.rqWsOnNonWsRoute = c("downstream_rq_ws_on_non_ws_route");
    this.cxUpgradesTotal = c("downstream_cx_upgrades_total");
    this.cxUpgradesActive = scope.gauge(p + "downstream_cx_upgrades_active");
    this.rqHeaderOverflow = c("downstream_rq_header_overflow");
    this.cxDestroyRemoteActiveRq = c("downstream_cx_destroy_remote_active_rq");
    this.cxDestroyLocalActiveRq = c("downstream_cx_destroy_local_active_rq");
    this.rqHeaderTimeout = c("downstream_rq_header_timeout");
    this.cxIdleTimeout = c("downstream_cx_idle_timeout");
    this.cxDelayedCloseTimeout = c("downstream_cx_delayed_close_timeout");
    this.cxMaxRequestsReached = c("downstream_cx_max_requests_reached");
  }
}

export class ListenerStats {
  readonly cxTotal: Counter;
  readonly cxActive: Gauge;
  readonly workerCxTotal: Counter;
  readonly workerCxActive: Gauge;
  /** Refused by the listener's max_connections / the global downstream limit (Envoy's names). */
  readonly cxOverflow: Counter;
  readonly globalCxOverflow: Counter;
  /**
   * Accepts that failed (the client reset first, no file descriptor left). Envoy has no counter for
   * them (it retries on the next socket event); the name follows its `downstream_cx_*` ones.
   */
  readonly cxAcceptError: Counter;
  constructor(scope: StatsScope, prefix: string, workerId: number) {
    this.cxOverflow = scope.counter(prefix + "downstream_cx_overflow");
    this.globalCxOverflow = scope.counter(prefix + "downstream_global_cx_overflow");
    this.cxAcceptError = scope.counter(prefix + "downstream_cx_accept_error");
    this.cxTotal = scope.counter(prefix + "downstream_cx_total");
    this.cxActive = scope.gauge(prefix + "downstream_cx_active");
    this.workerCxTotal = scope.counter(`${prefix}worker_${workerId}.downstream_cx_total`);
    this.workerCxActive = scope.gauge(`${prefix}worker_${workerId}.downstream_cx_active`);
  }
}

export class ListenerRuntime {
  readonly router: Router;
  readonly limits: HeadLimits;
  readonly http: HttpStats;

  constructor(readonly config: Listener, scope: StatsScope) {
    this.router = new Router(config.http.routeConfig);
    this.limits = { maxHeadBytes: config.http.maxRequestHeadersBytes, maxHeaders: config.http.maxHeadersCount };
    this.http = new HttpStats(scope, config.http.statPrefix);
  }
}

/** The current runtime of one listener; replaced whole on a new snapshot. */
export interface ListenerSlot {
  current: ListenerRuntime;
  /** Listener stats are tied to the bound address, which does not change under a slot. */
  stats: ListenerStats;
  /** Column in the shared connection-limit counters. */
  index: number;
  /** The listener left the config: its connections close after their current request. */
  removed: boolean;
}
