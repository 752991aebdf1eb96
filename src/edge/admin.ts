/**
 * The proxy's admin sections: `/clusters` (Envoy's text lines and JSON, plus weft's summary for the
 * inspector), `/listeners`, and the cluster summaries that ride in snapshots.
 *
 * @module
 */
import { type AdminRegistry, json, text } from "../admin/registry.ts";
import type { ClusterHostInfo, ClusterInfo } from "../admin/wire.ts";
import type { Cluster, Endpoint } from "../config/types.ts";
import type { StatsStore } from "../stats/store.ts";
import type { BoundListener } from "../worker/messages.ts";
import { HOST_STAT_NAMES } from "./cluster.ts";

export interface ClusterView {
  clusters(): Cluster[];
  endpoints(name: string): Endpoint[];
}


export function clusterInfos(view: ClusterView, store: StatsStore): ClusterInfo[] {
  return view.clusters().map((c) => {
    const hosts: ClusterHostInfo[] = view.endpoints(c.name).map((e) => {
      const key = `${e.address.address}:${e.address.port}`;
      const v = (s: string) => store.counterValue(`~host.${c.name}.${key}.${s}`) + store.gaugeValue(`~host.${c.name}.${key}.${s}`);
      return {
        address: key,
        healthFlags: "healthy",
        weight: e.weight,
        cxActive: v("cx_active"),
        cxTotal: v("cx_total"),
        cxConnectFail: v("cx_connect_fail"),
        rqTotal: v("rq_total"),
        rqActive: v("rq_active"),
        rqError: v("rq_error"),
        rqTimeout: v("rq_timeout"),
      };
    });
    const h = store.histograms.get(`cluster.${c.name}.upstream_rq_time`);
    return {
      name: c.name,
      type: c.type,
      lbPolicy: c.lbPolicy,
      hosts,
      rqTimeP50Ms: h && h.count > 0 ? round(h.quantile(0.5)) : 0,
      rqTimeP99Ms: h && h.count > 0 ? round(h.quantile(0.99)) : 0,
      rqTotal: store.counterValue(`cluster.${c.name}.upstream_rq_total`),
      rq5xx: store.counterValue(`cluster.${c.name}.upstream_rq_5xx`),
    };
  });
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}

export function registerEdgeAdmin(
  admin: AdminRegistry,
  view: ClusterView,
  store: StatsStore,
  listeners: () => BoundListener[],
  beforeRead: () => Promise<void>,
): void {
  admin.add({
    path: "/clusters",
    help: "upstream cluster status (?format=json)",
    async handle(_req, url) {
      await beforeRead();
      const infos = clusterInfos(view, store);
      if (url.searchParams.get("format") === "json") {
        return json({
          cluster_statuses: infos.map((c) => ({
            name: c.name,
            host_statuses: view.endpoints(c.name).map((e) => {
              const key = `${e.address.address}:${e.address.port}`;
              return {
                address: { socket_address: { address: e.address.address, port_value: e.address.port } },
                stats: HOST_STAT_NAMES.map((s) => ({
                  name: s,
                  value: String(store.counterValue(`~host.${c.name}.${key}.${s}`) + store.gaugeValue(`~host.${c.name}.${key}.${s}`)),
                  type: s.endsWith("_active") ? "GAUGE" : "COUNTER",
                })),
                health_status: { eds_health_status: "HEALTHY" },
                weight: e.weight,
              };
            }),
          })),
          // weft's summary, the shape the inspector reads.
          clusters: infos,
        });
      }
      const lines: string[] = [];
      for (const c of infos) {
        lines.push(`${c.name}::observability_name::${c.name}`);
        for (const h of c.hosts) {
          const p = `${c.name}::${h.address}::`;
          lines.push(
            `${p}cx_active::${h.cxActive}`,
            `${p}cx_connect_fail::${h.cxConnectFail}`,
            `${p}cx_total::${h.cxTotal}`,
            `${p}rq_active::${h.rqActive}`,
            `${p}rq_error::${h.rqError}`,
            `${p}rq_timeout::${h.rqTimeout}`,
            `${p}rq_total::${h.rqTotal}`,
            `${p}health_flags::${h.healthFlags}`,
            `${p}weight::${h.weight}`,
          );
        }
      }
      return text(200, lines.join("\n") + "\n");
    },
  });
  admin.add({
    path: "/listeners",
    help: "print listener info (?format=json)",
    handle(_req, url) {
      const ls = listeners();
      if (url.searchParams.get("format") === "json") {
        return json({
          listener_statuses: ls.map((l) => ({
            name: l.name,
            local_address: { socket_address: { address: l.hostname, port_value: l.port } },
          })),
        });
      }
      return text(200, ls.map((l) => `${l.name}::${l.hostname}:${l.port}`).join("\n") + "\n");
    },
  });
}
