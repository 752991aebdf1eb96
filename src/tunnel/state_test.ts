import { test } from "node:test";
import assert from "node:assert/strict";
import { parseLocalConfig } from "./config.ts";
import { acceptedIdentities, TunnelState, workloadIdentity } from "./state.ts";

const cfg = parseLocalConfig(`workloads:
- {name: c, namespace: default, serviceAccount: client, workloadIps: [127.0.1.2], node: a, protocol: HBONE}
- {name: s1, namespace: default, workloadIps: [127.0.1.3], node: b, protocol: HBONE, authorizationPolicies: [default/sel], services: {"default/svc.example": {80: 8080}}}
- {name: s2, namespace: default, workloadIps: [127.0.1.4], node: b, protocol: TCP, services: {"default/svc.example": {80: 9090}}}
- {name: s3, namespace: other, workloadIps: [127.0.1.5], node: b, status: Unhealthy, services: {"default/svc.example": {80: 8080}}}
services:
- {name: svc, namespace: default, hostname: svc.example, vips: [/127.10.0.1], ports: {80: 8080}}
policies:
- {name: g, namespace: istio-system, scope: Global, action: Deny, rules: []}
- {name: ns, namespace: default, scope: Namespace, action: Allow, rules: []}
- {name: sel, namespace: default, scope: WorkloadSelector, action: Allow, rules: []}
`, "t.yaml");
const st = new TunnelState(cfg);

test("workloads by IP and node; identities", () => {
  assert.equal(st.workloadByIp("::ffff:127.0.1.2")!.name, "c");
  assert.deepEqual(st.workloadsOnNode("b").map((w) => w.name), ["s1", "s2", "s3"]);
  assert.equal(workloadIdentity(st.workloadByIp("127.0.1.2")!), "spiffe://cluster.local/ns/default/sa/client");
});

test("resolve: workload IP, VIP and hostname balanced over healthy endpoints", () => {
  assert.deepEqual(st.resolve("127.0.1.3", 8080), { workload: st.workloadByIp("127.0.1.3"), ip: "127.0.1.3", port: 8080 });
  const seen = new Set<string>();
  for (let i = 0; i < 4; i++) {
    const d = st.resolve("127.10.0.1", 80);
    assert.ok(!("error" in d));
    seen.add(`${d.ip}:${d.port}`);
  }
  assert.deepEqual([...seen].sort(), ["127.0.1.3:8080", "127.0.1.4:9090"]);
  const h = st.resolve("svc.example", 80);
  assert.ok(!("error" in h) && h.service?.name === "svc");
  assert.match((st.resolve("127.10.0.1", 81) as { error: string }).error, /no port 81/);
  assert.deepEqual(st.resolve("127.0.9.9", 1), { ip: "127.0.9.9", port: 1 });
  assert.ok("error" in st.resolve("nowhere.example", 1));
});

test("policies that apply: Global, own namespace, selected", () => {
  const names = (ip: string) => st.policiesFor(st.workloadByIp(ip)!).map((p) => p.name).sort();
  assert.deepEqual(names("127.0.1.3"), ["g", "ns", "sel"]);
  assert.deepEqual(names("127.0.1.2"), ["g", "ns"]);
  assert.deepEqual(names("127.0.1.5"), ["g"]);
});

test("a workload whose IP the config spells otherwise (upper case, IPv4-mapped) is still that workload, never passthrough", () => {
  const st = new TunnelState(parseLocalConfig(`workloads:
- {name: guarded, namespace: default, workloadIps: ["::FFFF:127.0.1.8"], node: b, protocol: HBONE}
`, "t.yaml"));
  const d = st.resolve("127.0.1.8", 7000);
  assert.ok(!("error" in d));
  assert.equal(d.workload?.name, "guarded", "not passthrough, which would skip HBONE and the workload's policies");
  assert.equal(st.workloadByIp("127.0.1.8")?.name, "guarded");
});

test("a destination reached through a service may present its workload's identity or any of the service's subjectAltNames; reached directly, only its own", () => {
  const st = new TunnelState(parseLocalConfig(`workloads:
- {name: s, namespace: default, serviceAccount: server, workloadIps: [127.0.1.3], node: b, protocol: HBONE, services: {"default/sans.example": {80: 8080}, "default/plain.example": {80: 8080}}}
services:
- {name: sans, namespace: default, hostname: sans.example, vips: [127.10.0.1], ports: {80: 8080}, subjectAltNames: ["spiffe://cluster.local/ns/default/sa/server-v2", "spiffe://example.org/ns/x/sa/y"]}
- {name: plain, namespace: default, hostname: plain.example, vips: [127.10.0.2], ports: {80: 8080}}
`, "t.yaml"));
  const own = "spiffe://cluster.local/ns/default/sa/server";
  const identities = (host: string, port: number) => {
    const d = st.resolve(host, port);
    assert.ok(!("error" in d) && d.workload, host);
    return acceptedIdentities(d.workload, d.service);
  };
  assert.deepEqual(identities("127.10.0.1", 80), [own, "spiffe://cluster.local/ns/default/sa/server-v2", "spiffe://example.org/ns/x/sa/y"]);
  assert.deepEqual(identities("sans.example", 80), [own, "spiffe://cluster.local/ns/default/sa/server-v2", "spiffe://example.org/ns/x/sa/y"]);
  assert.deepEqual(identities("127.10.0.2", 80), [own]);
  assert.deepEqual(identities("127.0.1.3", 8080), [own]);
});
