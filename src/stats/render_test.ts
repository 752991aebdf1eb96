import { test } from "node:test";
import assert from "node:assert/strict";
import { extractTags, renderJson, renderPrometheus, renderText } from "./render.ts";
import { StatsScope } from "./scope.ts";
import { StatsStore } from "./store.ts";
import { compileRegex, type Re2Regex } from "../config/regex.ts";
import { taggedName } from "./tags.ts";

function store(): StatsStore {
  const scope = new StatsScope();
  scope.counter("cluster.backend.upstream_rq_200").inc(3);
  scope.counter("http.ingress_http.downstream_rq_2xx").inc(3);
  scope.gauge("listener.127.0.0.1_10000.worker_1.downstream_cx_active").inc();
  scope.counter("~host.backend.127.0.0.1:1.rq_total").inc();
  scope.histogram("cluster.backend.upstream_rq_time").record(2);
  const s = new StatsStore();
  s.apply(scope.takeDelta());
  return s;
}

test("text: sorted name: value lines, hidden stats left out, histogram quantiles", () => {
  const text = renderText(store(), {});
  assert.match(text, /^cluster\.backend\.upstream_rq_200: 3\nhttp\.ingress_http\.downstream_rq_2xx: 3\nlistener\./);
  assert.doesNotMatch(text, /~host/);
  assert.match(text, /cluster\.backend\.upstream_rq_time: P0\(/);
  assert.equal(renderText(store(), { filter: compileRegex("rq_2xx") as Re2Regex }), "http.ingress_http.downstream_rq_2xx: 3\n");
});

test("json: Envoy's shape", () => {
  const j = renderJson(store(), {}) as { stats: unknown[] };
  assert.deepEqual(j.stats[0], { name: "cluster.backend.upstream_rq_200", value: 3 });
  const last = j.stats[j.stats.length - 1] as { histograms: { supported_quantiles: number[] } };
  assert.equal(last.histograms.supported_quantiles[2], 50);
});

test("prometheus: Envoy's default tag extraction", () => {
  assert.deepEqual(extractTags("cluster.backend.upstream_rq_200"), {
    metric: "envoy_cluster_upstream_rq",
    labels: [["envoy_cluster_name", "backend"], ["envoy_response_code", "200"]],
  });
  assert.deepEqual(extractTags("listener.127.0.0.1_10000.worker_1.downstream_cx_active"), {
    metric: "envoy_listener_downstream_cx_active",
    labels: [["envoy_listener_address", "127.0.0.1_10000"], ["envoy_worker_id", "1"]],
  });
  const text = renderPrometheus(store(), {});
  assert.match(text, /# TYPE envoy_cluster_upstream_rq counter\nenvoy_cluster_upstream_rq\{envoy_cluster_name="backend",envoy_response_code="200"\} 3\n/);
  assert.match(text, /envoy_http_downstream_rq\{envoy_http_conn_manager_prefix="ingress_http",envoy_response_code_class="2"\} 3/);
  assert.match(text, /envoy_cluster_upstream_rq_time_bucket\{envoy_cluster_name="backend",le="5"\} 1/);
  assert.match(text, /envoy_cluster_upstream_rq_time_count\{envoy_cluster_name="backend"\} 1/);
});

test("deltas: a stat is announced once at zero, then only changes travel", () => {
  const scope = new StatsScope();
  const c = scope.counter("a");
  assert.deepEqual(scope.takeDelta().counters, [["a", 0]]);
  assert.deepEqual(scope.takeDelta().counters, []);
  c.inc(2);
  assert.deepEqual(scope.takeDelta().counters, [["a", 2]]);
});

test("prometheus: tcp_proxy's envoy_tcp_prefix, and tagged names keep their own metric name", () => {
  assert.deepEqual(extractTags("tcp.socks5.downstream_cx_total"), {
    metric: "envoy_tcp_downstream_cx_total",
    labels: [["envoy_tcp_prefix", "socks5"]],
  });
  const s = new StatsStore();
  s.addCounter(taggedName("istio_tcp_connections_opened_total", { reporter: "source", source_principal: "spiffe://td/ns/a/sa/b" }), 2);
  assert.match(renderText(s, {}), /^reporter=\.=source;\.;source_principal=\.=spiffe:\/\/td\/ns\/a\/sa\/b;\.;istio_tcp_connections_opened_total: 2\n$/);
  assert.match(
    renderPrometheus(s, {}),
    /# TYPE istio_tcp_connections_opened_total counter\nistio_tcp_connections_opened_total\{reporter="source",source_principal="spiffe:\/\/td\/ns\/a\/sa\/b"\} 2\n/,
  );
});
