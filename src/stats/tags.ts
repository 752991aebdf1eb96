/**
 * Labelled stats in a name-keyed store, encoded as Istio's Envoy encodes its custom metrics: each
 * label as `name=.=value;.;`, then the metric name (`reporter=.=source;.;…;.;istio_tcp_connections_opened_total`).
 * Envoy's `/stats` prints such names as they are; its Prometheus output extracts the labels back
 * (Istio's `stats_tags` regexes, `reporter=\.=(.*?);\.;`), which {@linkcode parseTaggedName} does.
 *
 * @example
 * ```ts
 * const name = taggedName("istio_tcp_connections_opened_total", { reporter: "source" });
 * // "reporter=.=source;.;istio_tcp_connections_opened_total"
 * parseTaggedName(name); // { metric: "istio_tcp_connections_opened_total", labels: [["reporter", "source"]] }
 * ```
 * @module
 */

/** A label value may hold `;` (a workload name from a config file): it is escaped, with `%`. */
function escapeValue(v: string): string {
  return v.replace(/%/g, "%25").replace(/;/g, "%3B");
}

function unescapeValue(v: string): string {
  return v.replace(/%3B/g, ";").replace(/%25/g, "%");
}

/** The stat name of `metric` with `labels`, in their order. */
export function taggedName(metric: string, labels: Record<string, string>): string {
  let out = "";
  for (const [k, v] of Object.entries(labels)) out += `${k}=.=${escapeValue(v)};.;`;
  return out + metric;
}

const TAG = /^([a-zA-Z_][a-zA-Z0-9_]*)=\.=([\s\S]*?);\.;/;

/** The metric and labels of a name built by {@linkcode taggedName}; null for a plain stat name. */
export function parseTaggedName(name: string): { metric: string; labels: [string, string][] } | null {
  const labels: [string, string][] = [];
  let rest = name;
  for (let m = TAG.exec(rest); m !== null; m = TAG.exec(rest)) {
    labels.push([m[1]!, unescapeValue(m[2]!)]);
    rest = rest.slice(m[0].length);
  }
  return labels.length === 0 ? null : { metric: rest, labels };
}
