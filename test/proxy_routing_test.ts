/**
 * Issue 2, points 2 and 3: a real `weft proxy serve --concurrency 4` in front of two real upstreams.
 * Every response must come from the right upstream, /stats must count exactly what was sent, and
 * /workers and /connections must account for every connection, each on one worker.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import type { ConnectionsResponse, WorkersResponse } from "../src/admin/wire.ts";

function config(a: number, b: number): string {
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
stats_flush_interval: 0.2s
static_resources:
  listeners:
  - name: edge
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
    filter_chains:
    - filters:
      - name: envoy.filters.network.http_connection_manager
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager
          stat_prefix: edge
          route_config:
            name: routes
            virtual_hosts:
            - name: api
              domains: ["api.example.com"]
              routes:
              - match: { prefix: "/" }
                route: { cluster: b }
            - name: all
              domains: ["*"]
              routes:
              - match: { path: "/exact" }
                route: { cluster: b }
              - match: { safe_regex: { regex: "/re/[0-9]+" } }
                route: { cluster: a }
              - match:
                  prefix: "/h"
                  headers:
                  - name: x-route
                    string_match: { exact: "b" }
                route: { cluster: b }
              - match: { prefix: "/h" }
                route: { cluster: a }
              - match: { prefix: "/w" }
                route:
                  weighted_clusters:
                    clusters:
                    - { name: a, weight: 50 }
                    - { name: b, weight: 50 }
              - match: { prefix: "/direct" }
                direct_response: { status: 200, body: { inline_string: "direct" } }
              - match: { prefix: "/a/" }
                route: { cluster: a }
          http_filters:
          - name: envoy.filters.http.router
            typed_config:
              "@type": type.googleapis.com/envoy.extensions.filters.http.router.v3.Router
  clusters:
  - name: a
    type: STATIC
    connect_timeout: 1s
    load_assignment:
      cluster_name: a
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${a} } } }
  - name: b
    type: STATIC
    connect_timeout: 1s
    lb_policy: LEAST_REQUEST
    load_assignment:
      cluster_name: b
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${b} } } }
`;
}

/** Request → the upstream that must answer ("direct" for the direct response, "a|b" for weighted). */
const CASES: [string, Record<string, string>, string][] = [
  ["/exact", {}, "b"],
  ["/re/123", {}, "a"],
  ["/h/x", { "x-route": "b" }, "b"],
  ["/h/x", {}, "a"],
  ["/w/1", {}, "a|b"],
  ["/direct", {}, "direct"],
  ["/a/thing?q=1", {}, "a"],
  ["/any", { host: "api.example.com" }, "b"],
];

function check(res: { status: number; body: string }, expect: string, path: string): string {
  assert.equal(res.status, 200, `${path}: ${res.body}`);
  if (expect === "direct") {
    assert.equal(res.body, "direct");
    return "direct";
  }
  const m = res.body.match(/^upstream=(\w+) GET (\S+)/);
  assert.ok(m, `${path}: unexpected body ${res.body}`);
  assert.ok(expect.split("|").includes(m[1]!), `${path} went to ${m[1]}, expected ${expect}`);
  assert.equal(m[2], path);
  return m[1]!;
}

test("routes 2,400 requests to the right upstream and counts them exactly", { timeout: 120_000 }, async () => {
  const a = await startUpstream("a");
  const b = await startUpstream("b");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config(a.port, b.port)), "--concurrency", "4"]);
  try {
    const port = weft.listeners.edge!;
    const expected = { a: 0, b: 0, direct: 0 };
    const count = (who: string) => expected[who as keyof typeof expected]++;

    // 400 requests, each on a new connection.
    for (let i = 0; i < 400; i++) {
      const [path, headers, expect] = CASES[i % CASES.length]!;
      const c = await RawConnection.open(port);
      count(check(await c.request("GET", path, { ...headers, connection: "close" }), expect, path));
      await c.waitClosed();
    }
    // 2,000 requests over 20 keep-alive connections, 100 each.
    const keepAlive = await Promise.all(Array.from({ length: 20 }, () => RawConnection.open(port)));
    await Promise.all(keepAlive.map(async (c, k) => {
      for (let i = 0; i < 100; i++) {
        const [path, headers, expect] = CASES[(i + k) % CASES.length]!;
        count(check(await c.request("GET", path, headers), expect, path));
      }
    }));
    const totalConnections = 400 + 20;
    assert.ok(expected.a > 0 && expected.b > 0 && expected.direct > 0);

    // The 20 keep-alive connections are still open: /connections lists exactly those.
    const conns = await weft.adminJson<ConnectionsResponse>("/connections");
    assert.deepEqual(conns.connections.map((c) => c.remotePort).sort(), keepAlive.map((c) => c.localPort).sort());
    for (const c of conns.connections) assert.equal(c.requests, 100);

    const stats = await eventually("exact counters", async () => {
      const text = await (await weft.admin("/stats")).text();
      const s = Object.fromEntries(text.trim().split("\n").map((l) => l.split(": ")).filter((p) => p.length === 2).map(([k, v]) => [k, Number(v)]));
      return s["http.edge.downstream_rq_total"] === 2400 && s["http.edge.downstream_cx_total"] === totalConnections ? s : null;
    });
    assert.equal(stats["http.edge.downstream_rq_2xx"], 2400);
    assert.equal(stats["http.edge.downstream_rq_4xx"], 0);
    assert.equal(stats["http.edge.downstream_rq_5xx"], 0);
    assert.equal(stats["http.edge.rq_direct_response"], expected.direct);
    assert.equal(stats["cluster.a.upstream_rq_total"], expected.a);
    assert.equal(stats["cluster.b.upstream_rq_total"], expected.b);
    assert.equal(stats["cluster.a.upstream_rq_2xx"], expected.a);
    assert.equal(stats["cluster.b.upstream_rq_200"], expected.b);
    assert.equal(stats["cluster.a.upstream_rq_5xx"], 0);
    assert.equal(a.requests, expected.a);
    assert.equal(b.requests, expected.b);
    const listenerPrefix = `listener.127.0.0.1_${port}.`;
    assert.equal(stats[listenerPrefix + "downstream_cx_total"], totalConnections);
    let perWorker = 0;
    for (let w = 0; w < 4; w++) perWorker += stats[`${listenerPrefix}worker_${w}.downstream_cx_total`]!;
    assert.equal(perWorker, totalConnections);

    const workers = await weft.adminJson<WorkersResponse>("/workers");
    assert.equal(workers.workers.length, 4);
    assert.equal(workers.workers.reduce((n, w) => n + w.totalConnections, 0), totalConnections);
    for (const w of workers.workers) assert.ok(w.totalConnections > 0, `worker ${w.id} got no connection`);
    assert.equal(workers.workers.reduce((n, w) => n + w.openConnections, 0), 20);
    assert.equal(workers.workers.reduce((n, w) => n + w.totalRequests, 0), 2400);

    for (const c of keepAlive) c.close();
    await eventually("empty connection table", async () => {
      const r = await weft.adminJson<ConnectionsResponse>("/connections");
      return r.total === 0 ? r : null;
    });
  } finally {
    assert.equal(await weft.stop(), 0);
    await a.close();
    await b.close();
  }
});

