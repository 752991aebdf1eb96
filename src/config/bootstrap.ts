/**
 * The Envoy v3 static bootstrap parser and validator: YAML or JSON text in, the normalized
 * {@linkcode Bootstrap} model or every error (with path, line and column) out.
 *
 * weft reads the subset of the bootstrap it implements. Fields Envoy defines but weft does not
 * implement yet are errors saying so ("is not supported yet by weft"), never silently ignored;
 * fields Envoy does not define are "unknown field" errors, as Envoy rejects them too.
 *
 * @module
 */

import { isMap, isScalar } from "yaml";
import { formatHostPort, readAddress } from "./address.ts";
import { readCluster } from "./cluster.ts";
import { sortConfigErrors } from "./config_error.ts";
import * as F from "./envoy_fields.ts";
import { type ReadListener, readListener } from "./listener.ts";
import { type Message, Reader } from "./reader.ts";
import { applyRuntime, readLayeredRuntime } from "./runtime.ts";
import type { ClusterReference } from "./route_config.ts";
import type { Bootstrap, Cluster, ConfigError, Listener, Watchdog } from "./types.ts";
import { describeNode, parseYamlSource } from "./yaml_source.ts";

export { formatConfigError } from "./config_error.ts";
export { DEFAULT_BOOTSTRAP_YAML } from "./default_bootstrap.ts";

/** The outcome of {@linkcode parseBootstrap}: the model, or all errors sorted by position. */
export type ParseResult = { ok: true; bootstrap: Bootstrap } | { ok: false; errors: ConfigError[] };

/** The resource monitor weft implements. */
const GLOBAL_DOWNSTREAM_MAX_CONNECTIONS = "envoy.resource_monitors.global_downstream_max_connections";
const DOWNSTREAM_CONNECTIONS_TYPE_URL =
  "type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig";

/** weft flushes stats every second (Envoy: 5 s) so the inspector is live. */
const DEFAULT_STATS_FLUSH_INTERVAL_MS = 1000;

/**
 * Parses and validates an Envoy v3 static bootstrap (YAML or JSON).
 *
 * @example Parse a config and print its errors
 * ```ts
 * import { formatConfigError, parseBootstrap } from "./bootstrap.ts";
 *
 * const result = parseBootstrap("static_resources:\n  listeners: []\n  clustrs: []\n");
 * if (!result.ok) {
 *   for (const e of result.errors) console.error(formatConfigError(e, "envoy.yaml"));
 *   // envoy.yaml:3:3: static_resources: unknown field "clustrs"; did you mean "clusters"?
 * }
 * ```
 */
export function parseBootstrap(text: string): ParseResult {
  const source = parseYamlSource(text);
  if (source.errors.length > 0) return { ok: false, errors: sortConfigErrors(source.errors) };
  const root = source.root === null ? null : source.resolve(source.root);
  if (root === null || (isScalar(root) && (root.value === null || root.value === ""))) {
    return fail([{
      path: "",
      line: 0,
      column: 0,
      message:
        "the configuration is empty; expected an Envoy bootstrap such as static_resources: {listeners: [...], clusters: [...]}",
    }]);
  }
  if (!isMap(root)) {
    const { line, column } = source.position(root);
    return fail([{
      path: "",
      line,
      column,
      message: `the configuration must be a mapping of bootstrap fields, got ${describeNode(root)}`,
    }]);
  }
  const r = new Reader(source);
  const b = r.message(root, "", F.BOOTSTRAP);
  if (b === undefined) return fail(r.errors);

  const nodeMessage = b.message("node", F.NODE);
  const node = { id: nodeMessage?.string("id") ?? "", cluster: nodeMessage?.string("cluster") ?? "" };
  const adminMessage = b.message("admin", F.ADMIN);
  const admin = adminMessage && readAddress(adminMessage, "address", "ip", false);
  const statsFlushIntervalMs = b.duration("stats_flush_interval", { min: 1, lessThan: 300_000 });
  const watchdog = readWatchdog(b);
  const globalDownstreamMaxConnections = readOverloadManager(b.message("overload_manager", F.OVERLOAD_MANAGER));
  const { listeners, clusters } = readStaticResources(b.message("static_resources", F.STATIC_RESOURCES));
  const layered = readLayeredRuntime(b.message("layered_runtime", F.LAYERED_RUNTIME));
  const { runtime, globalMaxConnections } = applyRuntime(r, layered, listeners, globalDownstreamMaxConnections);

  if (r.errors.length > 0) return fail(r.errors);
  return {
    ok: true,
    bootstrap: {
      node,
      admin: admin?.address ?? null,
      statsFlushIntervalMs: statsFlushIntervalMs ?? DEFAULT_STATS_FLUSH_INTERVAL_MS,
      listeners,
      clusters,
      watchdog,
      globalDownstreamMaxConnections: globalMaxConnections,
      runtime,
    },
  };
}

function fail(errors: ConfigError[]): ParseResult {
  return { ok: false, errors: sortConfigErrors(errors) };
}

