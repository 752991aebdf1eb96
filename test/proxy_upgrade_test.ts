/**
 * Issue 17: CONNECT and `Upgrade` on the edge. Without `upgrade_configs` (not supported yet), Envoy
 * answers a CONNECT that no `connect_matcher` route takes with 404 (the route is not found: CONNECT
 * has no path), and an upgrade on a route with upgrades off with 403 and an empty body, counting
 * `downstream_rq_ws_on_non_ws_route` and closing the connection. Nothing reaches the upstream, and
 * an upstream connection that switched protocols (101) is never pooled.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect, createServer, type Socket } from "node:net";
import { writeFileSync } from "node:fs";
import type { AddressInfo } from "node:net";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { eventually, startWeft, type WeftProcess, writeTempFile } from "./helpers/weft_process.ts";

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

/**
 * A raw socket to `port` that collects what it reads; `until(re)` waits for the text read to match.
 * `allowHalfOpen`: the peer's FIN does not end ours.
 */
async function rawSocket(port: number, allowHalfOpen = false) {
  const socket = connect({ port, host: "127.0.0.1", allowHalfOpen });
  await new Promise<void>((resolve, reject) => socket.once("connect", resolve).once("error", reject));
  socket.on("error", () => {});
  let text = "";
  let wake: (() => void) | null = null;
  socket.on("data", (d: Buffer) => {
    text += d.toString("latin1");
    wake?.();
  });
  const closed = new Promise<void>((r) => socket.once("close", () => r()));
  const waitUntil = async (re: RegExp, what: string): Promise<string> => {
    while (!re.test(text)) {
      if (socket.destroyed) throw new Error(`closed before ${what}: ${JSON.stringify(text)}`);
      await Promise.race([new Promise<void>((r) => (wake = r)), closed]);
    }
    return text;
  };
  return { socket, closed, text: () => text, until: (re: RegExp, what: string) => withTimeout(waitUntil(re, what), 10_000, what) };
}

/**
 * A raw upstream that records each request head; `/refuse` is answered 426 with a body, anything
 * else gets a 101 and then has its bytes echoed upper-cased, the connection ended after "bye". It
 * keeps half-open connections: after the peer's FIN on a switched one it still writes
 * "AFTER YOUR FIN", then ends.
 */
