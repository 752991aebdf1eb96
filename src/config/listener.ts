/**
 * `envoy.config.listener.v3.Listener` with its filter chains, each holding one network filter: the
 * HTTP connection manager (`envoy.filters.network.http_connection_manager`) or the TCP proxy
 * (`envoy.filters.network.tcp_proxy`).
 *
 * @module
 */

import { isSeq } from "yaml";
import { isIPv4, isIPv6, readAddress } from "./address.ts";
import * as F from "./envoy_fields.ts";
import type { Message, Reader } from "./reader.ts";
import { UINT32_MAX } from "./reader.ts";
import { type ClusterReference, readRouteConfig, readUpgradeConfigs } from "./route_config.ts";
import type { CidrRange, FilterChain, FilterChainMatch, HttpConnectionManager, Listener, SocketAddress, TcpProxy } from "./types.ts";
import type { YamlNode } from "./yaml_source.ts";

/** The network filter weft implements. */
export const HCM_FILTER_NAME = "envoy.filters.network.http_connection_manager";
/** The `@type` of its typed_config. */
export const HCM_TYPE_URL =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
/** The TCP proxy network filter. */
export const TCP_PROXY_FILTER_NAME = "envoy.filters.network.tcp_proxy";
/** The `@type` of its typed_config. */
export const TCP_PROXY_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy";
/** The HTTP filter weft implements (and requires last). */
export const ROUTER_FILTER_NAME = "envoy.filters.http.router";
/** The `@type` of its typed_config. */
export const ROUTER_TYPE_URL = "type.googleapis.com/envoy.extensions.filters.http.router.v3.Router";

/** Envoy's default per-connection buffer limit (1 MiB). */
const DEFAULT_BUFFER_LIMIT_BYTES = 1024 * 1024;

/**
 * A listener read from the config: the model when it is valid, and its name and address (even when
 * other parts are invalid) with their nodes, for the checks across listeners.
 */
export interface ReadListener {
  listener?: Listener;
  path: string;
  name?: string;
  nameNode: YamlNode;
  address?: SocketAddress;
  addressNode: YamlNode;
}

/**
 * Reads one `static_resources.listeners[i]`; cluster names its routes use are appended to `refs`.
 * `listener` is undefined when it is invalid (the errors are in the reader).
 *
 * @example Read the first listener
 * ```ts
 * import { readListener } from "./listener.ts";
 * // const l = readListener(reader, node, "static_resources.listeners[0]", refs);
 * ```
 */
export function readListener(
  r: Reader,
  node: YamlNode,
  path: string,
  refs: ClusterReference[],
): ReadListener | undefined {
  const l = r.message(node, path, F.LISTENER);
  if (l === undefined) return undefined;
  // Envoy names an unnamed listener with a random UUID (ListenerManagerImpl::addOrUpdateListener).
  // An empty name is unset in proto3, so it gets one too.
  const givenName = l.string("name");
  const name = givenName === undefined || givenName === "" ? crypto.randomUUID() : givenName;
  const address = readAddress(l, "address", "ip", true)?.address;
  const perConnectionBufferLimitBytes = l.integer("per_connection_buffer_limit_bytes", 0, UINT32_MAX);
  const maxConnections = l.integer("max_connections", 1, UINT32_MAX);
  const chains = readFilterChains(l, refs);
  const listener = name === undefined || address === undefined || chains === undefined ? undefined : {
    name,
    address,
    perConnectionBufferLimitBytes: perConnectionBufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES,
    maxConnections: maxConnections ?? null,
    ...chains,
  };
  return { listener, path, name, nameNode: l.get("name") ?? l.node, address, addressNode: l.get("address") ?? l.node };
}

/**
 * `filter_chains` and `default_filter_chain`. As in Envoy, two chains may not have the same match,
 * and `filter_chains` may be empty only when a default chain takes every connection.
 */
function readFilterChains(l: Message, refs: ClusterReference[]): Pick<Listener, "filterChains" | "defaultFilterChain"> | undefined {
  const hasDefault = l.has("default_filter_chain");
  const defaultFilterChain = hasDefault ? readFilterChain(l.reader, l.get("default_filter_chain")!, l.at("default_filter_chain"), refs, false) : null;
  if (!hasDefault && !l.require("filter_chains")) return undefined;
  const items = l.list("filter_chains");
  if (items.length === 0 && !hasDefault && isSeq(l.get("filter_chains"))) {
    l.reader.error(l.at("filter_chains"), l.get("filter_chains") ?? l.node, "must contain a filter chain (or set default_filter_chain)");
    return undefined;
  }
  const filterChains: FilterChain[] = [];
  const seen = new Map<string, string>();
  let ok = true;
  for (const item of items) {
    const chain = readFilterChain(l.reader, item.node, item.path, refs, true);
    if (chain === undefined) {
      ok = false;
      continue;
    }
    const key = JSON.stringify(chain.match);
    const first = seen.get(key);
    if (first !== undefined) {
      // Envoy: "multiple filter chains with the same matching rules are defined".
      l.reader.error(`${item.path}.filter_chain_match`, item.node, `has the same matching rules as ${first}; a connection could not choose between them`);
      ok = false;
    }
    seen.set(key, item.path);
    filterChains.push(chain);
  }
  if (!ok || defaultFilterChain === undefined) return undefined;
  return { filterChains, defaultFilterChain };
}

