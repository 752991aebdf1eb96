/**
 * `envoy.config.listener.v3.Listener` with its single filter chain and the HTTP connection manager
 * (`envoy.filters.network.http_connection_manager`) in it.
 *
 * @module
 */

import { isSeq } from "yaml";
import { isIPv4, isIPv6, readAddress } from "./address.ts";
import * as F from "./envoy_fields.ts";
import type { Message, Reader } from "./reader.ts";
import { UINT32_MAX } from "./reader.ts";
import { type ClusterReference, readRouteConfig } from "./route_config.ts";
import type { CidrRange, HttpConnectionManager, Listener, SocketAddress } from "./types.ts";
import type { YamlNode } from "./yaml_source.ts";

/** The network filter weft implements. */
export const HCM_FILTER_NAME = "envoy.filters.network.http_connection_manager";
/** The `@type` of its typed_config. */
export const HCM_TYPE_URL =
  "type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager";
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
  const http = readFilterChains(l, refs);
  const listener = name === undefined || address === undefined || http === undefined ? undefined : {
    name,
    address,
    perConnectionBufferLimitBytes: perConnectionBufferLimitBytes ?? DEFAULT_BUFFER_LIMIT_BYTES,
    maxConnections: maxConnections ?? null,
    http,
  };
  return { listener, path, name, nameNode: l.get("name") ?? l.node, address, addressNode: l.get("address") ?? l.node };
}

/** Exactly one filter chain, without filter_chain_match, holding exactly one HTTP connection manager. */
function readFilterChains(l: Message, refs: ClusterReference[]): HttpConnectionManager | undefined {
  if (!l.require("filter_chains")) return undefined;
  const chains = l.list("filter_chains");
  const [first, second] = chains;
  if (second !== undefined) {
    l.reader.error(l.at("filter_chains"), second.node, "more than one filter chain is not supported yet by weft");
    return undefined;
  }
  if (first === undefined) {
    if (isSeq(l.get("filter_chains"))) {
      l.reader.error(l.at("filter_chains"), l.get("filter_chains") ?? l.node, "must contain one filter chain");
    }
    return undefined;
  }
  const chain = l.reader.message(first.node, first.path, F.FILTER_CHAIN);
  if (chain === undefined) return undefined;
  chain.string("name");
  if (!chain.require("filters")) return undefined;
  const filters = chain.list("filters");
  const [filter, extra] = filters;
  if (extra !== undefined) {
    l.reader.error(
      chain.at("filters"),
      extra.node,
      `more than one network filter is not supported yet by weft (only ${HCM_FILTER_NAME})`,
    );
    return undefined;
  }
  if (filter === undefined) {
    if (isSeq(chain.get("filters"))) {
      l.reader.error(
        chain.at("filters"),
        chain.get("filters") ?? chain.node,
        `must contain the ${HCM_FILTER_NAME} filter`,
      );
    }
    return undefined;
  }
  const f = l.reader.message(filter.node, filter.path, F.FILTER);
  if (f === undefined) return undefined;
  const name = f.string("name", { required: true });
  const typeUrl = f.reader.peekTypeUrl(f.get("typed_config"));
  if (name === undefined) return undefined;
  // Envoy picks the factory by the typed_config's type first, then by name.
  if (name !== HCM_FILTER_NAME && typeUrl !== HCM_TYPE_URL) {
    f.reader.error(
      f.at("name"),
      f.get("name") ?? f.node,
      `network filter ${JSON.stringify(name)} is not supported yet by weft (only ${HCM_FILTER_NAME})`,
    );
    return undefined;
  }
  if (!f.require("typed_config")) return undefined;
  return readHttpConnectionManager(f.message("typed_config", F.HTTP_CONNECTION_MANAGER), refs);
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
  const ranges: CidrRange[] = [];
  for (const item of c.list("cidr_ranges")) {
    const range = readCidrRange(c.reader.message(item.node, item.path, F.CIDR_RANGE));
    if (range !== undefined) ranges.push(range);
  }
  return ranges;
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
