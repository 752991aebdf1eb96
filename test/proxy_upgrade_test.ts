/**
 * Issue 17: CONNECT and `Upgrade` on the edge. Without `upgrade_configs` (not supported yet), Envoy
 * answers a CONNECT that no `connect_matcher` route takes with 404 (the route is not found: CONNECT
 * has no path), and an upgrade on a route with upgrades off with 403 and an empty body, counting
 * `downstream_rq_ws_on_non_ws_route` and closing the connection. Nothing reaches the upstream, and
 * an upstream connection that switched protocols (101) is never pooled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { startWeft, writeTempFile } from "./helpers/weft_process.ts";

test("CONNECT gets 404 and an Upgrade gets 403, as Envoy without upgrade_configs; the upstream sees neither", { timeout: 60_000 }, async () => {
  const up = await startUpstream("up");
  let tunnels = 0;
  let upgrades = 0;
  const hijacked: Socket[] = [];
  // Were either forwarded, the upstream would accept them.
  up.server.on("connect", (_req, socket: Socket) => {
    tunnels++;
    hijacked.push(socket);
    socket.write("HTTP/1.1 200 Connection Established\r\n\r\n");
  });
  up.server.on("upgrade", (_req, socket: Socket) => {
    upgrades++;
    hijacked.push(socket);
    socket.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: websocket\r\nconnection: upgrade\r\n\r\n");
  });
  const yaml = bootstrapYaml({
    routes: `
              - match: { safe_regex: { regex: ".*" } }
                route: { cluster: up }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const port = weft.listeners.edge!;
    const stats = async () => parseStats(await (await weft.admin("/stats")).text());
    const before = await stats();

    const connect = await RawConnection.open(port);
    connect.write("CONNECT 127.0.0.1:9 HTTP/1.1\r\nhost: 127.0.0.1:9\r\n\r\n");
    let r = await connect.readResponse(5000);
    assert.deepEqual([r.status, r.body], [404, ""]);
    // Bytes after a CONNECT head are tunnel data, never a next request: the connection ends.
    await connect.waitClosed();

    const ws = await RawConnection.open(port);
    ws.write("GET /chat HTTP/1.1\r\nhost: x\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n\r\n");
    r = await ws.readResponse(5000);
    assert.deepEqual([r.status, r.body], [403, ""]);
    assert.equal(r.headers["connection"], "close");
    await ws.waitClosed();

    // Envoy's HTTP/1 codec ignores an h2c upgrade: the request is served as a plain one.
    const h2c = await RawConnection.open(port);
    r = await h2c.request("GET", "/plain", { connection: "Upgrade, HTTP2-Settings", upgrade: "h2c", "http2-settings": "AAMAAABkAAQCAAAAAAIAAAAA" });
    assert.equal(r.status, 200);
    assert.match(r.body, /^upstream=up GET \/plain/);
    // An Upgrade header without `Connection: upgrade` is no upgrade either.
    r = await h2c.request("GET", "/plain2", { upgrade: "websocket" });
    assert.equal(r.status, 200);
    h2c.close();

    const after = await stats();
    const d = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    assert.equal(d("http.edge.no_route"), 1);
    assert.equal(d("http.edge.downstream_rq_ws_on_non_ws_route"), 1);
    assert.equal(d("http.edge.downstream_rq_4xx"), 2);
    assert.equal(d("http.edge.downstream_rq_2xx"), 2);
    assert.deepEqual([tunnels, upgrades, up.requests], [0, 0, 2]);
  } finally {
    for (const s of hijacked) s.destroy();
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("an upstream connection that answered 101 to a plain request is dropped (502), never pooled", { timeout: 60_000 }, async () => {
  // A raw upstream: the first connection switches protocols unasked (and then waits for the client
  // to speak the new protocol), later ones answer normally.
  const sockets: Socket[] = [];
  let firstClosed!: () => void;
  const firstClosedByProxy = new Promise<void>((r) => (firstClosed = r));
  const raw = createServer((s) => {
    const index = sockets.length;
    sockets.push(s);
    if (index === 0) s.on("close", () => firstClosed());
    s.on("error", () => {});
    let seen = "";
    s.on("data", (d: Buffer) => {
      seen += d.toString("latin1");
      if (!seen.includes("\r\n\r\n")) return;
      seen = "";
      if (index === 0) s.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: tunnel\r\nconnection: upgrade\r\n\r\n");
      else s.write(`HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nconn=${index}`);
    });
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  const rawPort = (raw.address() as AddressInfo).port;
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: raw, timeout: 5s }`,
    clusters: [{ name: "raw", endpoints: [rawPort] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const c = await RawConnection.open(weft.listeners.edge!);
    let r = await c.request("GET", "/first");
    assert.equal(r.status, 502);
    assert.match(r.body, /reset reason: protocol error/);
    r = await c.request("GET", "/second");
    assert.deepEqual([r.status, r.body], [200, "conn=1"]);
    c.close();
    assert.equal(sockets.length, 2);
    await withTimeout(firstClosedByProxy, 5000, "the proxy closing the connection that answered 101");
  } finally {
    assert.equal(await weft.stop(), 0);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => raw.close(() => r()));
  }
});

test("an upstream connection that carried Connection: close (an HTTP/1.0 client's request) is never pooled", { timeout: 60_000 }, async () => {
  // A raw upstream that keeps every connection open and answers HTTP/1.1 keep-alive, so only the
  // proxy's own rule (RFC 9112 §9.6: no request after one that said close) can stop a reuse.
  const sockets: Socket[] = [];
  const heads: string[][] = [];
  let firstClosed!: () => void;
  const firstClosedByProxy = new Promise<void>((r) => (firstClosed = r));
  const raw = createServer((s) => {
    const index = sockets.length;
    sockets.push(s);
    heads.push([]);
    if (index === 0) s.on("close", () => firstClosed());
    s.on("error", () => {});
    let seen = "";
    s.on("data", (d: Buffer) => {
      seen += d.toString("latin1");
      for (let end = seen.indexOf("\r\n\r\n"); end >= 0; end = seen.indexOf("\r\n\r\n")) {
        heads[index]!.push(seen.slice(0, end));
        seen = seen.slice(end + 4);
        s.write(`HTTP/1.1 200 OK\r\ncontent-length: 6\r\n\r\nconn=${index}`);
      }
    });
  });
  await new Promise<void>((r) => raw.listen(0, "127.0.0.1", r));
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: raw }`,
    clusters: [{ name: "raw", endpoints: [(raw.address() as AddressInfo).port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const old = await RawConnection.open(weft.listeners.edge!);
    old.write("GET /one HTTP/1.0\r\nhost: x\r\n\r\n");
    assert.equal((await old.readResponse(5000)).body, "conn=0");
    assert.match(heads[0]![0]!, /\r\nconnection: close(\r\n|$)/i);
    const c = await RawConnection.open(weft.listeners.edge!);
    const r = await c.request("GET", "/two");
    assert.equal(r.body, "conn=1", `the request after one that said "connection: close" went on the same upstream connection: ${JSON.stringify(heads)}`);
    c.close();
    old.close();
    await withTimeout(firstClosedByProxy, 5000, "the proxy closing the upstream connection it asked to close");
  } finally {
    assert.equal(await weft.stop(), 0);
    for (const s of sockets) s.destroy();
    await new Promise<void>((r) => raw.close(() => r()));
  }
});
