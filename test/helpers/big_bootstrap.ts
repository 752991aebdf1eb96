/**
 * A valid bootstrap of `clusters` STATIC clusters (each routed from one of up to 1,000 routes), about
 * 240 bytes per cluster: 100,000 clusters make a 24 MB file, like the 21 MB one of issue 17.
 *
 * @module
 */
import { bootstrapYaml } from "./bootstrap.ts";

export function bigBootstrapYaml(clusters: number): string {
  const routes: string[] = [];
  for (let i = 0; i < Math.min(clusters, 1000); i++) {
    routes.push(`\n              - match: { prefix: "/c${i}/" }\n                route: { cluster: cluster_${i} }`);
  }
  const parts = [bootstrapYaml({ routes: routes.join(""), clusters: [] }).replace(/clusters: \[\]\n$/, "clusters:\n")];
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