test("/connections lists exactly 50 held keep-alive connections, each on one worker", { timeout: 60_000 }, async () => {
  const a = await startUpstream("a");
  const b = await startUpstream("b");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config(a.port, b.port)), "--concurrency", "4"]);
  try {
    const port = weft.listeners.edge!;
    const held = await Promise.all(Array.from({ length: 50 }, () => RawConnection.open(port)));
    await Promise.all(held.map((c) => c.request("GET", "/a/held")));
    const conns = await weft.adminJson<ConnectionsResponse>("/connections");
    assert.equal(conns.total, 50);
    assert.deepEqual(conns.connections.map((c) => c.remotePort).sort(), held.map((c) => c.localPort).sort());
    assert.equal(new Set(conns.connections.map((c) => c.id)).size, 50);
    for (const c of conns.connections) {
      assert.ok(c.worker >= 0 && c.worker < 4);
      assert.equal(c.listener, "edge");
      assert.equal(c.requests, 1);
      assert.ok(c.bytesIn > 0 && c.bytesOut > 0);
    }
    // Per-worker views partition the table.
    let sum = 0;
    for (let w = 0; w < 4; w++) {
      const r = await weft.adminJson<ConnectionsResponse>(`/connections?worker=${w}`);
      for (const c of r.connections) assert.equal(c.worker, w);
      sum += r.total;
    }
    assert.equal(sum, 50);
    for (const c of held) c.close();
    const started = Date.now();
    await eventually("table empty after close", async () => {
      const c = await weft.adminJson<ConnectionsResponse>("/connections");
      return c.total === 0;
    });
    assert.ok(Date.now() - started < 2000);
  } finally {
    assert.equal(await weft.stop(), 0);
    await a.close();
    await b.close();
  }
});

test("a safe_regex that backtracks exponentially in JavaScript, against a 60 KiB path, does not hold the worker", { timeout: 60_000 }, async () => {
  // One worker, so a frozen loop would also starve the second client; 96 KiB of head allowed.
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", bootstrapYaml({
    hcm: "\n          max_request_headers_kb: 96",
    routes: `
              - match: { safe_regex: { regex: "/(a+)+$" } }
                direct_response: { status: 200, body: { inline_string: "nested" } }
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "fallback" } }`,
    clusters: [],
  }))]);
  try {
    const port = weft.listeners.edge!;
    const attacker = await RawConnection.open(port);
    const other = await RawConnection.open(port);
    const a = `/${"a".repeat(60 * 1024)}`;
    const started = Date.now();
    const [miss, served] = await Promise.all([
      attacker.request("GET", `${a}!`, {}, "", 10_000),
      // Sent right behind it: answered only once the worker's loop is free again.
      other.request("GET", "/other", {}, "", 10_000),
    ]);
    assert.equal(served.body, "fallback");
    assert.equal(miss.body, "fallback");
    assert.equal((await attacker.request("GET", a, {}, "", 10_000)).body, "nested");
    assert.ok(Date.now() - started < 5000, `${Date.now() - started} ms`);
    const stats = parseStats(await (await weft.admin("/stats")).text());
    assert.equal(stats["server.worker_0.watchdog_mega_miss"], 0);
    attacker.close();
    other.close();
  } finally {
    assert.equal(await weft.stop(), 0);
  }
});
