/**
 * Envoy's admin stat formats: `/stats` text, `/stats?format=json`, `/stats/prometheus`.
 *
 * @example Text lines
 * ```ts
 * renderText(store, {}); // "cluster.a.upstream_rq_total: 3\n…"
 * ```
 * @module
 */
import type { Histogram } from "./histogram.ts";
import type { StatsStore } from "./store.ts";
import type { Re2Regex } from "../config/regex.ts";
import { parseTaggedName } from "./tags.ts";

/** Envoy's supported quantiles, in percent. */
export const QUANTILES = [0, 25, 50, 75, 90, 95, 99, 99.5, 99.9, 100];

/** Envoy's default histogram bucket bounds (ms) for Prometheus output. */
export const PROMETHEUS_BUCKETS = [
  0.5, 1, 5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000, 30000, 60000, 300000, 600000, 1800000, 3600000,
];

export interface StatsQuery {
  /** `?filter=REGEX` */
  filter?: Re2Regex;
  /** `?usedonly` */
  usedOnly?: boolean;
}

function accept(store: StatsStore, q: StatsQuery): (name: string) => boolean {
  return (name) => (!q.filter || q.filter.partialMatch(name)) && (!q.usedOnly || store.isUsed(name));
}

function fmt(v: number): string {
  if (Number.isNaN(v)) return "nan";
  return Number.isInteger(v) ? String(v) : String(Math.round(v * 1000) / 1000);
}

function histogramNames(store: StatsStore, q: StatsQuery): string[] {
  const ok = accept(store, q);
  return [...store.histograms.keys()].filter((n) => !n.startsWith("~") && ok(n)).sort();
}

function quantileLine(interval: Histogram | undefined, cumulative: Histogram): string {
  return QUANTILES.map((p) =>
    `P${p}(${fmt(interval && interval.count > 0 ? interval.quantile(p / 100) : NaN)},${fmt(cumulative.quantile(p / 100))})`
  ).join(" ");
}

/** `name: value` lines, then histograms as `name: P0(interval,cumulative) …`, as Envoy prints. */
export function renderText(store: StatsStore, q: StatsQuery): string {
  const lines = store.values(accept(store, q)).map(([n, v]) => `${n}: ${v}`);
  for (const name of histogramNames(store, q)) {
    const h = store.histograms.get(name)!;
    lines.push(h.count === 0 ? `${name}: No recorded values` : `${name}: ${quantileLine(store.intervals.get(name), h)}`);
  }
  return lines.join("\n") + (lines.length ? "\n" : "");
}

/** Envoy's JSON: `{"stats":[{"name","value"}…, {"histograms":{supported_quantiles, computed_quantiles}}]}`. */
export function renderJson(store: StatsStore, q: StatsQuery): unknown {
  const stats: unknown[] = store.values(accept(store, q)).map(([name, value]) => ({ name, value }));
  const names = histogramNames(store, q);
  if (names.length > 0) {
    stats.push({
      histograms: {
        supported_quantiles: QUANTILES,
        computed_quantiles: names.map((name) => {
          const h = store.histograms.get(name)!;
          const iv = store.intervals.get(name);
          return {
            name,
            values: QUANTILES.map((p) => ({
              interval: iv && iv.count > 0 ? iv.quantile(p / 100) : null,
              cumulative: h.count > 0 ? h.quantile(p / 100) : null,
            })),
          };
        }),
      },
    });
  }
  return { stats };
}

/**
 * Envoy's default tag extraction for the names weft emits: name → (metric name, labels). A name with
 * Istio-style tags (`stats/tags.ts`) keeps its metric name without `envoy_`, as Envoy renders a
 * custom stat namespace (`istio_tcp_connections_opened_total{reporter="source",…}`).
 */
