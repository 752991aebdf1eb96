/**
 * `envoy.config.cluster.v3.Cluster` with its `load_assignment` (endpoints flattened in order).
 *
 * @module
 */

import { readAddress } from "./address.ts";
import * as F from "./envoy_fields.ts";
import type { Message, Reader } from "./reader.ts";
import { UINT32_MAX } from "./reader.ts";
import type { Cluster, Endpoint } from "./types.ts";
import type { YamlNode } from "./yaml_source.ts";

/** A cluster read from the config: the model when it is valid, and its name (even when not). */
export interface ReadCluster {
  cluster?: Cluster;
  name?: string;
  nameNode: YamlNode;
}

/**
 * Reads one `static_resources.clusters[i]`. The name is returned even when the rest is invalid, so
 * duplicates are still found and routes naming it do not also get "unknown cluster" errors.
 *
 * @example Read a cluster
 * ```ts
 * import { readCluster } from "./cluster.ts";
 * // const { cluster, name } = readCluster(reader, node, "static_resources.clusters[0]") ?? {};
 * ```
 */
export function readCluster(r: Reader, node: YamlNode, path: string): ReadCluster | undefined {
  const c = r.message(node, path, F.CLUSTER);
  if (c === undefined) return undefined;
  const name = c.string("name", { required: true });
  const type = c.enum("type", ["STATIC", "STRICT_DNS", "LOGICAL_DNS"], ["EDS", "ORIGINAL_DST"]);
  const explicitType = c.has("type");
  const connectTimeoutMs = c.duration("connect_timeout", { greaterThan: 0 });
  const lbPolicy = c.enum(
    "lb_policy",
    ["ROUND_ROBIN", "LEAST_REQUEST", "RANDOM"],
    ["RING_HASH", "MAGLEV", "CLUSTER_PROVIDED", "LOAD_BALANCING_POLICY_CONFIG"],
  );
  const dnsRefreshRateMs = c.duration("dns_refresh_rate", { greaterThan: 1 });
  c.enum("dns_lookup_family", ["AUTO", "V4_ONLY"], ["V6_ONLY", "V4_PREFERRED", "ALL"]);
  // An invalid type is already reported; check addresses leniently then.
  const effectiveType = type ?? (explicitType ? undefined : "STATIC");
  const la = c.message("load_assignment", F.CLUSTER_LOAD_ASSIGNMENT);
  const endpoints = readLoadAssignment(la, effectiveType);
  if (effectiveType === "LOGICAL_DNS" && endpoints !== undefined && endpoints.length !== 1) {
    r.error(
      la?.at("endpoints") ?? c.at("load_assignment"),
      la?.get("endpoints") ?? la?.node ?? c.node,
      `must hold exactly one endpoint for a LOGICAL_DNS cluster, got ${endpoints.length}`,
    );
  }
  const nameNode = c.get("name") ?? c.node;
  if (name === undefined || effectiveType === undefined || endpoints === undefined) return { name, nameNode };
  const cluster: Cluster = {
    name,
    type: effectiveType,
    connectTimeoutMs: connectTimeoutMs ?? 5000,
    lbPolicy: lbPolicy ?? "ROUND_ROBIN",
    dnsRefreshRateMs: dnsRefreshRateMs ?? 5000,
    endpoints,
  };
  return { cluster, name, nameNode };
}

function readLoadAssignment(la: Message | undefined, type: Cluster["type"] | undefined): Endpoint[] | undefined {
  if (la === undefined) return [];
  la.string("cluster_name", { required: true });
  const endpoints: Endpoint[] = [];
  let ok = true;
  for (const locality of la.list("endpoints")) {
    const lle = la.reader.message(locality.node, locality.path, F.LOCALITY_LB_ENDPOINTS);
    for (const item of lle?.list("lb_endpoints") ?? []) {
      const lb = la.reader.message(item.node, item.path, F.LB_ENDPOINT);
      if (lb === undefined) continue;
      const weight = lb.integer("load_balancing_weight", 1, UINT32_MAX) ?? 1;
      const ep = lb.require("endpoint") ? lb.message("endpoint", F.ENDPOINT) : undefined;
      const hint = type === "STATIC" ? " (STATIC clusters take IP addresses; use STRICT_DNS for DNS names)" : "";
      const address = ep && readAddress(ep, "address", type === "STATIC" ? "ip" : "ip_or_hostname", true, hint);
      if (address === undefined) ok = false;
      else endpoints.push({ address: address.address, weight });
    }
  }
  return ok ? endpoints : undefined;
}