/** One filter chain: its match (ignored for the default chain, as Envoy ignores it) and its one network filter. */
function readFilterChain(r: Reader, node: YamlNode, path: string, refs: ClusterReference[], matched: boolean): FilterChain | undefined {
  const chain = r.message(node, path, F.FILTER_CHAIN);
  if (chain === undefined) return undefined;
  const name = chain.string("name") ?? "";
  const match = matched ? readFilterChainMatch(chain.message("filter_chain_match", F.FILTER_CHAIN_MATCH)) : ANY_CONNECTION;
  if (!chain.require("filters")) return undefined;
  const filters = chain.list("filters");
  const [filter, extra] = filters;
  const supported = `${HCM_FILTER_NAME} or ${TCP_PROXY_FILTER_NAME}`;
  if (extra !== undefined) {
    r.error(chain.at("filters"), extra.node, `more than one network filter is not supported yet by weft (only ${supported})`);
    return undefined;
  }
  if (filter === undefined) {
    if (isSeq(chain.get("filters"))) r.error(chain.at("filters"), chain.get("filters") ?? chain.node, `must contain the ${supported} filter`);
    return undefined;
  }
  const f = r.message(filter.node, filter.path, F.FILTER);
  if (f === undefined) return undefined;
  const filterName = f.string("name", { required: true });
  const typeUrl = f.reader.peekTypeUrl(f.get("typed_config"));
  if (filterName === undefined) return undefined;
  // Envoy picks the factory by the typed_config's type first, then by name.
  const kind = typeUrl === HCM_TYPE_URL ? "http" : typeUrl === TCP_PROXY_TYPE_URL ? "tcp_proxy" : filterName === HCM_FILTER_NAME ? "http" : filterName === TCP_PROXY_FILTER_NAME ? "tcp_proxy" : null;
  if (kind === null) {
    f.reader.error(f.at("name"), f.get("name") ?? f.node, `network filter ${JSON.stringify(filterName)} is not supported yet by weft (only ${supported})`);
    return undefined;
  }
  if (!f.require("typed_config")) return undefined;
  if (kind === "tcp_proxy") {
    const tcpProxy = readTcpProxy(f.message("typed_config", F.TCP_PROXY), refs);
    return tcpProxy === undefined || match === undefined ? undefined : { name, match, kind: "tcp_proxy", tcpProxy };
  }
  const http = readHttpConnectionManager(f.message("typed_config", F.HTTP_CONNECTION_MANAGER), refs);
  return http === undefined || match === undefined ? undefined : { name, match, kind: "http", http };
}

/** What an absent `filter_chain_match` means: every connection. */
export const ANY_CONNECTION: Readonly<FilterChainMatch> = {
  destinationPort: null,
  directSourcePrefixRanges: [],
  sourceType: "ANY",
  sourcePrefixRanges: [],
  sourcePorts: [],
  transportProtocol: "",
};

function readFilterChainMatch(m: Message | undefined): FilterChainMatch | undefined {
  if (m === undefined) return ANY_CONNECTION;
  const destinationPort = m.integer("destination_port", 1, 65535);
  const sourceType = m.enum("source_type", ["ANY", "SAME_IP_OR_LOOPBACK", "EXTERNAL"], []);
  const sourcePorts = m.list("source_ports").map((item) => m.reader.integer(item.node, item.path, 1, 65535));
  const transportProtocol = m.string("transport_protocol") ?? "";
  if (transportProtocol === "tls") {
    m.reader.error(m.at("transport_protocol"), m.get("transport_protocol") ?? m.node, '"tls" is not supported yet by weft: it needs the tls_inspector listener filter and TLS termination');
  }
  const match: FilterChainMatch = {
    destinationPort: destinationPort ?? null,
    directSourcePrefixRanges: readCidrRanges(m, "direct_source_prefix_ranges"),
    sourceType: sourceType ?? "ANY",
    sourcePrefixRanges: readCidrRanges(m, "source_prefix_ranges"),
    sourcePorts: sourcePorts.filter((p) => p !== undefined),
    transportProtocol,
  };
  const bad = (m.has("destination_port") && destinationPort === undefined) || (m.has("source_type") && sourceType === undefined) ||
    sourcePorts.includes(undefined) || transportProtocol === "tls";
  return bad ? undefined : match;
}

