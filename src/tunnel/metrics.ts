/**
 * The tunnel's traffic metrics with ztunnel's names and labels (`istio_tcp_connections_opened_total`,
 * `istio_tcp_connections_closed_total`, `istio_tcp_sent_bytes_total`,
 * `istio_tcp_received_bytes_total`), kept per worker as plain counters keyed by label set, merged on
 * the main thread, and rendered as Prometheus text.
 *
 * Byte direction follows Istio for both reporters: `received` counts bytes from the source workload
 * towards the destination (the request direction), `sent` counts bytes from the destination back to
 * the source (the response direction).
 *
 * @example
 * ```ts
 * const m = new TrafficMetrics();
 * const labels = trafficLabels({ reporter: "source", source, destination, mtls: true, sourcePrincipal });
 * m.inc("istio_tcp_connections_opened_total", labels);
 * renderPrometheus([m.snapshot()]);
 * ```
 *
 * @module
 */

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

/** Counters by metric name, then by serialized label set. Plain data: posts between threads. */
export type MetricsSnapshot = Record<string, Record<string, number>>;

/** Encodes a label set as a Prometheus label string (`a="x",b="y"`); this is also the map key. */
export function encodeLabels(labels: Labels): string {
  return Object.entries(labels).map(([k, v]) => `${k}="${escapeLabel(v)}"`)
    .join(",");
}

function escapeLabel(v: string): string {
  return v.replace(/\\/g, "\\\\").replace(/\n/g, "\\n").replace(/"/g, '\\"');
}

/** A handle on one counter for hot paths (avoids re-encoding labels per chunk). */
export interface Counter {
  add(n: number): void;
}

/** Per-thread counters. */
export class TrafficMetrics {
  readonly #data: MetricsSnapshot = {};

  counter(name: string, labels: Labels | string): Counter {
    const key = typeof labels === "string" ? labels : encodeLabels(labels);
    const family = this.#data[name] ??= {};
    family[key] ??= 0;
    return { add: (n: number) => void (family[key] = family[key]! + n) };
  }

  inc(name: string, labels: Labels | string, n = 1): void {
    this.counter(name, labels).add(n);
  }

  /** A deep copy of the counters. */
  snapshot(): MetricsSnapshot {
    const out: MetricsSnapshot = {};
    for (const [name, fam] of Object.entries(this.#data)) {
      out[name] = { ...fam };
    }
    return out;
  }
}

/** Sums snapshots (one per worker). */
export function mergeSnapshots(
  snaps: readonly MetricsSnapshot[],
): MetricsSnapshot {
  const out: MetricsSnapshot = {};
  for (const s of snaps) {
    for (const [name, fam] of Object.entries(s)) {
      const o = out[name] ??= {};
      for (const [k, v] of Object.entries(fam)) o[k] = (o[k] ?? 0) + v;
    }
  }
  return out;
}

/** Renders counters as Prometheus text exposition (version 0.0.4). */
export function renderPrometheus(
  snap: MetricsSnapshot,
  extra: {
    name: string;
    help: string;
    type: "gauge" | "counter";
    value: number;
  }[] = [],
): string {
  const lines: string[] = [];
  const names = [
    OPENED,
    CLOSED,
    RECEIVED,
    SENT,
    ...Object.keys(snap).filter((n) =>
      ![OPENED, CLOSED, RECEIVED, SENT].includes(n)
    ).sort(),
  ];
  for (const name of names) {
    const fam = snap[name];
    const base = name.replace(/_total$/, "");
    lines.push(`# HELP ${base} ${HELP[name] ?? name}.`);
    lines.push(`# TYPE ${base} counter`);
    if (!fam) continue;
    for (const [labels, v] of Object.entries(fam)) {
      lines.push(`${name}{${labels}} ${v}`);
    }
  }
  for (const e of extra) {
    lines.push(
      `# HELP ${e.name} ${e.help}.`,
      `# TYPE ${e.name} ${e.type}`,
      `${e.name} ${e.value}`,
    );
  }
  return lines.join("\n") + "\n# EOF\n";
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
