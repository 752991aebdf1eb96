/**
 * A valid bootstrap of `clusters` STATIC clusters (each routed from one of up to 1,000 routes), about
 * 210 bytes per cluster: 100,000 clusters make the 21 MB file of issue 17.
 *
 * @module
 */
export function bigBootstrapYaml(clusters: number): string {
  const parts: string[] = [`admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - name: edge
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: edge
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
`];
  for (let i = 0; i < Math.min(clusters, 1000); i++) {
    parts.push(`              - match: { prefix: "/c${i}/" }\n                route: { cluster: cluster_${i} }\n`);
  }
  parts.push(`          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
`);
  for (let i = 0; i < clusters; i++) {
    const ip = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
    parts.push(`  - name: cluster_${i}
    connect_timeout: 1s
    load_assignment:
      cluster_name: cluster_${i}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: ${ip}, port_value: 8080 } } }
`);
  }
  return parts.join("");
}