function readCidrRanges(m: Message, field: string): CidrRange[] {
  const ranges: CidrRange[] = [];
  for (const item of m.list(field)) {
    const range = readCidrRange(m.reader.message(item.node, item.path, F.CIDR_RANGE));
    if (range !== undefined) ranges.push(range);
  }
  return ranges;
}

/** `envoy.filters.network.tcp_proxy`'s config. */
function readTcpProxy(t: Message | undefined, refs: ClusterReference[]): TcpProxy | undefined {
  if (t === undefined) return undefined;
  t.typeUrl(TCP_PROXY_TYPE_URL);
  const statPrefix = t.string("stat_prefix", { required: true });
  const idleTimeoutMs = t.duration("idle_timeout", { min: 0 }) ?? 3_600_000;
  const maxConnectAttempts = t.integer("max_connect_attempts", 1, UINT32_MAX) ?? 1;
  const clusters: TcpProxy["clusters"] = [];
  const single = t.string("cluster", { nonEmpty: true });
  const weighted = t.message("weighted_clusters", F.TCP_PROXY_WEIGHTED_CLUSTER);
  if (t.has("cluster") && t.has("weighted_clusters")) {
    t.reader.error(t.at("weighted_clusters"), t.get("weighted_clusters") ?? t.node, "only one of cluster or weighted_clusters can be set (as in Envoy)");
    return undefined;
  }
  if (single !== undefined) {
    clusters.push({ name: single, weight: 1 });
    refs.push({ cluster: single, path: t.at("cluster"), node: t.get("cluster") ?? t.node });
  } else if (weighted !== undefined) {
    if (!weighted.require("clusters")) return undefined;
    for (const item of weighted.list("clusters")) {
      const c: Message | undefined = weighted.reader.message(item.node, item.path, F.TCP_PROXY_CLUSTER_WEIGHT);
      if (c === undefined) return undefined;
      const name = c.string("name", { required: true });
      const weight = c.require("weight") ? c.integer("weight", 1, UINT32_MAX) : undefined;
      if (name === undefined || weight === undefined) return undefined;
      clusters.push({ name, weight });
      refs.push({ cluster: name, path: c.at("name"), node: c.get("name") ?? c.node });
    }
    if (clusters.length === 0) {
      weighted.reader.error(weighted.at("clusters"), weighted.get("clusters") ?? weighted.node, "must contain a cluster");
      return undefined;
    }
  } else if (!t.has("cluster")) {
    t.reader.error(t.at("cluster"), t.node, "is required (or weighted_clusters)");
    return undefined;
  }
  if (statPrefix === undefined || clusters.length === 0) return undefined;
  return { statPrefix, clusters, idleTimeoutMs, maxConnectAttempts };
}

function readHttpConnectionManager(
  h: Message | undefined,
  refs: ClusterReference[],
): HttpConnectionManager | undefined {
  if (h === undefined) return undefined;
  h.typeUrl(HCM_TYPE_URL);
  const statPrefix = h.string("stat_prefix", { required: true });
  h.enum("codec_type", ["AUTO", "HTTP1"], ["HTTP2", "HTTP3"]);
  const rc = h.require("route_config") ? h.message("route_config", F.ROUTE_CONFIGURATION) : undefined;
  const routeConfig = rc === undefined ? undefined : readRouteConfig(rc, refs);
  const httpFilters = readHttpFilters(h);
  const opts = h.message("common_http_protocol_options", F.HTTP_PROTOCOL_OPTIONS);
  const settings = {
    maxRequestHeadersBytes: (h.integer("max_request_headers_kb", 1, 8192) ?? 60) * 1024,
    maxHeadersCount: opts?.integer("max_headers_count", 1, UINT32_MAX) ?? 100,
    idleTimeoutMs: opts?.duration("idle_timeout", { min: 0 }) ?? 3_600_000,
    maxRequestsPerConnection: opts?.integer("max_requests_per_connection", 0, UINT32_MAX) ?? 0,
    requestHeadersTimeoutMs: h.duration("request_headers_timeout", { min: 0 }) ?? 0,
    requestTimeoutMs: h.duration("request_timeout", { min: 0 }) ?? 0,
    streamIdleTimeoutMs: h.duration("stream_idle_timeout", { min: 0 }) ?? 300_000,
    useRemoteAddress: h.bool("use_remote_address") ?? false,
    xffNumTrustedHops: h.integer("xff_num_trusted_hops", 0, UINT32_MAX) ?? 0,
    internalAddressRanges: readInternalAddressConfig(h),
    generateRequestId: h.bool("generate_request_id") ?? true,
    serverName: h.string("server_name") ?? "weft",
    stripTrailingHostDot: h.bool("strip_trailing_host_dot") ?? false,
    stripHostPort: readStripHostPort(h),
    upgradeConfigs: readUpgradeConfigs(h, F.HCM_UPGRADE_CONFIG),
  };
  if (statPrefix === undefined || routeConfig === undefined) return undefined;
  return { statPrefix, routeConfig, httpFilters, ...settings };
}

