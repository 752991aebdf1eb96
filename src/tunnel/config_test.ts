import { test } from "node:test";
import assert from "node:assert/strict";
import { ConfigError, parseLocalConfig } from "./config.ts";

const GOOD = `workloads:
- uid: cluster1//v1/Pod/default/local
  name: local
  namespace: default
  serviceAccount: default
  workloadIps: ["127.0.1.2"]
  protocol: HBONE
  node: node-a
  network: ""
  services:
    "default/example.com":
      80: 8080
policies:
  - action: Allow
    rules:
    - - - notDestinationPorts:
          - 9999
    name: deny-9999
    namespace: default
    scope: Namespace
services:
- name: local
  namespace: default
  hostname: example.com
  vips:
    - /127.10.0.1
  ports:
    80: 8080
  subjectAltNames:
   - spiffe://cluster.local/ns/default/sa/local
`;

function issues(text: string) {
  try {
    parseLocalConfig(text, "local.yaml");
  } catch (e) {
    assert.ok(e instanceof ConfigError, String(e));
    return e.issues;
  }
  assert.fail("expected a ConfigError");
}

test("parses ztunnel's localhost.yaml format", () => {
  const cfg = parseLocalConfig(GOOD, "local.yaml");
  assert.equal(cfg.workloads.length, 1);
  const w = cfg.workloads[0]!;
  assert.deepEqual(w.workloadIps, ["127.0.1.2"]);
  assert.equal(w.protocol, "HBONE");
  assert.equal(w.trustDomain, "cluster.local");
  assert.deepEqual(w.services["default/example.com"], { 80: 8080 });
  assert.deepEqual(cfg.services[0]!.vips, [{ network: "", address: "127.10.0.1" }]);
  assert.deepEqual(cfg.services[0]!.subjectAltNames, ["spiffe://cluster.local/ns/default/sa/local"]);
  const p = cfg.policies[0]!;
  assert.equal(p.action, "Allow");
  assert.deepEqual(p.rules[0]![0]![0]!.notDestinationPorts, [9999]);
});

test("accepts ALLOW/DENY and bare-string matches", () => {
  const cfg = parseLocalConfig(`policies:
- name: p
  namespace: ns
  scope: GLOBAL
  action: DENY
  rules: [[[{principals: ["cluster.local/ns/a/sa/b", {Prefix: "cluster.local/ns/x/"}], namespaces: [{Presence: []}]}]]]
`, "l.yaml");
  const p = cfg.policies[0]!;
  assert.equal(p.action, "Deny");
  assert.equal(p.scope, "Global");
  assert.deepEqual(p.rules[0]![0]![0]!.principals, [{ exact: "cluster.local/ns/a/sa/b" }, { prefix: "cluster.local/ns/x/" }]);
  assert.deepEqual(p.rules[0]![0]![0]!.namespaces, [{ presence: true }]);
});

test("an unknown field names its YAML path, line and column", () => {
  const text = `workloads:
- name: a
  namespace: default
  workloadIps: ["127.0.1.2"]
- name: b
  namespace: default
  serviceAcount: oops
  workloadIps: ["127.0.1.3"]
`;
  const [i] = issues(text);
  assert.equal(i!.line, 7);
  assert.equal(i!.col, 3);
  assert.equal(i!.path, "workloads[1].serviceAcount");
  assert.match(i!.message, /unknown field "serviceAcount"/);
  assert.throws(() => parseLocalConfig(text, "local.yaml"), /^ConfigError: local\.yaml:7:3: workloads\[1\]\.serviceAcount: unknown field/);
});

test("bad values are reported where they are", () => {
  const got = issues(`workloads:
- name: a
  namespace: default
  workloadIps: ["300.1.1.1"]
  protocol: QUIC
`);
  assert.deepEqual(got.map((i) => [i.line, i.path]), [[4, "workloads[0].workloadIps[0]"], [5, "workloads[0].protocol"]]);
});

