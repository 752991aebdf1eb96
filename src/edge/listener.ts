/**
 * A listener's per-worker runtime for one config snapshot: its router, limits and stats handles.
 * Connections read the current one through a {@linkcode ListenerSlot} at each new request, so a
 * new snapshot applies between requests.
 *
 * @module
 */
import type { CidrRange, FilterChain, HttpConnectionManager, Listener } from "../config/types.ts";
import type { Counter, Gauge, StatsScope } from "../stats/scope.ts";
import type { Histogram } from "../stats/histogram.ts";
import type { HeadLimits } from "./http1/types.ts";
import { inCidrRanges } from "../net/cidr.ts";
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
  /** No filter chain matched and there is no default chain: the connection was closed. */
  readonly noFilterChainMatch: Counter;
  constructor(scope: StatsScope, prefix: string, workerId: number) {
    this.noFilterChainMatch = scope.counter(prefix + "no_filter_chain_match");
    this.cxOverflow = scope.counter(prefix + "downstream_cx_overflow");
    this.globalCxOverflow = scope.counter(prefix + "downstream_global_cx_overflow");
    this.cxAcceptError = scope.counter(prefix + "downstream_cx_accept_error");
    this.cxTotal = scope.counter(prefix + "downstream_cx_total");
    this.cxActive = scope.gauge(prefix + "downstream_cx_active");
    this.workerCxTotal = scope.counter(`${prefix}worker_${workerId}.downstream_cx_total`);
    this.workerCxActive = scope.gauge(`${prefix}worker_${workerId}.downstream_cx_active`);
  }
}

/** A listener as one of its HTTP filter chains sees it: the chain's connection manager as `http`. */
export type HttpListener = Listener & { http: HttpConnectionManager };

/** The runtime of one HTTP filter chain of a listener. */
export class ListenerRuntime {
  readonly router: Router;
  readonly limits: HeadLimits;
  readonly http: HttpStats;

  constructor(readonly config: HttpListener, scope: StatsScope) {
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

/** Where a connection came from and arrived, as filter chain matching reads it. */
export interface ConnectionAddresses {
  localPort: number;
  remoteAddress: string;
  remotePort: number;
}

/**
 * Picks a listener's filter chain for a connection as Envoy's FilterChainManagerImpl does: criterion
 * by criterion in Envoy's order (destination_port, then — after the TLS ones weft does not have —
 * transport_protocol, direct_source_prefix_ranges, source_type, source_prefix_ranges, source_ports),
 * the chains where the criterion matches most specifically go on (the longest prefix for ranges),
 * else those where it is empty; no backtracking. No chain left: the default chain, or null.
 *
 * @example
 * ```ts
 * const selector = new FilterChainSelector(listener);
 * const chain = selector.select({ localPort: 443, remoteAddress: "10.0.0.1", remotePort: 50000 });
 * ```
 */
export class FilterChainSelector {
  /** Each chain's ranges as one-range lists, so inCidrRanges compiles each once. */
  private readonly direct: CidrRange[][][];
  private readonly source: CidrRange[][][];

  constructor(readonly listener: Listener) {
    const singles = (ranges: CidrRange[]) => ranges.map((r) => [r]);
    this.direct = listener.filterChains.map((c) => singles(c.match.directSourcePrefixRanges));
    this.source = listener.filterChains.map((c) => singles(c.match.sourcePrefixRanges));
  }

  /** The index of the chosen chain in `filterChains`, -1 for the default chain, null for none. */
  selectIndex(conn: ConnectionAddresses): number | null {
    const chains = this.listener.filterChains;
    let candidates = chains.map((_, i) => i);
    const loopbackOrSame = isLoopback(conn.remoteAddress) || conn.remoteAddress === this.listener.address.address;
    const levels: ((i: number) => number | null)[] = [
      (i) => exactOrAny(chains[i]!.match.destinationPort, conn.localPort),
      // No listener filter detects a transport protocol yet, so every connection is raw_buffer.
      (i) => chains[i]!.match.transportProtocol === "" ? null : chains[i]!.match.transportProtocol === "raw_buffer" ? 0 : -1,
      (i) => longestPrefix(this.direct[i]!, conn.remoteAddress),
      (i) => {
        const t = chains[i]!.match.sourceType;
        return t === "ANY" ? null : (t === "SAME_IP_OR_LOOPBACK") === loopbackOrSame ? 0 : -1;
      },
      (i) => longestPrefix(this.source[i]!, conn.remoteAddress),
      (i) => chains[i]!.match.sourcePorts.length === 0 ? null : chains[i]!.match.sourcePorts.includes(conn.remotePort) ? 0 : -1,
    ];
    for (const score of levels) {
      candidates = narrow(candidates, score);
      if (candidates.length === 0) break;
    }
    // Identical matches are refused by the config, so at most one chain is left.
    const [chosen] = candidates;
    if (chosen !== undefined) return chosen;
    return this.listener.defaultFilterChain === null ? null : -1;
  }

  /** The chosen chain, or null. */
  select(conn: ConnectionAddresses): FilterChain | null {
    const i = this.selectIndex(conn);
    return i === null ? null : i === -1 ? this.listener.defaultFilterChain : this.listener.filterChains[i]!;
  }
}

/**
 * One level of the match: a score per candidate is null (criterion empty), -1 (no match) or the
 * specificity of a match. The best-scoring matches go on; without any, the empty ones.
 */
function narrow(candidates: number[], score: (i: number) => number | null): number[] {
  let best = -1;
  const scored = candidates.map((i) => {
    const s = score(i);
    if (s !== null && s > best) best = s;
    return s;
  });
  if (best >= 0) return candidates.filter((_, k) => scored[k] === best);
  return candidates.filter((_, k) => scored[k] === null);
}

function exactOrAny(wanted: number | null, actual: number): number | null {
  return wanted === null ? null : wanted === actual ? 0 : -1;
}

/** The longest prefix among `ranges` holding `address`; null without ranges, -1 when none holds it. */
function longestPrefix(ranges: CidrRange[][], address: string): number | null {
  if (ranges.length === 0) return null;
  let best = -1;
  for (const one of ranges) {
    const len = one[0]!.prefixLen;
    if (len > best && inCidrRanges(address, one)) best = len;
  }
  return best;
}

function isLoopback(address: string): boolean {
  return address.startsWith("127.") || address === "::1" || address.startsWith("::ffff:127.");
}