/**
 * `internal_address_config`: its `cidr_ranges` (empty when absent: no address is internal, Envoy's
 * default since 1.33). `unix_sockets: true` is refused, as weft listens on TCP only.
 */
function readInternalAddressConfig(h: Message): CidrRange[] {
  const c = h.message("internal_address_config", F.INTERNAL_ADDRESS_CONFIG);
  if (c === undefined) return [];
  if (c.bool("unix_sockets") === true) {
    c.reader.error(
      c.at("unix_sockets"),
      c.get("unix_sockets") ?? c.node,
      "true is not supported yet by weft: its listeners are TCP only (pipe addresses are not supported yet), so no client is a unix socket",
    );
  }
  return readCidrRanges(c, "cidr_ranges");
}

/** A `CidrRange`: an IP address and a prefix length that fits its family (Envoy refuses the rest). */
function readCidrRange(m: Message | undefined): CidrRange | undefined {
  if (m === undefined) return undefined;
  const addressPrefix = m.string("address_prefix", { required: true });
  // A UInt32Value: unset is 0, a range holding every address of the family.
  const prefixLen = m.has("prefix_len") ? m.integer("prefix_len", 0, 128) : 0;
  if (addressPrefix === undefined || prefixLen === undefined) return undefined;
  if (isIPv4(addressPrefix)) {
    if (prefixLen <= 32) return { addressPrefix, prefixLen };
    m.reader.error(m.at("prefix_len"), m.get("prefix_len") ?? m.node, `must be at most 32 for the IPv4 address ${addressPrefix}, got ${prefixLen}`);
    return undefined;
  }
  if (isIPv6(addressPrefix)) return { addressPrefix, prefixLen };
  m.reader.error(m.at("address_prefix"), m.get("address_prefix") ?? m.node, `must be an IP address such as 10.0.0.0 or fd00::, got ${JSON.stringify(addressPrefix)}`);
  return undefined;
}

/** `strip_matching_host_port` / `strip_any_host_port` (Envoy allows one of them). */
function readStripHostPort(h: Message): HttpConnectionManager["stripHostPort"] {
  const matching = h.bool("strip_matching_host_port") ?? false;
  const any = h.bool("strip_any_host_port") ?? false;
  if (matching && any) {
    h.reader.error(
      h.at("strip_any_host_port"),
      h.get("strip_any_host_port") ?? h.node,
      "only one of strip_matching_host_port or strip_any_host_port can be set (as in Envoy)",
    );
  }
  return any ? "any" : matching ? "matching" : "none";
}

/** `http_filters`: today only the router, which Envoy requires to be the last filter. */
function readHttpFilters(h: Message): string[] {
  const node = h.get("http_filters");
  const items = h.list("http_filters");
  if (items.length === 0 && (node === undefined || isSeq(node))) {
    h.reader.error(h.at("http_filters"), node ?? h.node, `must end with the router filter ${ROUTER_FILTER_NAME}`);
    return [];
  }
  const names: string[] = [];
  items.forEach((item, i) => {
    const f = h.reader.message(item.node, item.path, F.HTTP_FILTER);
    const name = f?.string("name", { required: true });
    if (f === undefined || name === undefined) return;
    const typeUrl = f.reader.peekTypeUrl(f.get("typed_config"));
    if (name !== ROUTER_FILTER_NAME && typeUrl !== ROUTER_TYPE_URL) {
      f.reader.error(
        f.at("name"),
        f.get("name") ?? f.node,
        `HTTP filter ${JSON.stringify(name)} is not supported yet by weft (only ${ROUTER_FILTER_NAME})`,
      );
      return;
    }
    f.message("typed_config", F.ROUTER)?.typeUrl(ROUTER_TYPE_URL);
    if (i !== items.length - 1) {
      f.reader.error(
        item.path,
        item.node,
        `the router filter must be the last HTTP filter (Envoy treats it as terminal)`,
      );
    }
    names.push(ROUTER_FILTER_NAME);
  });
  return names;
}