/** `watchdogs.worker_watchdog`, or the deprecated top-level `watchdog` (not both). */
function readWatchdog(b: Message): Watchdog {
  if (b.has("watchdog") && b.has("watchdogs")) {
    b.reader.error(
      b.at("watchdog"),
      b.get("watchdog") ?? b.node,
      "must not be set together with watchdogs (it is their deprecated form)",
    );
  }
  const w = b.has("watchdogs")
    ? b.message("watchdogs", F.WATCHDOGS)?.message("worker_watchdog", F.WATCHDOG)
    : b.message("watchdog", F.WATCHDOG);
  return {
    missTimeoutMs: w?.duration("miss_timeout", { min: 0 }) ?? 200,
    megamissTimeoutMs: w?.duration("megamiss_timeout", { min: 0 }) ?? 1000,
    killTimeoutMs: w?.duration("kill_timeout", { min: 0 }) ?? 0,
    multikillTimeoutMs: w?.duration("multikill_timeout", { min: 0 }) ?? 0,
    multikillThresholdPercent: w?.message("multikill_threshold", F.PERCENT)?.number("value", 0, 100) ?? 0,
  };
}

/** `overload_manager.resource_monitors`: only the global downstream connection limit. */
function readOverloadManager(om: Message | undefined): number | null {
  let max: number | null = null;
  let seen = false;
  for (const item of om?.list("resource_monitors") ?? []) {
    const rm = om?.reader.message(item.node, item.path, F.RESOURCE_MONITOR);
    const name = rm?.string("name", { required: true });
    if (rm === undefined || name === undefined) continue;
    if (name !== GLOBAL_DOWNSTREAM_MAX_CONNECTIONS) {
      rm.reader.error(
        rm.at("name"),
        rm.get("name") ?? rm.node,
        `resource monitor ${
          JSON.stringify(name)
        } is not supported yet by weft (only ${GLOBAL_DOWNSTREAM_MAX_CONNECTIONS})`,
      );
      continue;
    }
    if (seen) {
      rm.reader.error(
        rm.at("name"),
        rm.get("name") ?? rm.node,
        "configures the global downstream connection limit a second time",
      );
      continue;
    }
    seen = true;
    const config = rm.require("typed_config") ? rm.message("typed_config", F.DOWNSTREAM_CONNECTIONS_CONFIG) : undefined;
    if (config === undefined) continue;
    config.typeUrl(DOWNSTREAM_CONNECTIONS_TYPE_URL);
    if (config.require("max_active_downstream_connections")) {
      max = config.integer("max_active_downstream_connections", 1, Number.MAX_SAFE_INTEGER) ?? null;
    }
  }
  return max;
}

/**
 * Listeners and clusters, then the checks across them: unique listener names and addresses
 * (port 0 may repeat), unique cluster names, and routes naming only defined clusters.
 */
function readStaticResources(sr: Message | undefined): { listeners: Listener[]; clusters: Cluster[] } {
  if (sr === undefined) return { listeners: [], clusters: [] };
  const r = sr.reader;
  const refs: ClusterReference[] = [];
  const listeners: ReadListener[] = [];
  for (const item of sr.list("listeners")) {
    const l = readListener(r, item.node, item.path, refs);
    if (l !== undefined) listeners.push(l);
  }
  const names = new Map<string, string>();
  const addresses = new Map<string, string>();
  for (const { path, name, nameNode, address, addressNode } of listeners) {
    const firstName = name === undefined ? undefined : names.get(name);
    if (name !== undefined && firstName === undefined) names.set(name, path);
    if (firstName !== undefined) {
      r.error(`${path}.name`, nameNode, `duplicates the name of ${firstName}; listener names must be unique`);
    }
    if (address === undefined || address.port === 0) continue;
    const key = formatHostPort(address.address, address.port);
    const firstAddress = addresses.get(key);
    if (firstAddress === undefined) addresses.set(key, path);
    else {r.error(
        `${path}.address`,
        addressNode,
        `duplicates the address ${key} of ${firstAddress}; listener addresses must be unique unless the port is 0`,
      );}
  }

  const clusters: Cluster[] = [];
  const clusterPaths = new Map<string, string>();
  for (const item of sr.list("clusters")) {
    const { cluster, name, nameNode } = readCluster(r, item.node, item.path) ?? {};
    if (name === undefined || nameNode === undefined) continue;
    const first = clusterPaths.get(name);
    if (first !== undefined) {
      r.error(`${item.path}.name`, nameNode, `duplicates the name of ${first}; cluster names must be unique`);
      continue;
    }
    clusterPaths.set(name, item.path);
    if (cluster !== undefined) clusters.push(cluster);
  }
  for (const ref of refs) {
    if (!clusterPaths.has(ref.cluster)) {
      r.error(
        ref.path,
        ref.node,
        `names unknown cluster ${JSON.stringify(ref.cluster)}; define it in static_resources.clusters`,
      );
    }
  }
  return { listeners: listeners.flatMap((l) => (l.listener === undefined ? [] : [l.listener])), clusters };
}
