/**
 * The tunnel's traffic metrics with ztunnel's names and labels (`istio_tcp_connections_opened_total`,
 * `istio_tcp_connections_closed_total`, `istio_tcp_sent_bytes_total`,
 * `istio_tcp_received_bytes_total`). Workers count them in their `StatsScope` under Istio's tagged
 * stat names (what an Istio Envoy prints on `/stats`), flush them as deltas with every other stat,
 * and main renders ztunnel's Prometheus text from the store.
 *
 * Byte direction follows Istio for both reporters: `received` counts bytes from the source workload
 * towards the destination (the request direction), `sent` counts bytes from the destination back to
 * the source (the response direction).
 *
 * @example
 * ```ts
 * const labels = trafficLabels({ reporter: "source", source, destination, mtls: true, sourcePrincipal });
 * dispatcher.stats.counter(trafficStatName(OPENED, labels)).inc();
 * renderTunnelPrometheus(store); // on main, after the flush
 * ```
 *
 * @module
 */

import type { ClusterInfo } from "../admin/wire.ts";
import type { StatsScope } from "../stats/scope.ts";
import type { StatsStore } from "../stats/store.ts";
import type { QueueTracker } from "../worker/queue_tracker.ts";
import { parseTaggedName, taggedName } from "../stats/tags.ts";
import type { Service, Workload } from "./config.ts";
import { workloadIdentity } from "./state.ts";

export const OPENED = "istio_tcp_connections_opened_total";
export const CLOSED = "istio_tcp_connections_closed_total";
export const SENT = "istio_tcp_sent_bytes_total";
export const RECEIVED = "istio_tcp_received_bytes_total";
/** weft's own: connections refused before any traffic, by reason. */
export const REFUSED = "weft_tunnel_connections_refused_total";

const HELP: Record<string, string> = {
  [OPENED]: "The total number of TCP connections opened",
  [CLOSED]: "The total number of TCP connections closed",
  [SENT]:
    "The size of total bytes sent during response in case of a TCP connection",
  [RECEIVED]:
    "The size of total bytes received during request in case of a TCP connection",
  [REFUSED]:
    "Connections refused by the tunnel, by reason (unknown_source, policy_denied, tls_handshake, ...)",
};

/** ztunnel's label names, in its order. */
export const TRAFFIC_LABELS = [
  "reporter",
  "source_workload",
  "source_canonical_service",
  "source_canonical_revision",
  "source_workload_namespace",
  "source_principal",
  "source_app",
  "source_version",
  "source_cluster",
  "destination_service",
  "destination_service_namespace",
  "destination_service_name",
  "destination_workload",
  "destination_canonical_service",
  "destination_canonical_revision",
  "destination_workload_namespace",
  "destination_principal",
  "destination_app",
  "destination_version",
  "destination_cluster",
  "request_protocol",
  "response_flags",
  "connection_security_policy",
] as const;

export type Labels = Record<string, string>;

export interface TrafficLabelInput {
  reporter: "source" | "destination";
  source?: Workload | undefined;
  /** The mTLS-verified identity of the source; only set when the connection is mutual_tls. */
  sourcePrincipal?: string | undefined;
  destination?: Workload | undefined;
  service?: Service | undefined;
  mtls: boolean;
  /** "-" (none), "DENY" (policy), "CONNECT" (upstream connect failed). */
  responseFlags?: "-" | "DENY" | "CONNECT";
}

/** Builds ztunnel's label set; absent values are "unknown". */
export function trafficLabels(i: TrafficLabelInput): Labels {
  const u = (v: string | undefined) => (v ? v : "unknown");
  const s = i.source;
  const d = i.destination;
  return {
    reporter: i.reporter,
    source_workload: u(s?.workloadName),
    source_canonical_service: u(s?.canonicalName),
    source_canonical_revision: u(s?.canonicalRevision),
    source_workload_namespace: u(s?.namespace),
    source_principal: u(i.sourcePrincipal),
    source_app: u(s?.canonicalName),
    source_version: u(s?.canonicalRevision),
    source_cluster: u(s?.clusterId),
    destination_service: u(i.service?.hostname),
    destination_service_namespace: u(i.service?.namespace),
    destination_service_name: u(i.service?.name),
    destination_workload: u(d?.workloadName),
    destination_canonical_service: u(d?.canonicalName),
    destination_canonical_revision: u(d?.canonicalRevision),
    destination_workload_namespace: u(d?.namespace),
    destination_principal: u(d ? workloadIdentity(d) : undefined),
    destination_app: u(d?.canonicalName),
    destination_version: u(d?.canonicalRevision),
    destination_cluster: u(d?.clusterId),
    request_protocol: "tcp",
    response_flags: i.responseFlags ?? "-",
    connection_security_policy: i.mtls ? "mutual_tls" : "unknown",
  };
}

