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

test("without upgrade_configs no switch is allowed", () => {
  const r = parseBootstrap(`
static_resources:
  listeners:
  - name: l
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: s
          route_config:
            virtual_hosts:
            - { name: all, domains: ["*"], routes: [{ match: { prefix: "/" }, direct_response: { status: 200 } }] }
          http_filters: [{ name: envoy.filters.http.router }]
`);
  assert.ok(r.ok, r.ok ? "" : JSON.stringify(r.errors));
  const chain = r.bootstrap.listeners[0]!.filterChains[0]!;
  assert.ok(chain.kind === "http");
  const hcm = chain.http;
  const route = hcm.routeConfig.virtualHosts[0]!.routes[0]!;
  assert.equal(switchAllowed({ kind: "connect" }, hcm, route), false);
  assert.equal(switchAllowed({ kind: "upgrade", type: "websocket" }, hcm, route), false);
});