test("bad references are errors", () => {
  const got = issues(`workloads:
- name: a
  namespace: default
  workloadIps: ["127.0.1.2"]
  authorizationPolicies: ["default/nope"]
  services:
    "default/missing.example.com": {80: 8080}
- name: b
  namespace: default
  workloadIps: ["127.0.1.2"]
`);
  const msgs = got.map((i) => `${i.line}:${i.path}: ${i.message}`);
  assert.ok(msgs.some((m) => /^7:workloads\[0\]\.services\["default\/missing\.example\.com"\]: no service/.test(m)), msgs.join("\n"));
  assert.ok(msgs.some((m) => /^5:workloads\[0\]\.authorizationPolicies\[0\]: no policy "default\/nope"/.test(m)), msgs.join("\n"));
  assert.ok(msgs.some((m) => /workloads\[1\]\.workloadIps\[0\]: IP 127\.0\.1\.2 is already used/.test(m)), msgs.join("\n"));
});

test("an address is one address in every spelling: IPv6 in upper case or uncompressed, and IPv4-mapped IPv6, are read in the form lookups use, so a second spelling is a duplicate", () => {
  const cfg = parseLocalConfig(`workloads:
- {name: a, namespace: default, workloadIps: ["::FFFF:127.0.1.8", "FD00:0:0::8"]}
services:
- {name: s, namespace: default, hostname: s.example, vips: ["/::ffff:127.10.0.8", "/FD00::A"], ports: {80: 8080}}
`, "t.yaml");
  assert.deepEqual(cfg.workloads[0]!.workloadIps, ["127.0.1.8", "fd00::8"]);
  assert.deepEqual(cfg.services[0]!.vips, [{ network: "", address: "127.10.0.8" }, { network: "", address: "fd00::a" }]);
  const msgs = issues(`workloads:
- {name: a, namespace: default, workloadIps: ["127.0.1.7"]}
- {name: b, namespace: default, workloadIps: ["::ffff:127.0.1.7"]}
`).map((i) => `${i.path}: ${i.message}`);
  assert.ok(msgs.some((m) => /^workloads\[1\]\.workloadIps\[0\]: IP 127\.0\.1\.7 is already used by workload "[^"]*\/a"/.test(m)), msgs.join("\n"));
});

test("missing required fields and YAML syntax errors", () => {
  assert.match(issues(`workloads:\n- name: a\n`)[0]!.message, /missing required field "namespace"/);
  const syntax = issues(`workloads: [\n`);
  assert.equal(syntax[0]!.file, "local.yaml");
  assert.ok(syntax[0]!.line >= 1);
});

test("unsupported ztunnel features are refused, not ignored", () => {
  assert.match(issues(`workloads:\n- name: a\n  namespace: d\n  workloadIps: [127.0.0.9]\n  waypoint: {}\n`)[0]!.message, /waypoint is not supported/);
  // Fields weft's tunnel has no use for yet: accepted and ignored before issue 17's audit.
  for (const field of ["hostname: a.example", "networkMode: HostNetwork", "nativeTunnel: true", "locality: {region: r}", "capacity: 2"]) {
    const name = field.slice(0, field.indexOf(":"));
    const found = issues(`workloads:\n- name: a\n  namespace: d\n  workloadIps: [127.0.0.9]\n  ${field}\n`);
    assert.equal(found.length, 1, field);
    assert.equal(found[0]!.message, `${name} is not supported by weft's tunnel`);
    assert.equal(found[0]!.path, `workloads[0].${name}`);
  }
  const svc = issues(`services:\n- {name: s, namespace: d, hostname: s.d, ports: {80: 80}, ipFamilies: IPv4}\n`);
  assert.equal(svc[0]!.message, "ipFamilies is not supported by weft's tunnel");
});

test("an empty file is an empty config", () => {
  assert.deepEqual(parseLocalConfig("", "x.yaml"), { workloads: [], services: [], policies: [] });
});

test("a workload's uid is its key, as in ztunnel: kept as written (else Kubernetes' form), naming the workload in errors and unique", () => {
  const cfg = parseLocalConfig(`workloads:
- {uid: c1//v1/Pod/default/a, name: a, namespace: default, workloadIps: ["127.0.1.7"]}
- {name: b, namespace: default, clusterId: c2, workloadIps: ["127.0.1.8"]}
`, "t.yaml");
  assert.deepEqual(cfg.workloads.map((w) => w.uid), ["c1//v1/Pod/default/a", "c2//v1/Pod/default/b"]);
  const msgs = issues(`workloads:
- {uid: first-one, name: a, namespace: default, workloadIps: ["127.0.1.7"]}
- {uid: first-one, name: b, namespace: default, workloadIps: ["127.0.1.7"]}
`).map((i) => `${i.path}: ${i.message}`);
  assert.deepEqual(msgs, [
    'workloads[1].uid: duplicate workload uid "first-one"',
    'workloads[1].workloadIps[0]: IP 127.0.1.7 is already used by workload "first-one"',
  ]);
});

test("one network only: a workload's network other than the default \"\" and a service VIP on another network are refused as not supported", () => {
  const ok = parseLocalConfig(`workloads:\n- {name: a, namespace: d, workloadIps: [127.0.0.9], network: ""}\nservices:\n- {name: s, namespace: d, hostname: s.d, vips: ["/127.10.0.1", "127.10.0.2"], ports: {80: 80}}\n`, "t.yaml");
  assert.equal(ok.workloads[0]!.network, "");
  assert.deepEqual(ok.services[0]!.vips.map((v) => v.address), ["127.10.0.1", "127.10.0.2"]);
  const net = issues(`workloads:\n- {name: a, namespace: d, workloadIps: [127.0.0.9], network: net-2}\n`);
  assert.deepEqual(net.map((i) => [i.path, i.message]), [["workloads[0].network", `network "net-2" is not supported by weft's tunnel (it has one network, "")`]]);
  // A VIP's `network/` prefix was read and then ignored, so a VIP of another network answered here.
  const vip = issues(`services:\n- {name: s, namespace: d, hostname: s.d, vips: ["/127.10.0.1", "net-2/127.10.0.2"], ports: {80: 80}}\n`);
  assert.deepEqual(vip.map((i) => [i.path, i.message]), [["services[0].vips[1]", `network "net-2" is not supported by weft's tunnel (it has one network, "")`]]);
});

test("a service's subjectAltNames are kept, and each must be a SPIFFE URI (an error names its path and line)", () => {
  const cfg = parseLocalConfig(`services:
- name: s
  namespace: d
  hostname: s.d
  ports: {80: 80}
  subjectAltNames: ["spiffe://cluster.local/ns/d/sa/x", "spiffe://example.org/ns/e/sa/y"]
- {name: t, namespace: d, hostname: t.d, ports: {80: 80}}
`, "t.yaml");
  assert.deepEqual(cfg.services.map((s) => s.subjectAltNames), [["spiffe://cluster.local/ns/d/sa/x", "spiffe://example.org/ns/e/sa/y"], []]);
  const bad = issues(`services:
- name: s
  namespace: d
  hostname: s.d
  ports: {80: 80}
  subjectAltNames:
  - spiffe://cluster.local/ns/d/sa/x
  - server.d.svc.cluster.local
  - spiffe://cluster.local/sa/x
`);
  const spiffe = "is not a SPIFFE URI (spiffe://<trust domain>/ns/<namespace>/sa/<service account>)";
  assert.deepEqual(bad.map((i) => [i.line, i.path, i.message]), [
    [8, "services[0].subjectAltNames[1]", `"server.d.svc.cluster.local" ${spiffe}`],
    [9, "services[0].subjectAltNames[2]", `"spiffe://cluster.local/sa/x" ${spiffe}`],
  ]);
});
