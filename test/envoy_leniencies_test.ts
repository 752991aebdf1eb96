/**
 * What Envoy accepts that a strict reading of its protos would not: a listener without a name (Envoy
 * names it with a random UUID) and enum values in any case (`round_robin`, `codec_type: auto`: Envoy
 * parses with protobuf's case_insensitive_enum_parsing). Checked with `proxy validate` and a real
 * `proxy serve` answering through a lower-case-configured cluster.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { runWeft, startWeft, writeTempFile } from "./helpers/weft_process.ts";
import { startUpstream } from "./helpers/upstream.ts";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

function validate(path: string) {
  return runWeft("proxy", "validate", "-c", path);
}

/** An unnamed listener, every enum in lower or mixed case. */
function lenientYaml(upstreamPort: number): string {
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
static_resources:
  listeners:
  - address: { socket_address: { address: 127.0.0.1, port_value: 0, protocol: tcp } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: ingress_http
          codec_type: auto
          route_config:
            virtual_hosts:
            - name: all
              domains: ["*"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: backend }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: backend
    type: static
    lb_policy: Round_Robin
    dns_lookup_family: v4_only
    connect_timeout: 1s
    load_assignment:
      cluster_name: backend
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${upstreamPort} } } }
`;
}

test("validate: an unnamed listener and lower-case enum names are accepted, as Envoy accepts them", () => {
  const r = validate(writeTempFile("lenient.yaml", lenientYaml(8080)));
  assert.equal(r.stderr, "");
  assert.equal(r.stdout, "ok\n");
  assert.equal(r.code, 0);
});

test("validate: an enum name that is no value in any case is still refused with the valid ones", () => {
  const r = validate(writeTempFile("bad-enum.yaml", lenientYaml(8080).replace("lb_policy: Round_Robin", "lb_policy: round_robbin")));
  assert.equal(r.code, 1);
  assert.match(r.stderr, /static_resources\.clusters\[0\]\.lb_policy: must be one of ROUND_ROBIN, .* got "round_robbin"/);
});

test("serve: the unnamed listener is named with a UUID in /listeners and serves through the lower-case cluster", async () => {
  const upstream = await startUpstream("backend");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("lenient.yaml", lenientYaml(upstream.port)), "--concurrency", "1"]);
  try {
    const names = Object.keys(weft.listeners);
    assert.equal(names.length, 1, weft.log());
    const [name] = names as [string];
    assert.match(name, UUID);
    const ls = await weft.adminJson<{ listener_statuses: { name: string }[] }>("/listeners?format=json");
    assert.deepEqual(ls.listener_statuses.map((l) => l.name), [name]);
    const res = await fetch(`http://127.0.0.1:${weft.listeners[name]}/x`);
    assert.equal(res.status, 200);
    assert.match(await res.text(), /backend/);
  } finally {
    await weft.stop();
    await upstream.close();
  }
});
