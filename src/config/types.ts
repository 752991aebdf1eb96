/**
 * The normalized bootstrap model: what `parseBootstrap` produces from an Envoy v3 static bootstrap
 * (YAML or JSON) and what main posts to workers as an immutable snapshot. Every field is plain data
 * (structured-cloneable: no functions, no RegExp, no Map), so a snapshot can cross `postMessage`.
 *
 * Durations are milliseconds; `0` means "disabled" where Envoy gives 0 that meaning.
 *
 * @module
 */

/** `address.socket_address`: Envoy's `address` + `port_value`. */
export interface SocketAddress {
  address: string;
  port: number;
}

/** The whole bootstrap after validation. */
export interface Bootstrap {
  /** `node.id` and `node.cluster` ("" when unset), shown by `/server_info` as Envoy does. */
  node: { id: string; cluster: string };
  /** `admin.address.socket_address`; absent means no admin endpoint, as in Envoy. */
  admin: SocketAddress | null;
  /** `stats_flush_interval`; weft's default is 1000 ms (Envoy's is 5 s) so the inspector is live. */
  statsFlushIntervalMs: number;
  listeners: Listener[];
  clusters: Cluster[];
  /** `watchdogs.worker_watchdog` (or the deprecated top-level `watchdog`). */
  watchdog: Watchdog;
  /** `overload_manager.resource_monitors` global_downstream_max_connections; null when unset. */
  globalDownstreamMaxConnections: number | null;
  /** `layered_runtime`: its layers in order (later ones override) and what weft makes of them. */
  runtime: LayeredRuntime;
}

/**
 * `layered_runtime` with static layers. Keys weft understands take effect (they are applied to the
 * model by the parser); the others are kept and listed by `/runtime` as unknown to weft.
 */
export interface LayeredRuntime {
  /** Each layer's name and its entries, as Envoy flattens a static layer: `a: {b: 1}` is `a.b` = "1". */
  layers: { name: string; entries: Record<string, string> }[];
  /** Keys set in some layer that weft gives no effect. */
  unknownKeys: string[];
}

/** Envoy's watchdog thresholds (ms). Defaults: miss 200, megamiss 1000, kill 0 (off), multikill 0 (off). */
export interface Watchdog {
  missTimeoutMs: number;
  megamissTimeoutMs: number;
  /** A worker silent this long is terminated and replaced (Envoy aborts the process); 0 = off. */
  killTimeoutMs: number;
  /**
   * When max(2, ceil(workers × multikillThresholdPercent / 100)) workers are silent this long at
   * once, the process exits (Envoy's multikill aborts it); 0 = off.
   */
  multikillTimeoutMs: number;
  /** `multikill_threshold.value`, a percent of the workers (default 0, so 2 workers). */
  multikillThresholdPercent: number;
}

export interface Listener {
  name: string;
  address: SocketAddress;
  /** `per_connection_buffer_limit_bytes`, default 1 MiB as in Envoy. */
  perConnectionBufferLimitBytes: number;
  /**
   * Per-listener connection limit, or null. Envoy sets it with the runtime key
   * `envoy.resource_limits.listener.<name>.connection_limit`; weft reads it from the listener's
   * `max_connections` field (a documented weft extension) so it lives in the bootstrap.
   */
  maxConnections: number | null;
  /** `filter_chains`, in order; a connection takes the one `filter_chain_match` picks. */
  filterChains: FilterChain[];
  /** `default_filter_chain`: for connections no chain matches (else they are closed), or null. */
  defaultFilterChain: FilterChain | null;
}

/** `envoy.config.listener.v3.FilterChain` with its one terminal network filter. */
export type FilterChain =
  & {
    /** `name`, or "" when absent. */
    name: string;
    match: FilterChainMatch;
  }
  & ({ kind: "http"; http: HttpConnectionManager } | { kind: "tcp_proxy"; tcpProxy: TcpProxy });

/**
 * `filter_chain_match`: the criteria weft can judge without TLS. An empty criterion matches every
 * connection, and a chain whose criterion matches specifically wins over one where it is empty.
 */
