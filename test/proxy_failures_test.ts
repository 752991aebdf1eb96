/**
 * Issue 2, point 5: every failure answers as Envoy does (status and body), increments its stat, and
 * leaves the worker serving.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { freePort } from "./helpers/ports.ts";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { startWeft, writeTempFile } from "./helpers/weft_process.ts";


test("failures answer with Envoy's status and body, count, and keep the worker serving", { timeout: 60_000 }, async () => {
  const ok = await startUpstream("ok");
  // Accepts the request and never answers: the route timeout must fire.
  const silent = await startUpstream("silent", () => {});
  // Closes the connection as soon as a request arrives.
  const rude = await startUpstream("rude", (req) => req.socket.destroy());
  // A port nothing listens on.
  const dead = await freePort();
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/ok" }
                route: { cluster: ok }
              - match: { prefix: "/empty" }
                route: { cluster: empty }
              - match: { prefix: "/dead" }
                route: { cluster: dead }
              - match: { prefix: "/slow" }
                route: { cluster: silent, timeout: 0.3s }
              - match: { prefix: "/rude" }
                route: { cluster: rude }
              - match: { prefix: "/dns" }
                route: { cluster: dns }`,
    clusters: [
      { name: "ok", endpoints: [ok.port] },
      { name: "empty", endpoints: [] },
      { name: "dead", endpoints: [dead], connectTimeout: "0.5s" },
      { name: "silent", endpoints: [silent.port] },
      { name: "rude", endpoints: [rude.port] },
      { name: "dns", endpoints: [ok.port], type: "STRICT_DNS", host: "localhost" },
    ],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const port = weft.listeners.edge!;
    const stats = async () => parseStats(await (await weft.admin("/stats")).text());
    const before = await stats();
    const c = await RawConnection.open(port);

    let r = await c.request("GET", "/nowhere");
    assert.equal(r.status, 404);
    assert.equal(r.body, "");

    r = await c.request("GET", "/empty");
    assert.deepEqual([r.status, r.body], [503, "no healthy upstream"]);

    r = await c.request("GET", "/dead");
    assert.equal(r.status, 503);
    assert.match(r.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: connection failure/);

    r = await c.request("GET", "/slow");
    assert.deepEqual([r.status, r.body], [504, "upstream request timeout"]);

    r = await c.request("GET", "/rude");
    assert.equal(r.status, 503);
    assert.match(r.body, /^upstream connect error or disconnect\/reset before headers\. reset reason: connection termination/);

    // A STRICT_DNS cluster resolves its name on main and serves.
    r = await c.request("GET", "/dns");
    assert.equal(r.status, 200);

    // The same keep-alive connection still works after all of that.
    r = await c.request("GET", "/ok");
    assert.equal(r.status, 200);
    c.close();

    // Malformed request: 400 and close.
    const bad = await RawConnection.open(port);
    bad.write("GET / HTTP/1.1\r\nhost: x\r\nbad header\r\n\r\n");
    r = await bad.readResponse();
    assert.equal(r.status, 400);
    await bad.waitClosed();

    // Request headers over 60 KiB (the default max_request_headers_kb): 431.
    const big = await RawConnection.open(port);
    big.write(`GET /ok HTTP/1.1\r\nhost: x\r\nx-big: ${"a".repeat(61 * 1024)}\r\n\r\n`);
    r = await big.readResponse();
    assert.equal(r.status, 431);
    await big.waitClosed();

    const after = await stats();
    const d = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    assert.equal(d("http.edge.no_route"), 1);
    assert.equal(d("cluster.empty.upstream_cx_none_healthy"), 1);
    assert.equal(d("cluster.dead.upstream_cx_connect_fail"), 1);
    assert.equal(d("cluster.dead.upstream_rq_503"), 1);
    assert.equal(d("cluster.silent.upstream_rq_timeout"), 1);
    assert.equal(d("cluster.silent.upstream_rq_504"), 1);
    assert.equal(d("cluster.rude.upstream_rq_503"), 1);
    assert.equal(d("http.edge.downstream_cx_protocol_error"), 2);
    assert.equal(d("http.edge.downstream_rq_header_overflow"), 1);
    assert.equal(d("http.edge.downstream_rq_4xx"), 3);
    assert.equal(d("http.edge.downstream_rq_5xx"), 4);
    assert.equal(d("http.edge.downstream_rq_2xx"), 2);
    assert.equal(d("cluster.dns.upstream_rq_200"), 1);

    // And the (single) worker serves new connections afterwards.
    const again = await RawConnection.open(port);
    assert.equal((await again.request("GET", "/ok")).status, 200);
    again.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await Promise.all([ok.close(), silent.close(), rude.close()]);
  }
});