/** The stat name of one of the tunnel's labelled counters (Istio's tag encoding, `stats/tags.ts`). */
export function trafficStatName(metric: string, labels: Labels): string {
  return taggedName(metric, labels);
}

/** Encodes a label set as a Prometheus label string (`a="x",b="y"`). */
function encodeLabels(labels: [string, string][]): string {
  return labels.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A main-thread figure rendered beside the counters. */
export interface ExtraMetric {
  name: string;
  help: string;
  type: "gauge" | "counter";
  value: number;
}

/**
 * ztunnel's `/metrics` (OpenMetrics text) from the stats store: every labelled counter whose metric
 * is one of the tunnel's (`istio_tcp_*`, `weft_tunnel_*`), summed over workers by the store's
 * delta merge, then `extra`. The four `istio_tcp_*` families are always listed, as ztunnel does.
 */
export function renderTunnelPrometheus(store: StatsStore, extra: ExtraMetric[] = []): string {
  const families = new Map<string, string[]>();
  for (const name of [OPENED, CLOSED, RECEIVED, SENT]) families.set(name, []);
  for (const [name, value] of store.counters) {
    const tagged = parseTaggedName(name);
    if (tagged === null || !(tagged.metric in HELP)) continue;
    let lines = families.get(tagged.metric);
    if (lines === undefined) families.set(tagged.metric, lines = []);
    lines.push(`${tagged.metric}{${encodeLabels(tagged.labels)}} ${value}`);
  }
  const out: string[] = [];
  for (const [name, lines] of families) {
    const base = name.replace(/_total$/, "");
    out.push(`# HELP ${base} ${HELP[name]}.`, `# TYPE ${base} counter`, ...lines);
  }
  for (const e of extra) out.push(`# HELP ${e.name} ${e.help}.`, `# TYPE ${e.name} ${e.type}`, `${e.name} ${e.value}`);
  return out.join("\n") + "\n# EOF\n";
}

/**
 * The tunnel's two upstream "clusters", as Envoy would name them: `hbone` (CONNECT streams to other
 * nodes' HBONE port, over pooled mTLS sessions) and `tcp` (plain connections to workloads, and
 * passthrough), both ORIGINAL_DST-like. Hosts are HBONE node addresses and workload addresses
 * (passthrough destinations share one host, so the stats stay bounded by the config).
 */
export type UpstreamCluster = "hbone" | "tcp";
export const UPSTREAM_CLUSTERS: readonly UpstreamCluster[] = ["hbone", "tcp"];

/** One upstream attempt, from the connect to the end of its relay. */
export interface UpstreamAttempt {
  /** The stream or connection is up: it leaves the queue, its setup time is recorded. */
  connected(): void;
  failed(): void;
  /** Its relay ended (only after `connected`). */
  closed(): void;
}

const HOST_PREFIX = "~host.";

/**
 * Per worker: Envoy's cluster stats for the tunnel's upstreams (`cluster.<c>.upstream_rq_total`,
 * `upstream_rq_active`, `upstream_cx_connect_fail`, `upstream_cx_connect_ms`), per-host figures
 * under the store's hidden `~host.` prefix (as the proxy's clusters keep theirs), and the
 * `<cluster>:<host>` queue of attempts waiting for their stream or connection.
 */
export class UpstreamStats {
  constructor(private readonly scope: StatsScope, private readonly queues: QueueTracker) {
    // Every cluster stat exists from the start, at 0, as Envoy's do.
    for (const cluster of UPSTREAM_CLUSTERS) {
      for (const name of ["upstream_rq_total", "upstream_cx_total", "upstream_cx_connect_fail"]) scope.counter(`cluster.${cluster}.${name}`);
      for (const name of ["upstream_rq_active", "upstream_cx_active"]) scope.gauge(`cluster.${cluster}.${name}`);
    }
  }

  begin(cluster: UpstreamCluster, host: string): UpstreamAttempt {
    const c = `cluster.${cluster}.`;
    const h = `${HOST_PREFIX}${cluster}.${host}.`;
    const scope = this.scope;
    scope.counter(c + "upstream_rq_total").inc();
    scope.counter(h + "rq_total").inc();
    const entry = this.queues.enqueue(`${cluster}:${host}`);
    const started = performance.now();
    let state: "waiting" | "up" | "done" = "waiting";
    return {
      connected: () => {
        if (state !== "waiting") return;
        state = "up";
        this.queues.dequeue(entry);
        // A tcp attempt is a connection; hbone sessions are counted by `setSessions`.
        if (cluster === "tcp") {
          scope.counter(c + "upstream_cx_total").inc();
          scope.counter(h + "cx_total").inc();
        }
        scope.histogram(c + "upstream_cx_connect_ms").record(performance.now() - started);
        scope.gauge(c + "upstream_rq_active").inc();
        scope.gauge(h + "rq_active").inc();
      },
      failed: () => {
        if (state !== "waiting") return;
        state = "done";
        this.queues.dequeue(entry);
        scope.counter(c + "upstream_cx_connect_fail").inc();
        scope.counter(h + "cx_connect_fail").inc();
      },
      closed: () => {
        if (state !== "up") return;
        state = "done";
        scope.gauge(c + "upstream_rq_active").dec();
        scope.gauge(h + "rq_active").dec();
      },
    };
  }

  /**
   * Pooled HBONE sessions per destination as counted just before a flush, and the destinations of
   * sessions first seen then. `known`: every destination this worker has reported (kept by the caller).
   */
  setSessions(byHost: Map<string, number>, opened: string[], known: Set<string>): void {
    for (const host of opened) {
      this.scope.counter("cluster.hbone.upstream_cx_total").inc();
      this.scope.counter(`${HOST_PREFIX}hbone.${host}.cx_total`).inc();
    }
    let total = 0;
    for (const host of new Set([...known, ...byHost.keys()])) {
      const n = byHost.get(host) ?? 0;
      total += n;
      const g = this.scope.gauge(`${HOST_PREFIX}hbone.${host}.cx_active`);
      g.add(n - g.value);
      known.add(host);
    }
    const g = this.scope.gauge("cluster.hbone.upstream_cx_active");
    g.add(total - g.value);
  }
}

/** The inspector's cluster rows for the tunnel, from the merged stats (see {@linkcode UpstreamStats}). */
export function tunnelClusters(store: StatsStore): ClusterInfo[] {
  return UPSTREAM_CLUSTERS.map((cluster) => {
    const prefix = `${HOST_PREFIX}${cluster}.`;
    const hosts = new Set<string>();
    for (const name of [...store.counters.keys(), ...store.gauges.keys()]) {
      if (name.startsWith(prefix)) hosts.add(name.slice(prefix.length, name.lastIndexOf(".")));
    }
    const v = (host: string, stat: string) => store.counterValue(`${prefix}${host}.${stat}`) + store.gaugeValue(`${prefix}${host}.${stat}`);
    const h = store.histograms.get(`cluster.${cluster}.upstream_cx_connect_ms`);
    const quantile = (q: number) => h && h.count > 0 ? Math.round(h.quantile(q) * 100) / 100 : 0;
    return {
      name: cluster,
      type: "ORIGINAL_DST",
      lbPolicy: "CLUSTER_PROVIDED",
      hosts: [...hosts].sort().map((host) => ({
        address: host,
        healthFlags: "healthy",
        weight: 1,
        cxActive: v(host, "cx_active"),
        cxTotal: v(host, "cx_total"),
        cxConnectFail: v(host, "cx_connect_fail"),
        rqTotal: v(host, "rq_total"),
        rqActive: v(host, "rq_active"),
        rqError: v(host, "cx_connect_fail"),
        rqTimeout: 0,
      })),
      rqTimeP50Ms: quantile(0.5),
      rqTimeP99Ms: quantile(0.99),
      rqTotal: store.counterValue(`cluster.${cluster}.upstream_rq_total`),
      rq5xx: store.counterValue(`cluster.${cluster}.upstream_cx_connect_fail`),
    };
  });
}

/** Parses Prometheus text into samples (for tests and tools). */
export function parsePrometheus(
  text: string,
): { name: string; labels: Labels; value: number }[] {
  const out: { name: string; labels: Labels; value: number }[] = [];
  for (const line of text.split("\n")) {
    if (!line || line.startsWith("#")) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Labels = {};
    const re = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;
    for (let lm; (lm = re.exec(m[2] ?? ""));) {
      labels[lm[1]!] = lm[2]!.replace(
        /\\(.)/g,
        (_, c) => (c === "n" ? "\n" : c),
      );
    }
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}