export interface FilterChainMatch {
  /** `destination_port` (the listener socket's local port), or null. */
  destinationPort: number | null;
  /** `direct_source_prefix_ranges`: the peer's address (weft reads no PROXY protocol, so the source's too). */
  directSourcePrefixRanges: CidrRange[];
  /** `source_type`. */
  sourceType: "ANY" | "SAME_IP_OR_LOOPBACK" | "EXTERNAL";
  /** `source_prefix_ranges`. */
  sourcePrefixRanges: CidrRange[];
  /** `source_ports`. */
  sourcePorts: number[];
  /** `transport_protocol`, or ""; a connection without a listener filter that detects one is `raw_buffer`. */
  transportProtocol: string;
}

/** `envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy`. */
export interface TcpProxy {
  statPrefix: string;
  /** `cluster` → one entry of weight 1; `weighted_clusters.clusters[]` → their weights. */
  clusters: { name: string; weight: number }[];
  /** `idle_timeout`: no byte either way for this long closes both sides; Envoy's default 1 h, 0 off. */
  idleTimeoutMs: number;
  /** `max_connect_attempts`, default 1. */
  maxConnectAttempts: number;
}

/** `envoy.filters.network.http_connection_manager` typed_config. */
export interface HttpConnectionManager {
  statPrefix: string;
  routeConfig: RouteConfig;
  /** Names of `http_filters`, in order; today only `envoy.filters.http.router` (must be last). */
  httpFilters: string[];
  /** `max_request_headers_kb` (default 60). Stored in bytes. */
  maxRequestHeadersBytes: number;
  /** `common_http_protocol_options.max_headers_count` (default 100). */
  maxHeadersCount: number;
  /** `common_http_protocol_options.idle_timeout` (default 1 h). */
  idleTimeoutMs: number;
  /** `common_http_protocol_options.max_requests_per_connection` (default 0 = unlimited). */
  maxRequestsPerConnection: number;
  /** `request_headers_timeout` (default 0 = disabled). */
  requestHeadersTimeoutMs: number;
  /** `request_timeout` (default 0 = disabled). */
  requestTimeoutMs: number;
  /** `stream_idle_timeout` (default 5 min). */
  streamIdleTimeoutMs: number;
  /**
   * `use_remote_address` (default false): the peer is the client, `x-forwarded-for` gets its address
   * appended and the request may be an edge request (see src/edge/forwarded.ts).
   */
  useRemoteAddress: boolean;
  /** `xff_num_trusted_hops` (default 0): how many proxies in front append to `x-forwarded-for`. */
  xffNumTrustedHops: number;
  /**
   * `internal_address_config.cidr_ranges`: the networks whose clients are internal (get
   * `x-envoy-internal` and may set `x-envoy-*` fields). Empty without it: as in Envoy since 1.33,
   * no address is internal by default.
   */
  internalAddressRanges: CidrRange[];
  /** `strip_trailing_host_dot` (default false): `example.com.` becomes `example.com` before routing. */
  stripTrailingHostDot: boolean;
  /**
   * `strip_matching_host_port` ("matching": the port equal to the listener's is removed from Host
   * before routing) or `strip_any_host_port` ("any"); default "none", where `name:port` only
   * matches a domain with that port, as in Envoy.
   */
  stripHostPort: "none" | "matching" | "any";
  /** `generate_request_id` (default true). */
  generateRequestId: boolean;
  /** `server_name` (default "envoy"); weft's default is "weft". */
  serverName: string;
  /** `upgrade_configs`: the upgrade types (e.g. WebSocket) forwarded upstream; a route may override each. */
  upgradeConfigs: UpgradeConfig[];
}

/**
 * One `upgrade_configs` entry of an HCM or a route: requests with `Upgrade: <upgradeType>` are
 * forwarded upstream where enabled (see src/edge/upgrades.ts for how the two levels combine).
 */
export interface UpgradeConfig {
  /** `upgrade_type`, lower-cased (Envoy matches it case-insensitively). */
  upgradeType: string;
  /** `enabled` (default true). */
  enabled: boolean;
}