async function upgradingUpstream() {
  const heads: string[] = [];
  const sockets: Socket[] = [];
  const server = createServer({ allowHalfOpen: true }, (s) => {
    sockets.push(s);
    s.on("error", () => {});
    let seen = "";
    let switched = false;
    s.on("end", () => {
      if (switched && !s.writableEnded) s.end("AFTER YOUR FIN");
      else s.end();
    });
    s.on("data", (d: Buffer) => {
      if (switched) {
        const t = d.toString("latin1");
        s.write(t.toUpperCase());
        if (t.includes("bye")) s.end();
        return;
      }
      seen += d.toString("latin1");
      const end = seen.indexOf("\r\n\r\n");
      if (end < 0) return;
      const head = seen.slice(0, end);
      const rest = seen.slice(end + 4);
      seen = "";
      heads.push(head);
      if (head.startsWith("GET /refuse")) {
        s.write("HTTP/1.1 426 Upgrade Required\r\ncontent-length: 4\r\n\r\nnope");
        return;
      }
      switched = true;
      s.write("HTTP/1.1 101 Switching Protocols\r\nupgrade: custom-proto\r\nconnection: upgrade\r\n\r\nwelcome");
      if (rest !== "") s.write(rest.toUpperCase());
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return {
    heads,
    sockets,
    port: (server.address() as AddressInfo).port,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}

type UpgradingUpstream = Awaited<ReturnType<typeof upgradingUpstream>>;

/** Runs `body` against weft (one worker) in front of an {@linkcode upgradingUpstream} as cluster `raw`. */
async function withUpgradeProxy(hcm: string, routes: string, body: (weft: WeftProcess, up: UpgradingUpstream) => Promise<void>) {
  const up = await upgradingUpstream();
  const yaml = bootstrapYaml({ hcm, routes, clusters: [{ name: "raw", endpoints: [up.port] }] });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    await body(weft, up);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
}

/** The stats once no upgrade is active. */
function upgradesEnded(weft: WeftProcess): Promise<Record<string, number>> {
  return eventually("the upgrade to end", async () => {
    const s = parseStats(await (await weft.admin("/stats")).text());
    return s["http.edge.downstream_cx_upgrades_active"] === 0 ? s : null;
  });
}

const ANY_ROUTE = `
              - match: { prefix: "/" }
                route: { cluster: raw }`;

test("a route's upgrade_configs overrides the HCM's; an enabled upgrade goes up with its Upgrade/Connection fields, the 101 comes back, then bytes both ways until the upstream closes", { timeout: 60_000 }, async () => {
  const routes = `
              - match: { prefix: "/no-ws" }
                route: { cluster: raw, upgrade_configs: [{ upgrade_type: WEBSOCKET, enabled: false }] }
              - match: { prefix: "/custom" }
                route: { cluster: raw, upgrade_configs: [{ upgrade_type: custom-proto }] }${ANY_ROUTE}`;
  await withUpgradeProxy("\n          upgrade_configs: [{ upgrade_type: websocket }]", routes, async (weft, up) => {
    const port = weft.listeners.edge!;
    // Disabled by the route although the HCM enables websocket: 403 as Envoy.
    const off = await RawConnection.open(port);
    off.write("GET /no-ws HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
    assert.equal((await off.readResponse(5000)).status, 403);
    await off.waitClosed();
    // Listed neither by the HCM nor by the route: 403.
    const other = await RawConnection.open(port);
    other.write("GET /plain HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: custom-proto\r\n\r\n");
    assert.equal((await other.readResponse(5000)).status, 403);
    await other.waitClosed();
    assert.equal(up.heads.length, 0);

    // Enabled by the route alone; bytes sent right after the head are relayed once switched.
    const c = await rawSocket(port);
    c.socket.write("GET /custom HTTP/1.1\r\nhost: x\r\nconnection: keep-alive, Upgrade\r\nupgrade: custom-proto\r\n\r\nearly ");
    const got = await c.until(/welcome/, "the 101 and the upstream's first bytes");
    assert.match(got, /^HTTP\/1\.1 101 Switching Protocols\r\n/);
    assert.match(got, /\r\nupgrade: custom-proto\r\n/i);
    assert.match(got, /\r\nconnection: upgrade\r\n/i);
    assert.doesNotMatch(got, /connection: close/i);
    assert.match(up.heads[0]!, /\r\nconnection: upgrade(\r\n|$)/);
    assert.match(up.heads[0]!, /\r\nupgrade: custom-proto(\r\n|$)/);
    await c.until(/EARLY /, "the bytes sent after the head");
    c.socket.write("more bytes ");
    await c.until(/MORE BYTES /, "relayed bytes");
    const mid = parseStats(await (await weft.admin("/stats")).text());
    assert.equal(mid["http.edge.downstream_cx_upgrades_active"], 1);
    c.socket.write("bye");
    await withTimeout(c.closed, 5000, "the client side closing after the upstream closed");
    assert.match(c.text(), /welcomeEARLY MORE BYTES BYE$/);
    const s = await upgradesEnded(weft);
    assert.equal(s["http.edge.downstream_cx_upgrades_total"], 1);
    assert.equal(s["http.edge.downstream_rq_ws_on_non_ws_route"], 2);
    assert.equal(s["cluster.raw.upstream_cx_active"], 0);
  });
});

test("an upgrade the upstream refuses (426) is forwarded as a normal response, and neither connection is reused", { timeout: 60_000 }, async () => {
  await withUpgradeProxy("\n          upgrade_configs: [{ upgrade_type: websocket }]", ANY_ROUTE, async (weft, up) => {
    const c = await RawConnection.open(weft.listeners.edge!);
    c.write("GET /refuse HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: websocket\r\n\r\n");
    const r = await c.readResponse(5000);
    assert.deepEqual([r.status, r.body, r.headers["connection"]], [426, "nope", "close"]);
    await c.waitClosed();
    await eventually("the upstream connection closed by weft", () => up.sockets.length === 1 && up.sockets[0]!.closed);
    const s = await upgradesEnded(weft);
    // Envoy counts the upgrade when it agrees to forward it, whatever the upstream answers.
    assert.equal(s["http.edge.downstream_cx_upgrades_total"], 1);
    assert.equal(s["cluster.raw.upstream_cx_active"], 0);
  });
});

test("stream_idle_timeout ends an upgraded stream with no bytes either way, counted as Envoy's downstream_rq_idle_timeout", { timeout: 60_000 }, async () => {
  const hcm = "\n          stream_idle_timeout: 0.5s\n          upgrade_configs: [{ upgrade_type: custom-proto }]";
  await withUpgradeProxy(hcm, ANY_ROUTE, async (weft, up) => {
    const c = await rawSocket(weft.listeners.edge!);
    c.socket.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: custom-proto\r\n\r\n");
    await c.until(/welcome/, "the 101");
    const switchedAt = performance.now();
    await withTimeout(c.closed, 5000, "the idle upgraded stream to be closed");
    assert.ok(performance.now() - switchedAt >= 400, "closed before stream_idle_timeout");
    const s = await upgradesEnded(weft);
    assert.equal(s["http.edge.downstream_rq_idle_timeout"], 1);
    await eventually("the upstream connection closed", () => up.sockets[0]!.closed);
  });
});

test("half-close on an upgraded stream: the client's FIN reaches the upstream, which still answers, then the upstream's FIN reaches the client", { timeout: 60_000 }, async () => {
  await withUpgradeProxy("\n          upgrade_configs: [{ upgrade_type: custom-proto }]", ANY_ROUTE, async (weft) => {
    const c = await rawSocket(weft.listeners.edge!, true);
    c.socket.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: custom-proto\r\n\r\n");
    await c.until(/welcome/, "the 101");
    c.socket.end("last words ");
    const clientSawEnd = new Promise<void>((r) => c.socket.once("end", () => r()));
    await c.until(/LAST WORDS AFTER YOUR FIN$/, "the upstream's answer after the client's FIN");
    await withTimeout(clientSawEnd, 5000, "the upstream's FIN relayed to the client");
    await withTimeout(c.closed, 5000, "the connection closed once both sides ended");
    const s = await upgradesEnded(weft);
    assert.equal(s["cluster.raw.upstream_cx_active"], 0);
  });
});

test("a reload that adds upgrade_configs binds the listener half-open again: upgrades on new connections get half-close on every worker", { timeout: 60_000 }, async () => {
  const up = await upgradingUpstream();
  const yamlWith = (hcm: string) => bootstrapYaml({ hcm, routes: ANY_ROUTE, clusters: [{ name: "raw", endpoints: [up.port] }] });
  const path = writeTempFile("envoy.yaml", yamlWith(""));
  const weft = await startWeft(["proxy", "serve", "-c", path, "--concurrency", "2"]);
  try {
    const port = weft.listeners.edge!;
    writeFileSync(path, yamlWith("\n          upgrade_configs: [{ upgrade_type: custom-proto }]"));
    const reload = await weft.admin("/reload", { method: "POST" });
    assert.equal(reload.status, 200, await reload.text());
    const halfClosed = async () => {
      const c = await rawSocket(port, true);
      c.socket.write("GET / HTTP/1.1\r\nhost: x\r\nconnection: upgrade\r\nupgrade: custom-proto\r\n\r\n");
      const head = await c.until(/\r\n\r\n/, "the response head");
      if (!head.startsWith("HTTP/1.1 101")) {
        c.socket.destroy();
        return false;
      }
      c.socket.end("last ");
      await c.until(/LAST AFTER YOUR FIN$/, "the upstream's answer after the client's FIN");
      await withTimeout(c.closed, 5000, "the connection closed once both sides ended");
      return true;
    };
    // New connections reach either worker: each must relay the client's FIN, not close on it.
    await eventually("upgrades with half-close on every worker", async () => {
      for (let i = 0; i < 10; i++) if (!await halfClosed()) return false;
      return true;
    }, 10_000);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});
