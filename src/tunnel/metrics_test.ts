import { test } from "node:test";
import assert from "node:assert/strict";
import type { Workload } from "./config.ts";
import { StatsScope } from "../stats/scope.ts";
import { StatsStore } from "../stats/store.ts";
import { CLOSED, OPENED, parsePrometheus, RECEIVED, REFUSED, renderTunnelPrometheus, trafficLabels, trafficStatName } from "./metrics.ts";

const w = (name: string, sa: string): Workload => ({
  uid: name, name, namespace: "default", serviceAccount: sa, trustDomain: "cluster.local", workloadIps: [], protocol: "HBONE",
  node: "", network: "", clusterId: "Kubernetes", workloadName: name, workloadType: "pod", canonicalName: name,
  canonicalRevision: "latest", status: "Healthy", authorizationPolicies: [], services: {},
});

test("labels follow ztunnel's names, unknown when absent", () => {
  const l = trafficLabels({ reporter: "source", source: w("a", "sa-a"), sourcePrincipal: "spiffe://cluster.local/ns/default/sa/sa-a", destination: w("b", "sa-b"), mtls: true });
  assert.equal(l.reporter, "source");
  assert.equal(l.source_workload, "a");
  assert.equal(l.destination_principal, "spiffe://cluster.local/ns/default/sa/sa-b");
  assert.equal(l.destination_service, "unknown");
  assert.equal(l.connection_security_policy, "mutual_tls");
  assert.equal(l.response_flags, "-");
  assert.equal(trafficLabels({ reporter: "destination", mtls: false }).connection_security_policy, "unknown");
});

test("counters from two workers' deltas render as ztunnel's Prometheus text", () => {
  const labels = trafficLabels({ reporter: "source", source: w("a", "x"), mtls: false });
  const a = new StatsScope();
  const b = new StatsScope();
  a.counter(trafficStatName(OPENED, labels)).inc();
  b.counter(trafficStatName(OPENED, labels)).inc();
  b.counter(trafficStatName(RECEIVED, labels)).inc(1234);
  b.counter("tcp.socks5.downstream_cx_total").inc();
  const store = new StatsStore();
  store.apply(a.takeDelta());
  store.apply(b.takeDelta());
  const text = renderTunnelPrometheus(store, [{ name: "weft_tunnel_workers", help: "Data-plane workers", type: "gauge", value: 2 }]);
  assert.match(text, /# TYPE istio_tcp_connections_opened counter/);
  assert.match(text, /# TYPE istio_tcp_connections_closed counter/, "every family is listed, even empty");
  assert.match(text, /weft_tunnel_workers 2\n# EOF\n$/);
  assert.doesNotMatch(text, /downstream_cx_total/, "Envoy-style stats stay on admin /stats");
  const samples = parsePrometheus(text);
  const opened = samples.find((s) => s.name === OPENED)!;
  assert.equal(opened.value, 2);
  assert.equal(opened.labels.source_workload, "a");
  assert.deepEqual(Object.keys(opened.labels), Object.keys(labels), "ztunnel's label order");
  assert.equal(samples.find((s) => s.name === RECEIVED)!.value, 1234);
  assert.equal(samples.filter((s) => s.name === CLOSED).length, 0);
});

test("label values are escaped", () => {
  const store = new StatsStore();
  store.addCounter(trafficStatName(REFUSED, { a: 'q"\\\n;' }));
  const s = parsePrometheus(renderTunnelPrometheus(store));
  assert.equal(s.find((x) => x.name === REFUSED)!.labels.a, 'q"\\\n;');
});