/** `envoy.config.core.v3.CidrRange`: an IP network. */
export interface CidrRange {
  /** An IPv4 or IPv6 address. */
  addressPrefix: string;
  /** Leading bits that must match: 0 to 32 for IPv4, to 128 for IPv6. */
  prefixLen: number;
}

export interface RouteConfig {
  name: string;
  virtualHosts: VirtualHost[];
}

export interface VirtualHost {
  name: string;
  /** Lower-cased; `*`, `*.suffix`, `prefix*` and exact names as Envoy allows (port part kept if given). */
  domains: string[];
  routes: Route[];
}

export interface Route {
  /** `name`, or "" when absent. */
  name: string;
  match: RouteMatch;
  action: RouteAction;
}

export interface RouteMatch {
  /** Exactly one of prefix / path / safe_regex is set in Envoy. */
  kind: "prefix" | "path" | "regex";
  /** The prefix, the exact path, or the regex source (RE2 syntax, checked by src/config/regex.ts). */
  value: string;
  /** `case_sensitive`, default true. */
  caseSensitive: boolean;
  headers: HeaderMatcher[];
}

/** `route.match.headers[]`. Names are lower-cased. */
export interface HeaderMatcher {
  name: string;
  /**
   * `exact_match` → exact, `prefix_match` → prefix, `suffix_match` → suffix, `contains_match` → contains,
   * `safe_regex_match` → regex, `present_match` → present; `string_match: {exact|prefix|suffix|contains|safe_regex, ignore_case}`
   * maps to the same kinds. With no matcher at all Envoy means "present".
   */
  kind: "exact" | "prefix" | "suffix" | "contains" | "regex" | "present";
  /** The string or regex source; for `present`, "". */
  value: string;
  /** `present_match: false` means "must be absent": stored as kind present + invert true. */
  invert: boolean;
  ignoreCase: boolean;
}

export type RouteAction = ClusterRouteAction | DirectResponseAction | RedirectAction;

export interface ClusterRouteAction {
  type: "route";
  /** `cluster` → one entry of weight 1; `weighted_clusters.clusters[]` → their weights. */
  clusters: { name: string; weight: number }[];
  /** Sum of weights (Envoy's `total_weight` if given, must equal the sum). */
  totalWeight: number;
  prefixRewrite: string | null;
  hostRewriteLiteral: string | null;
  /** `timeout`, default 15 s as in Envoy; 0 disables. */
  timeoutMs: number;
  /** `upgrade_configs`: per upgrade type, overrides the HCM's `enabled`. */
  upgradeConfigs: UpgradeConfig[];
}

export interface DirectResponseAction {
  type: "direct_response";
  status: number;
  /** `body.inline_string`, or null. */
  body: string | null;
}

export interface RedirectAction {
  type: "redirect";
  schemeRedirect: string | null;
  hostRedirect: string | null;
  portRedirect: number | null;
  pathRedirect: string | null;
  prefixRewrite: string | null;
  /** `response_code`: MOVED_PERMANENTLY (301, default), FOUND 302, SEE_OTHER 303, TEMPORARY_REDIRECT 307, PERMANENT_REDIRECT 308. */
  responseCode: number;
  stripQuery: boolean;
}

export interface Cluster {
  name: string;
  type: "STATIC" | "STRICT_DNS" | "LOGICAL_DNS";
  /** `connect_timeout`, default 5 s. */
  connectTimeoutMs: number;
  lbPolicy: "ROUND_ROBIN" | "RANDOM" | "LEAST_REQUEST";
  /** `dns_refresh_rate`, default 5 s. */
  dnsRefreshRateMs: number;
  /** `load_assignment.endpoints[].lb_endpoints[]`, flattened, in order. */
  endpoints: Endpoint[];
}

export interface Endpoint {
  address: SocketAddress;
  /** `load_balancing_weight`, default 1. */
  weight: number;
}

/** One validation error: what is wrong and exactly where. */
export interface ConfigError {
  /** Field path in Envoy's dotted form, e.g. `static_resources.listeners[0].address.socket_address.port_value`. */
  path: string;
  /** 1-based line and column in the source, or 0 when the error is not tied to a node. */
  line: number;
  column: number;
  message: string;
}
