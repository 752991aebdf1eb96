import { test } from "node:test";
import assert from "node:assert/strict";
import { parseBootstrap } from "../config/mod.ts";
import { parseRequestHead } from "./http1/mod.ts";
import { protocolSwitch, switchAllowed } from "./upgrades.ts";

const LIMITS = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

function switchOf(head: string): ReturnType<typeof protocolSwitch> {
  const r = parseRequestHead(new TextEncoder().encode(head), LIMITS);
  if (r.status !== "ok") throw new Error(`head not parsed: ${JSON.stringify(r)}`);
  return protocolSwitch(r.head);
}

test("CONNECT and Upgrade with Connection: upgrade ask to switch; h2c and a bare Upgrade do not", () => {
  assert.deepEqual(switchOf("CONNECT example.com:443 HTTP/1.1\r\nhost: example.com:443\r\n\r\n"), { kind: "connect" });
  assert.deepEqual(switchOf("GET /ws HTTP/1.1\r\nhost: x\r\nconnection: keep-alive, Upgrade\r\nupgrade: websocket\r\n\r\n"), { kind: "upgrade", type: "websocket" });
  assert.equal(switchOf("GET / HTTP/1.1\r\nhost: x\r\nconnection: Upgrade, HTTP2-Settings\r\nupgrade: H2C\r\nhttp2-settings: AAA\r\n\r\n"), null);
  assert.equal(switchOf("GET / HTTP/1.1\r\nhost: x\r\nupgrade: websocket\r\n\r\n"), null);
  assert.equal(switchOf("GET / HTTP/1.1\r\nhost: x\r\n\r\n"), null);
});

function bootstrapWith(hcmExtra: string, routeExtra: string): ReturnType<typeof parseBootstrap> {
  return parseBootstrap(`
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s${hcmExtra}
          route_config:
            virtual_hosts:
            - { name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, route: { cluster: c${routeExtra} } }] }
          http_filters: [{ name: envoy.filters.http.router }]
  clusters:
  - name: c
    load_assignment: { cluster_name: c, endpoints: [{ lb_endpoints: [{ endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: 1 } } } }] }] }
`);
}

/** The HCM of the only listener's only chain, and its only route. */
function hcmAndRoute(hcmExtra: string, routeExtra: string) {
  const r = bootstrapWith(hcmExtra, routeExtra);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.errors));
  const chain = r.bootstrap.listeners[0]!.filterChains[0]!;
  assert.ok(chain.kind === "http");
  return { hcm: chain.http, route: chain.http.routeConfig.virtualHosts[0]!.routes[0]! };
}

function allowed(hcmExtra: string, routeExtra: string, type: string): boolean {
  const { hcm, route } = hcmAndRoute(hcmExtra, routeExtra);
  return switchAllowed({ kind: "upgrade", type }, hcm, route);
}

test("without upgrade_configs no switch is allowed", () => {
  const { hcm, route } = hcmAndRoute("", "");
  assert.equal(switchAllowed({ kind: "connect" }, hcm, route), false);
  assert.equal(switchAllowed({ kind: "upgrade", type: "websocket" }, hcm, route), false);
});

test("upgrade_configs: the HCM's enable a type case-insensitively; a route's entry overrides the HCM's either way", () => {
  const hcmWs = "\n          upgrade_configs: [{ upgrade_type: WebSocket }]";
  assert.equal(allowed(hcmWs, "", "websocket"), true);
  assert.equal(allowed(hcmWs, "", "WEBSOCKET"), true);
  assert.equal(allowed(hcmWs, "", "other"), false);
  assert.equal(allowed("\n          upgrade_configs: [{ upgrade_type: websocket, enabled: false }]", "", "websocket"), false);
  assert.equal(allowed(hcmWs, ", upgrade_configs: [{ upgrade_type: websocket, enabled: false }]", "websocket"), false);
  assert.equal(allowed("\n          upgrade_configs: [{ upgrade_type: websocket, enabled: false }]", ", upgrade_configs: [{ upgrade_type: websocket }]", "websocket"), true);
  assert.equal(allowed("", ", upgrade_configs: [{ upgrade_type: custom }]", "custom"), true);
  assert.equal(allowed(hcmWs, "", "connect"), false);
  const { hcm, route } = hcmAndRoute(hcmWs, "");
  assert.equal(switchAllowed({ kind: "connect" }, hcm, route), false);
});

test("upgrade_configs: a non-empty filters list, a duplicate type and a missing type are refused, naming the field", () => {
  const errors = (hcmExtra: string, routeExtra = "") => {
    const r = bootstrapWith(hcmExtra, routeExtra);
    assert.equal(r.ok, false);
    return r.ok ? "" : r.errors.map((e) => `${e.path}: ${e.message}`).join("\n");
  };
  assert.match(
    errors("\n          upgrade_configs: [{ upgrade_type: websocket, filters: [{ name: envoy.filters.http.router }] }]"),
    /upgrade_configs\[0\]\.filters: is not supported yet/,
  );
  assert.match(errors("\n          upgrade_configs: [{ upgrade_type: websocket }, { upgrade_type: WebSocket }]"), /upgrade_configs\[1\]\.upgrade_type: duplicates upgrade type "WebSocket"/);
  assert.match(errors("\n          upgrade_configs: [{ enabled: true }]"), /upgrade_configs\[0\]\.upgrade_type/);
  assert.match(errors("", ", upgrade_configs: [{ upgrade_type: CONNECT, connect_config: {} }]"), /connect_config: is not supported yet/);
  // An empty filters list is Envoy's default: accepted.
  assert.ok(bootstrapWith("\n          upgrade_configs: [{ upgrade_type: websocket, filters: [] }]", "").ok);
});
