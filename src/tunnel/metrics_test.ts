import { test } from "node:test";
import assert from "node:assert/strict";
import type { Workload } from "./config.ts";
import { CLOSED, mergeSnapshots, OPENED, parsePrometheus, RECEIVED, renderPrometheus, TrafficMetrics, trafficLabels } from "./metrics.ts";

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

test("per-worker counters merge and render as Prometheus text", () => {
  const labels = trafficLabels({ reporter: "source", source: w("a", "x"), mtls: false });
  const a = new TrafficMetrics();
  const b = new TrafficMetrics();
  a.inc(OPENED, labels);
  b.inc(OPENED, labels);
  b.counter(RECEIVED, labels).add(1234);
  const text = renderPrometheus(mergeSnapshots([a.snapshot(), b.snapshot()]));
  assert.match(text, /# TYPE istio_tcp_connections_opened counter/);
  const samples = parsePrometheus(text);
  const opened = samples.find((s) => s.name === OPENED)!;
  assert.equal(opened.value, 2);
  assert.equal(opened.labels.source_workload, "a");
  assert.equal(samples.find((s) => s.name === RECEIVED)!.value, 1234);
  assert.equal(samples.filter((s) => s.name === CLOSED).length, 0);
});

test("label values are escaped", () => {
  const m = new TrafficMetrics();
  m.inc("x_total", { a: 'q"\\\n' });
  const s = parsePrometheus(renderPrometheus(m.snapshot()));
  assert.equal(s.find((x) => x.name === "x_total")!.labels.a, 'q"\\\n');
});
