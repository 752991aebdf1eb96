/**
 * Issue 17's field audit (src/config/README.md): HTTP connection manager and route fields whose
 * effect no other test showed, each seen on the wire through a real weft and a real upstream.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { startWeft, writeTempFile } from "./helpers/weft_process.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { portThatNeverAccepts } from "./helpers/ports.ts";
import type { TasksResponse } from "../src/admin/wire.ts";

test("server_name, generate_request_id, max_requests_per_connection, idle_timeout, max_headers_count, host_rewrite_literal and redirects take effect", { timeout: 60_000 }, async () => {
  // The upstream answers with the Host and x-request-id it received.
  const up = await startUpstream("up", (req, res) => {
    req.resume();
    req.on("end", () => res.end(`host=${req.headers.host} request-id=${req.headers["x-request-id"] ?? "none"}`));
  });
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", bootstrapYaml({
    hcm: `
          server_name: edge-x
          generate_request_id: false
          common_http_protocol_options: { max_requests_per_connection: 2, idle_timeout: 0.5s, max_headers_count: 5 }`,
    routes: `
              - match: { prefix: "/host" }
                route: { cluster: up, host_rewrite_literal: rewritten.example }
              - match: { path: "/redir" }
                redirect: { https_redirect: true, host_redirect: new.example, port_redirect: 8443, path_redirect: "/new", response_code: PERMANENT_REDIRECT }
              - match: { path: "/scheme" }
                redirect: { scheme_redirect: wss }
              - match: { prefix: "/old/" }
                redirect: { prefix_rewrite: "/new/", strip_query: true }
              - match: { prefix: "/" }
                route: { cluster: up }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  }))]);
  try {
    const port = weft.listeners.edge!;
    const c = await RawConnection.open(port);
    const first = await c.request("GET", "/host", { host: "client.example" });
    assert.equal(first.body, "host=rewritten.example request-id=none");
    assert.equal(first.headers["server"], "edge-x");
    assert.equal(first.headers["connection"], undefined);
    // The second request is the last this connection may carry.
    const second = await c.request("GET", "/", { host: "client.example" });
    assert.equal(second.body, "host=client.example request-id=none");
    assert.equal(second.headers["connection"], "close");

    const r = await RawConnection.open(port);
    const permanent = await r.request("GET", "/redir?q=1", { host: "client.example:8080" });
    assert.equal(permanent.status, 308);
    assert.equal(permanent.headers["location"], "https://new.example:8443/new?q=1");
    const moved = await r.request("GET", "/old/x?q=1", { host: "client.example" });
    assert.equal(moved.status, 301);
    assert.equal(moved.headers["location"], "http://client.example/new/x");
    const s = await RawConnection.open(port); // r has had its two requests
    const scheme = await s.request("GET", "/scheme", { host: "client.example" });
    assert.deepEqual([scheme.status, scheme.headers["location"]], [301, "wss://client.example/scheme"]);
    s.close();
    // idle_timeout: the idle keep-alive connection is closed by weft.
    if (!r.closed) await withTimeout(new Promise<void>((resolve) => r.socket.once("close", () => resolve())), 5000, "the idle connection to close");
    c.close();
    // max_headers_count: five fields pass, six are Envoy's 431.
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`x-f${i}`, "1"]));
    const five = await RawConnection.open(port);
    assert.equal((await five.request("GET", "/", { host: "h", ...fields(4) })).status, 200);
    five.close();
    const six = await RawConnection.open(port);
    assert.equal((await six.request("GET", "/", { host: "h", ...fields(5) })).status, 431);
    six.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("stats_flush_interval sets how often /events sends a snapshot", { timeout: 60_000 }, async () => {
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", bootstrapYaml({
    flush: "0.25s",
    routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200 }`,
    clusters: [],
  }))]);
  try {
    const abort = new AbortController();
    const response = await fetch(`${weft.adminUrl}/events`, { signal: abort.signal });
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let text = "";
    const started = Date.now();
    // The first snapshot comes at once, then one per flush: 0.25 s apart (the default is 1 s).
    while ((text.match(/event: snapshot/g) ?? []).length < 5 && Date.now() - started < 10_000) {
      const { value, done } = await reader.read();
      if (done) break;
      text += decoder.decode(value, { stream: true });
    }
    const elapsed = Date.now() - started;
    abort.abort();
    assert.ok((text.match(/event: snapshot/g) ?? []).length >= 5);
    assert.ok(elapsed < 2500, `5 snapshots took ${elapsed} ms`);
  } finally {
    assert.equal(await weft.stop(), 0);
  }
});

test("a route's name labels its requests in /tasks", { timeout: 60_000 }, async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => (release = r));
  let arrived!: () => void;
  const arrivedP = new Promise<void>((r) => (arrived = r));
  const up = await startUpstream("held", (req, res) => {
    arrived();
    req.resume();
    void released.then(() => res.end("done"));
  });
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", bootstrapYaml({
    routes: `
              - name: checkout-api
                match: { prefix: "/" }
                route: { cluster: held }`,
    clusters: [{ name: "held", endpoints: [up.port] }],
  }))]);
  try {
    const c = await RawConnection.open(weft.listeners.edge!);
    const inflight = c.request("GET", "/cart", {}, "", 20_000);
    await arrivedP;
    const tasks = await weft.adminJson<TasksResponse>("/tasks");
    assert.deepEqual(tasks.tasks.map((t) => [t.route, t.cluster, t.path]), [["checkout-api", "held", "/cart"]]);
    release();
    assert.equal((await inflight).body, "done");
    c.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("filter_chains[].name, route_config.name and virtual_hosts[].name show in /config_dump where Envoy shows them", { timeout: 60_000 }, async () => {
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200 }`,
    clusters: [],
  })
    .replace("filter_chains:\n    - filters:", "filter_chains:\n    - name: chain-plain\n      filters:")
    .replace("route_config:\n            virtual_hosts:", "route_config:\n            name: routes-edge\n            virtual_hosts:")
    .replace("- name: all\n", "- name: vh-everything\n");
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", yaml)]);
  try {
    type Dump = { configs: { bootstrap?: { static_resources: { listeners: { filter_chains: { name?: string; filters: { typed_config: { route_config: { name?: string; virtual_hosts: { name: string }[] } } }[] }[] }[] } } }[] };
    const dump = await weft.adminJson<Dump>("/config_dump");
    const chain = dump.configs[0]!.bootstrap!.static_resources.listeners[0]!.filter_chains[0]!;
    const routeConfig = chain.filters[0]!.typed_config.route_config;
    assert.deepEqual([chain.name, routeConfig.name, routeConfig.virtual_hosts.map((v) => v.name)], ["chain-plain", "routes-edge", ["vh-everything"]]);
  } finally {
    assert.equal(await weft.stop(), 0);
  }
});

test("connect_timeout: a connect that never completes ends in Envoy's 503 after the cluster's timeout", { timeout: 60_000 }, async () => {
  const stuck = await portThatNeverAccepts();
  try {
    const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", bootstrapYaml({
      routes: `
              - match: { prefix: "/short" }
                route: { cluster: short }
              - match: { prefix: "/long" }
                route: { cluster: long }`,
      clusters: [{ name: "short", endpoints: [stuck.port], connectTimeout: "0.25s" }, { name: "long", endpoints: [stuck.port], connectTimeout: "1.5s" }],
    }))]);
    try {
      const timed = async (path: string) => {
        const c = await RawConnection.open(weft.listeners.edge!);
        const startedAt = Date.now();
        const r = await c.request("GET", path, {}, "", 10_000);
        c.close();
        return { status: r.status, body: r.body, ms: Date.now() - startedAt };
      };
      const short = await timed("/short");
      const long = await timed("/long");
      const body = "upstream connect error or disconnect/reset before headers. reset reason: connection timeout";
      assert.deepEqual([short.status, short.body, long.status, long.body], [503, body, 503, body]);
      // Each waited its own cluster's timeout (the default would be 5 s).
      assert.ok(short.ms >= 240 && short.ms < 1200, `0.25s connect_timeout answered after ${short.ms} ms`);
      assert.ok(long.ms >= 1490 && long.ms < 3500, `1.5s connect_timeout answered after ${long.ms} ms`);
      const stats = parseStats(await (await weft.admin("/stats")).text());
      assert.deepEqual([stats["cluster.short.upstream_cx_connect_timeout"], stats["cluster.long.upstream_cx_connect_timeout"]], [1, 1]);
    } finally {
      assert.equal(await weft.stop(), 0);
    }
  } finally {
    stuck.close();
  }
});
