/**
 * Bootstrap YAML builders for tests: one listener on port 0 with the given routes, admin on port 0.
 *
 * @module
 */

export interface ClusterSpec {
  name: string;
  endpoints: number[];
  connectTimeout?: string;
  lbPolicy?: string;
  /** STATIC (default), STRICT_DNS or LOGICAL_DNS. */
  type?: string;
  /** Endpoint host: 127.0.0.1 unless a DNS cluster names one. */
  host?: string;
}

export interface BootstrapSpec {
  routes: string;
  clusters: ClusterSpec[];
  /** Extra HttpConnectionManager fields, indented YAML at the typed_config level. */
  hcm?: string;
  /**
   * Several listeners, each named (and its stat prefix) by its key, with its extra HCM fields as
   * the value; default one listener `edge` with `hcm`. They all share the routes.
   */
  listeners?: Record<string, string>;
  /** Virtual hosts placed before the `*` one, indented YAML at the virtual_hosts item level. */
  virtualHosts?: string;
  flush?: string;
  listenerExtra?: string;
}

export function bootstrapYaml(spec: BootstrapSpec): string {
  const clusters = spec.clusters.map((c) => `
  - name: ${c.name}
    type: ${c.type ?? "STATIC"}
    connect_timeout: ${c.connectTimeout ?? "1s"}
    lb_policy: ${c.lbPolicy ?? "ROUND_ROBIN"}
    load_assignment:
      cluster_name: ${c.name}
      endpoints:
      - lb_endpoints:${c.endpoints.map((p) => `
        - endpoint: { address: { socket_address: { address: ${c.host ?? "127.0.0.1"}, port_value: ${p} } } }`).join("")}`).join("");
  const listeners = Object.entries(spec.listeners ?? { edge: spec.hcm ?? "" }).map(([name, hcm]) => `
  - name: ${name}
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }${spec.listenerExtra ?? ""}
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ${name}${hcm}
          route_config:
            virtual_hosts:${spec.virtualHosts ?? ""}
            - name: all
              domains: ["*"]
              routes:${spec.routes}
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router`).join("");
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
stats_flush_interval: ${spec.flush ?? "0.2s"}
static_resources:
  listeners:${listeners}
  clusters:${clusters.length ? clusters : " []"}
`;
}

/** Parse `/stats` text into a map. */
export function parseStats(text: string): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split("\n")) {
    const i = line.lastIndexOf(": ");
    if (i < 0) continue;
    const v = Number(line.slice(i + 2));
    if (!Number.isNaN(v)) out[line.slice(0, i)] = v;
  }
  return out;
}