export function extractTags(name: string): { metric: string; labels: [string, string][] } {
  const tagged = parseTaggedName(name);
  if (tagged !== null) return tagged;
  const labels: [string, string][] = [];
  let rest = name;
  let m: RegExpMatchArray | null;
  if ((m = rest.match(/^tcp\.(.*)\.(\w+)$/))) {
    // Envoy's `envoy.tcp_prefix` extractor: tcp.<stat_prefix>.<stat>.
    labels.push(["envoy_tcp_prefix", m[1]!]);
    rest = `tcp.${m[2]}`;
  } else if ((m = rest.match(/^cluster\.(.+?)\.(upstream_|membership_|lb_|max_host|bind_errors|assignment|update_|version|retry)/))) {
    labels.push(["envoy_cluster_name", m[1]!]);
    rest = "cluster." + rest.slice(("cluster." + m[1] + ".").length);
  } else if ((m = rest.match(/^http\.(.+?)\.(downstream_|no_route|rq_|no_cluster|rs_)/))) {
    labels.push(["envoy_http_conn_manager_prefix", m[1]!]);
    rest = "http." + rest.slice(("http." + m[1] + ".").length);
  } else if ((m = rest.match(/^listener\.((?:[\d.]+|\[[0-9a-fA-F:]*\])_\d+)\./))) {
    labels.push(["envoy_listener_address", m[1]!]);
    rest = "listener." + rest.slice(("listener." + m[1] + ".").length);
  }
  if ((m = rest.match(/^(listener|server)\.worker_(\d+)\./))) {
    labels.push(["envoy_worker_id", m[2]!]);
    rest = `${m[1]}.` + rest.slice(`${m[1]}.worker_${m[2]}.`.length);
  }
  if ((m = rest.match(/_rq_(\d{3})$/))) {
    labels.push(["envoy_response_code", m[1]!]);
    rest = rest.slice(0, -4);
  } else if ((m = rest.match(/_rq_(\d)xx$/))) {
    labels.push(["envoy_response_code_class", m[1]!]);
    rest = rest.slice(0, -4);
  }
  return { metric: "envoy_" + rest.replace(/[^a-zA-Z0-9_]/g, "_"), labels };
}

function labelText(labels: [string, string][], extra?: string): string {
  const parts = labels.map(([k, v]) => `${k}="${v.replace(/\\/g, "\\\\").replace(/"/g, '\\"')}"`);
  if (extra) parts.push(extra);
  return parts.length ? `{${parts.join(",")}}` : "";
}

/** Prometheus text exposition 0.0.4, grouped by metric with `# TYPE` lines, as Envoy's /stats/prometheus. */
export function renderPrometheus(store: StatsStore, q: StatsQuery): string {
  const ok = accept(store, q);
  const groups = new Map<string, { type: string; lines: string[] }>();
  const add = (metric: string, type: string, line: string) => {
    let g = groups.get(metric);
    if (g === undefined) groups.set(metric, g = { type, lines: [] });
    g.lines.push(line);
  };
  for (const [kind, map] of [["counter", store.counters], ["gauge", store.gauges]] as const) {
    for (const [name, v] of map) {
      if (name.startsWith("~") || !ok(name)) continue;
      const { metric, labels } = extractTags(name);
      add(metric, kind, `${metric}${labelText(labels)} ${v}`);
    }
  }
  for (const name of histogramNames(store, q)) {
    const h = store.histograms.get(name)!;
    const { metric, labels } = extractTags(name);
    for (const b of PROMETHEUS_BUCKETS) add(metric, "histogram", `${metric}_bucket${labelText(labels, `le="${b}"`)} ${h.countAtOrBelow(b)}`);
    add(metric, "histogram", `${metric}_bucket${labelText(labels, 'le="+Inf"')} ${h.count}`);
    add(metric, "histogram", `${metric}_sum${labelText(labels)} ${fmt(h.sum)}`);
    add(metric, "histogram", `${metric}_count${labelText(labels)} ${h.count}`);
  }
  let out = "";
  for (const metric of [...groups.keys()].sort()) {
    const g = groups.get(metric)!;
    out += `# TYPE ${metric} ${g.type}\n${g.lines.join("\n")}\n`;
  }
  return out;
}
