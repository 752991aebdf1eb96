/**
 * Issue 3, point 3: the correctness cases that optimisation could break — pipelining, chunked bodies
 * both ways, CL+TE rejected, a body larger than any buffer followed by another request, a client
 * aborting mid-body (the upstream side is released), HEAD and 204/304 without bodies.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";

test("framing stays exact under pipelining, chunking, aborts and body-less responses", { timeout: 120_000 }, async () => {
  let aborted = 0;
  const up = await startUpstream("up", (req, res) => {
    const url = req.url ?? "";
    if (url.startsWith("/status/")) {
      const code = Number(url.slice(8));
      req.resume();
      // node:http omits bodies for 204/304 and HEAD, but we still claim a length to test framing.
      res.writeHead(code, code === 204 ? {} : { "content-length": "5" });
      res.end(code === 204 || code === 304 || req.method === "HEAD" ? undefined : "hello");
      return;
    }
    if (url === "/chunked") {
      let n = 0;
      req.on("data", (c: Buffer) => (n += c.byteLength));
      req.on("end", () => {
        // No content-length: node:http answers with Transfer-Encoding: chunked.
        res.writeHead(200, { "content-type": "text/plain" });
        res.write(`got ${n} bytes;`);
        res.write(req.headers["transfer-encoding"] ?? "none");
        res.end(";done");
      });
      return;
    }
    if (url === "/latin1") {
      req.resume();
      res.writeHead(200, { "x-echo": req.headers["x-latin"] ?? "", "content-length": "0" });
      res.end();
      return;
    }
    if (url === "/fields") {
      req.resume();
      // A raw list keeps the names' case as written.
      res.writeHead(200, [
        "X-Mixed-CASE", "  spaced  value ",
        "Keep-Alive", "timeout=5",
        "Proxy-Connection", "keep-alive",
        "SERVER", "node",
        "X-Envoy-Upstream-Service-Time", "999",
        "x-empty", "",
        "Set-Cookie", "a=1",
        "set-cookie", "b=2",
        "Content-Length", "2",
      ]);
      res.end("ok");
      return;
    }
    if (url === "/abort") {
      req.on("aborted", () => aborted++);
      req.on("close", () => {
        if (!req.complete) aborted++;
      });
      req.resume();
      return;
    }
    let n = 0;
    req.on("data", (c: Buffer) => (n += c.byteLength));
    req.on("end", () => res.end(`${req.method} ${url} ${n}`));
  });
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: up }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const port = weft.listeners.edge!;

    // Pipelined: three requests in one write, three responses in order.
    const p = await RawConnection.open(port);
    p.write("GET /one HTTP/1.1\r\nhost: x\r\n\r\nPOST /two HTTP/1.1\r\nhost: x\r\ncontent-length: 3\r\n\r\nabcGET /three HTTP/1.1\r\nhost: x\r\n\r\n");
    assert.equal((await p.readResponse()).body, "GET /one 0");
    assert.equal((await p.readResponse()).body, "POST /two 3");
    assert.equal((await p.readResponse()).body, "GET /three 0");

    // Chunked request body up, chunked response body down.
    p.write("POST /chunked HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n");
    const chunked = await p.readResponse();
    assert.equal(chunked.headers["transfer-encoding"], "chunked");
    assert.equal(chunked.body, "got 11 bytes;chunked;done");

    // A body larger than any buffer (8 MiB), then another request on the same connection.
    const big = "x".repeat(8 * 1024 * 1024);
    assert.equal((await p.request("POST", "/big", {}, big, 30_000)).body, `POST /big ${big.length}`);
    assert.equal((await p.request("GET", "/after-big")).body, "GET /after-big 0");

    // HEAD, 204 and 304 carry no body; the next response on the connection is intact.
    const head = await p.request("HEAD", "/status/200");
    assert.equal(head.status, 200);
    assert.equal(head.headers["content-length"], "5");
    assert.equal((await p.request("GET", "/status/204")).status, 204);
    assert.equal((await p.request("GET", "/status/304")).status, 304);
    assert.equal((await p.request("GET", "/status/200")).body, "hello");
    assert.equal((await p.request("GET", "/last")).body, "GET /last 0");

    // Field values are octets: a latin1 byte (0xE9) crosses both ways unchanged, not as UTF-8.
    p.write(Buffer.from("GET /latin1 HTTP/1.1\r\nhost: x\r\nx-latin: caf\xe9\r\n\r\n", "latin1"));
    assert.equal((await p.readResponse()).headers["x-echo"], "caf\xe9");

    // Response fields cross as bytes: names lower-cased, values as sent (trimmed), repeats kept,
    // the hop-by-hop ones dropped, the upstream's Server and service time replaced by weft's own.
    const fields = await p.request("GET", "/fields");
    assert.equal(fields.body, "ok");
    const serviceTime = fields.fieldLines.filter((l) => l.startsWith("x-envoy-upstream-service-time: "));
    assert.equal(serviceTime.length, 1, fields.fieldLines.join("\n"));
    assert.notEqual(serviceTime[0], "x-envoy-upstream-service-time: 999");
    const forwarded = fields.fieldLines.filter((l) => !/^(date|x-envoy-upstream-service-time): /.test(l));
    assert.deepEqual(forwarded, [
      "x-mixed-case: spaced  value",
      "x-empty: ",
      "set-cookie: a=1",
      "set-cookie: b=2",
      "content-length: 2",
      "server: weft",
    ]);
    p.close();

    // Content-Length and Transfer-Encoding together: rejected before reaching the upstream.
    const before = up.requests;
    const s = await RawConnection.open(port);
    s.write("POST /smuggle HTTP/1.1\r\nhost: x\r\ncontent-length: 4\r\ntransfer-encoding: chunked\r\n\r\n0\r\n\r\n");
    assert.equal((await s.readResponse()).status, 400);
    await s.waitClosed();
    assert.equal(up.requests, before);

    // A client that aborts mid-body: the upstream request is torn down and the host released.
    const a = await RawConnection.open(port);
    a.write(`POST /abort HTTP/1.1\r\nhost: x\r\ncontent-length: ${1024 * 1024}\r\n\r\n${"y".repeat(64 * 1024)}`);
    await eventually("upstream saw the request", () => up.requests > before);
    a.close();
    await eventually("upstream saw the abort", () => aborted > 0);
    const stats = await eventually("upstream released", async () => {
      const st = parseStats(await (await weft.admin("/stats")).text());
      return st["cluster.up.upstream_rq_active"] === 0 && st["cluster.up.upstream_cx_active"] === 0 ? st : null;
    });
    assert.equal(stats["http.edge.downstream_cx_destroy_remote_active_rq"], 1);
    assert.equal(stats["http.edge.downstream_rq_active"], 0);
    const hosts = await weft.adminJson<{ clusters: { hosts: { rqActive: number }[] }[] }>("/clusters?format=json");
    assert.equal(hosts.clusters[0]!.hosts[0]!.rqActive, 0);

    // And the proxy still serves.
    const z = await RawConnection.open(port);
    assert.equal((await z.request("GET", "/still")).body, "GET /still 0");
    z.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

// ---- Issue 17: header sanitizing and the HTTP/1.1 codec's edges, as Envoy does them ------------

interface Echoed {
  url: string;
  /** The request's fields as the upstream received them, names lower-cased, in order. */
  fields: [string, string][];
}

/** An upstream that answers with the request line's target and every field it received (targets also into `seen`). */
function startHeaderEcho(seen: string[] = []) {
  return startUpstream("echo", (req, res) => {
    seen.push(req.url ?? "");
    req.resume();
    if (req.url === "/nominating-length") {
      // Connection nominates the field that frames this response's body.
      res.writeHead(200, ["Connection", "Content-Length", "Content-Length", "2"]);
      res.end("ok");
      return;
    }
    if (req.url === "/nominating-response") {
      // Connection nominates X-Secret: it is hop-by-hop and must not reach the client.
      res.writeHead(200, ["Connection", "X-Secret", "X-Secret", "1", "X-Kept", "2", "Content-Length", "2"]);
      res.end("ok");
      return;
    }
    const fields: [string, string][] = [];
    for (let i = 0; i < req.rawHeaders.length; i += 2) fields.push([req.rawHeaders[i]!.toLowerCase(), req.rawHeaders[i + 1]!]);
    const body = JSON.stringify({ url: req.url ?? "", fields } satisfies Echoed);
    res.writeHead(200, { "content-type": "application/json", "content-length": Buffer.byteLength(body) });
    res.end(body);
  });
}

/** One listener per entry (`name` → extra HCM fields), all with the same routes to `up`. */
function headerListenersYaml(upPort: number, listeners: Record<string, string>): string {
  return bootstrapYaml({
    listeners,
    virtualHosts: `
            - name: api
              domains: ["api.example.com"]
              routes:
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "vhost api" } }`,
    routes: `
              - match: { prefix: "/api" }
                route: { cluster: up, prefix_rewrite: "/v2" }
              - match: { prefix: "/" }
                route: { cluster: up }`,
    clusters: [{ name: "up", endpoints: [upPort] }],
  });
}

/** HCM fields trusting 10.0.0.0/8, as Envoy trusted RFC 1918 networks before 1.33 (now only when configured). */
const TRUST_10_8 = `
          internal_address_config:
            cidr_ranges: [{ address_prefix: 10.0.0.0, prefix_len: 8 }]`;
/** HCM fields trusting the loopback client every test connects from. */
const TRUST_LOOPBACK = `
          internal_address_config:
            cidr_ranges: [{ address_prefix: 127.0.0.1, prefix_len: 32 }]`;

/** Send raw request bytes on a new connection and read one response. */
async function rawRequest(port: number, bytes: string) {
  const c = await RawConnection.open(port);
  try {
    c.write(Buffer.from(bytes, "latin1"));
    return await c.readResponse();
  } finally {
    c.close();
  }
}

async function echoed(port: number, target: string, fields: string[]): Promise<Echoed> {
  const res = await rawRequest(port, `GET ${target} HTTP/1.1\r\n${fields.map((f) => `${f}\r\n`).join("")}\r\n`);
  assert.equal(res.status, 200, res.body);
  return JSON.parse(res.body) as Echoed;
}

/** All values of field `name` the upstream received. */
function valuesOf(e: Echoed, name: string): string[] {
  return e.fields.filter(([n]) => n === name).map(([, v]) => v);
}

test("fields named in Connection are hop-by-hop, in requests and responses", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", headerListenersYaml(up.port, { plain: "" })), "--concurrency", "1"]);
  try {
    const port = weft.listeners.plain!;
    // An h2c upgrade attempt while upgrades are not configured: none of its hop-by-hop fields pass.
    const e = await echoed(port, "/x", [
      "Host: a",
      "Connection: Upgrade, HTTP2-Settings",
      "Upgrade: h2c",
      "HTTP2-Settings: AAMAAABkAAQAAP__",
      "Connection: X-Hop",
      "X-Hop: 1",
      "X-End-To-End: 2",
    ]);
    const names = e.fields.map(([n]) => n);
    for (const hop of ["connection", "upgrade", "http2-settings", "x-hop"]) assert.ok(!names.includes(hop), `${hop} was forwarded: ${names}`);
    assert.deepEqual(valuesOf(e, "x-end-to-end"), ["2"]);
    // Nominating X-Forwarded-For (it could hide the client) is refused, as Envoy's codec does.
    const xff = await rawRequest(port, "GET /x HTTP/1.1\r\nHost: a\r\nConnection: X-Forwarded-For\r\nX-Forwarded-For: 10.20.30.40\r\n\r\n");
    assert.equal(xff.status, 400);
    assert.equal(xff.body, "Bad Request");

    const res = await rawRequest(port, "GET /nominating-response HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal(res.body, "ok");
    assert.equal(res.headers["x-secret"], undefined, res.fieldLines.join("\n"));
    assert.equal(res.headers["x-kept"], "2");
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("Connection cannot nominate the fields that frame a body: no smuggling to the upstream, none to the client", { timeout: 60_000 }, async () => {
  const seen: string[] = [];
  const up = await startHeaderEcho(seen);
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", headerListenersYaml(up.port, { plain: "" })), "--concurrency", "1"]);
  try {
    const port = weft.listeners.plain!;
    const smuggled = "GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n";
    const c = await RawConnection.open(port);
    // The body is a request: had the framing field been dropped, the upstream would serve it.
    c.write(`POST /length HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\nContent-Length: ${smuggled.length}\r\n\r\n${smuggled}`);
    const length = JSON.parse((await c.readResponse(3000)).body) as Echoed;
    assert.deepEqual(valuesOf(length, "content-length"), [String(smuggled.length)]);
    const chunk = `${smuggled.length.toString(16)}\r\n${smuggled}\r\n0\r\n\r\n`;
    c.write(`POST /chunked HTTP/1.1\r\nHost: a\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n${chunk}`);
    const chunked = JSON.parse((await c.readResponse(3000)).body) as Echoed;
    assert.deepEqual(valuesOf(chunked, "transfer-encoding"), ["chunked"]);
    // A response whose Connection nominates its Content-Length keeps it, so the next one stays apart.
    c.write("GET /nominating-length HTTP/1.1\r\nHost: a\r\n\r\nGET /after HTTP/1.1\r\nHost: a\r\n\r\n");
    const framed = await c.readResponse(3000);
    assert.equal(framed.headers["content-length"], "2", framed.fieldLines.join("\n"));
    assert.equal(framed.body, "ok");
    assert.equal((JSON.parse((await c.readResponse(3000)).body) as Echoed).url, "/after");
    c.close();
    assert.deepEqual(seen, ["/length", "/chunked", "/nominating-length", "/after"]);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("x-envoy-* fields from untrusted clients are dropped, and weft's own replace a client's", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const yaml = headerListenersYaml(up.port, { plain: TRUST_10_8, edge: "\n          use_remote_address: true" });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const spoofed = [
      "x-envoy-expected-rq-timeout-ms: 1",
      "x-envoy-upstream-rq-timeout-ms: 1",
      "x-envoy-retry-on: 5xx",
      "x-envoy-max-retries: 9",
      "x-envoy-force-trace: 1",
      "x-envoy-internal: true",
      "x-envoy-downstream-service-node: spoofed",
      "x-envoy-external-address: 6.6.6.6",
      "x-request-id: client-chosen",
      "x-forwarded-proto: https",
    ];
    // External (the client is not a trusted proxy and XFF names a public address), at the edge.
    const edge = await echoed(weft.listeners.edge!, "/x", ["Host: a", "X-Forwarded-For: 203.0.113.7", ...spoofed]);
    assert.deepEqual(valuesOf(edge, "x-envoy-expected-rq-timeout-ms"), ["15000"], JSON.stringify(edge.fields));
    for (const gone of ["x-envoy-upstream-rq-timeout-ms", "x-envoy-retry-on", "x-envoy-max-retries", "x-envoy-force-trace", "x-envoy-internal", "x-envoy-downstream-service-node"]) {
      assert.deepEqual(valuesOf(edge, gone), [], gone);
    }
    assert.deepEqual(valuesOf(edge, "x-envoy-external-address"), ["127.0.0.1"]);
    assert.deepEqual(valuesOf(edge, "x-forwarded-proto"), ["http"]);
    const ids = valuesOf(edge, "x-request-id");
    assert.equal(ids.length, 1);
    assert.match(ids[0]!, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);

    // External behind a proxy that does not use the remote address (no XFF: never internal): the
    // internal-only fields go, the edge's decisions (external address, request id) stay the client's.
    const inner = await echoed(weft.listeners.plain!, "/x", ["Host: a", ...spoofed]);
    assert.deepEqual(valuesOf(inner, "x-envoy-expected-rq-timeout-ms"), ["15000"]);
    assert.deepEqual(valuesOf(inner, "x-envoy-retry-on"), []);
    assert.deepEqual(valuesOf(inner, "x-envoy-internal"), []);
    assert.deepEqual(valuesOf(inner, "x-envoy-external-address"), ["6.6.6.6"]);
    assert.deepEqual(valuesOf(inner, "x-envoy-downstream-service-node"), ["spoofed"]);
    assert.deepEqual(valuesOf(inner, "x-request-id"), ["client-chosen"]);
    assert.deepEqual(valuesOf(inner, "x-forwarded-proto"), ["https"]);

    // Internal (XFF holds one address internal_address_config trusts, Envoy's example 6): x-envoy-* are trusted and kept,
    // but weft's own expected timeout still replaces the client's.
    const internal = await echoed(weft.listeners.plain!, "/x", ["Host: a", "X-Forwarded-For: 10.20.30.40", ...spoofed]);
    assert.deepEqual(valuesOf(internal, "x-envoy-internal"), ["true"]);
    assert.deepEqual(valuesOf(internal, "x-envoy-retry-on"), ["5xx"]);
    assert.deepEqual(valuesOf(internal, "x-envoy-expected-rq-timeout-ms"), ["15000"]);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("use_remote_address and xff_num_trusted_hops decide x-forwarded-for and the client address as in Envoy's examples", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const yaml = headerListenersYaml(up.port, {
    edge: `\n          use_remote_address: true${TRUST_LOOPBACK}`,
    edge2: "\n          use_remote_address: true\n          xff_num_trusted_hops: 2",
    inner: TRUST_10_8,
    inner2: "\n          xff_num_trusted_hops: 2",
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const xff = "203.0.113.128, 203.0.113.10, 203.0.113.1";
    const l = weft.listeners;
    // Example 1 (the peer is 127.0.0.1 here): XFF ignored for the client, the peer appended.
    const e1 = await echoed(l.edge!, "/x", ["Host: a", `X-Forwarded-For: ${xff}`, "X-Envoy-Internal: true"]);
    assert.deepEqual(valuesOf(e1, "x-forwarded-for"), [`${xff},127.0.0.1`]);
    assert.deepEqual(valuesOf(e1, "x-envoy-external-address"), ["127.0.0.1"]);
    assert.deepEqual(valuesOf(e1, "x-envoy-internal"), []);
    // Example 2: an inner proxy leaves XFF as it is and sets no external address.
    const e2 = await echoed(l.inner!, "/x", ["Host: a", `X-Forwarded-For: ${xff}, 192.0.2.5`, "X-Envoy-Internal: true"]);
    assert.deepEqual(valuesOf(e2, "x-forwarded-for"), [`${xff}, 192.0.2.5`]);
    assert.deepEqual(valuesOf(e2, "x-envoy-external-address"), []);
    assert.deepEqual(valuesOf(e2, "x-envoy-internal"), []);
    // Example 3: two trusted proxies in front: the 2nd address from the right is the client; their
    // x-forwarded-proto is trusted.
    const e3 = await echoed(l.edge2!, "/x", ["Host: a", `X-Forwarded-For: ${xff}`, "X-Forwarded-Proto: https"]);
    assert.deepEqual(valuesOf(e3, "x-forwarded-for"), [`${xff},127.0.0.1`]);
    assert.deepEqual(valuesOf(e3, "x-envoy-external-address"), ["203.0.113.10"]);
    assert.deepEqual(valuesOf(e3, "x-forwarded-proto"), ["https"]);
    // Example 4: the inner proxy behind example 3 keeps the external address it was given.
    const e4 = await echoed(l.inner2!, "/x", ["Host: a", `X-Forwarded-For: ${xff}, 192.0.2.5`, "X-Envoy-External-Address: 203.0.113.10", "X-Envoy-Internal: true"]);
    assert.deepEqual(valuesOf(e4, "x-forwarded-for"), [`${xff}, 192.0.2.5`]);
    assert.deepEqual(valuesOf(e4, "x-envoy-external-address"), ["203.0.113.10"]);
    assert.deepEqual(valuesOf(e4, "x-envoy-internal"), []);
    // Example 5: an internal client without XFF reaching an inner proxy: not internal, no XFF added.
    const e5 = await echoed(l.inner!, "/x", ["Host: a"]);
    assert.deepEqual(valuesOf(e5, "x-forwarded-for"), []);
    assert.deepEqual(valuesOf(e5, "x-envoy-internal"), []);
    assert.deepEqual(valuesOf(e5, "x-envoy-external-address"), []);
    // Example 6: XFF with the one internal client (10/8 is trusted here): internal.
    const e6 = await echoed(l.inner!, "/x", ["Host: a", "X-Forwarded-For: 10.20.30.40"]);
    assert.deepEqual(valuesOf(e6, "x-envoy-internal"), ["true"]);
    // An edge proxy's peer without XFF that is internal (loopback is trusted here): internal.
    const direct = await echoed(l.edge!, "/x", ["Host: a"]);
    assert.deepEqual(valuesOf(direct, "x-forwarded-for"), ["127.0.0.1"]);
    assert.deepEqual(valuesOf(direct, "x-envoy-internal"), ["true"]);
    assert.deepEqual(valuesOf(direct, "x-envoy-external-address"), []);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("Host name:port and name. reach the virtual host for name only with Envoy's strip options", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const yaml = headerListenersYaml(up.port, {
    plain: "",
    matching: "\n          strip_trailing_host_dot: true\n          strip_matching_host_port: true",
    any: "\n          strip_any_host_port: true",
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const l = weft.listeners;
    const vhost = async (port: number, host: string) => {
      const res = await rawRequest(port, `GET /who HTTP/1.1\r\nHost: ${host}\r\n\r\n`);
      assert.equal(res.status, 200);
      return res.body === "vhost api" ? "api" : (JSON.parse(res.body) as Echoed).fields.find(([n]) => n === "host")![1];
    };
    // Envoy's defaults: the port and the trailing dot are part of the name matched (and forwarded).
    assert.equal(await vhost(l.plain!, "api.example.com"), "api");
    assert.equal(await vhost(l.plain!, `api.example.com:${l.plain}`), `api.example.com:${l.plain}`);
    assert.equal(await vhost(l.plain!, "api.example.com."), "api.example.com.");
    // strip_trailing_host_dot + strip_matching_host_port: the listener's own port and the dot go.
    assert.equal(await vhost(l.matching!, `API.example.com.:${l.matching}`), "api");
    assert.equal(await vhost(l.matching!, "api.example.com:1"), "api.example.com:1");
    assert.equal(await vhost(l.matching!, "other.example.:1"), "other.example:1");
    // strip_any_host_port: any port goes, also from the Host sent upstream.
    assert.equal(await vhost(l.any!, "api.example.com:1"), "api");
    assert.equal(await vhost(l.any!, "other.example:1"), "other.example");
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("codec edges: Envoy's 505 body, empty lines before request lines, prefix_rewrite of an absolute-form target", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", headerListenersYaml(up.port, { plain: "" })), "--concurrency", "1"]);
  try {
    const port = weft.listeners.plain!;
    // An unsupported version: the body is the status's reason phrase, as Envoy's codec errors are.
    const v = await rawRequest(port, "GET / HTTP/2.0\r\nHost: a\r\n\r\n");
    assert.equal(v.status, 505);
    assert.equal(v.body, "HTTP Version Not Supported");

    // Empty lines before a request line are skipped (RFC 9112 §2.2), one or more, also between
    // pipelined requests and when they arrive alone.
    const c = await RawConnection.open(port);
    c.write("\r\n\r\nGET /first HTTP/1.1\r\nHost: a\r\n\r\n\r\nGET /second HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal((JSON.parse((await c.readResponse()).body) as Echoed).url, "/first");
    assert.equal((JSON.parse((await c.readResponse()).body) as Echoed).url, "/second");
    c.write("\r\n");
    c.write("GET /third HTTP/1.1\r\nHost: a\r\n\r\n");
    assert.equal((JSON.parse((await c.readResponse()).body) as Echoed).url, "/third");
    c.close();

    // An absolute-form target: the path alone is matched and rewritten; its authority is the Host.
    const abs = await echoed(port, "http://x.example/api/a?q=1", ["Host: ignored", "X-Envoy-Original-Path: /spoofed"]);
    assert.equal(abs.url, "/v2/a?q=1");
    assert.deepEqual(valuesOf(abs, "host"), ["x.example"]);
    // Envoy's router keeps the path it rewrote in x-envoy-original-path (replacing a client's).
    assert.deepEqual(valuesOf(abs, "x-envoy-original-path"), ["/api/a?q=1"]);
    const plain = await echoed(port, "http://x.example/other", ["Host: ignored"]);
    assert.equal(plain.url, "/other");
    assert.deepEqual(valuesOf(plain, "x-envoy-original-path"), []);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

// ---- Issue 17 follow-ups: internal addresses, the x-forwarded-for format, TE -------------------

test("without internal_address_config no client is internal: a private X-Forwarded-For or a loopback peer cannot set x-envoy-* fields (Envoy 1.33+, CVE-2024-45806)", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const yaml = headerListenersYaml(up.port, { plain: "", edge: "\n          use_remote_address: true" });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    // Without use_remote_address: XFF with one private address (internal before Envoy 1.33).
    const inner = await echoed(weft.listeners.plain!, "/x", ["Host: a", "X-Forwarded-For: 10.0.0.1", "x-envoy-retry-on: 5xx"]);
    assert.deepEqual(valuesOf(inner, "x-envoy-internal"), [], JSON.stringify(inner.fields));
    assert.deepEqual(valuesOf(inner, "x-envoy-retry-on"), []);
    // With use_remote_address: a loopback peer without XFF is an external client at the edge.
    const edge = await echoed(weft.listeners.edge!, "/x", ["Host: a", "x-envoy-retry-on: 5xx", "x-envoy-max-retries: 3"]);
    assert.deepEqual(valuesOf(edge, "x-envoy-internal"), [], JSON.stringify(edge.fields));
    assert.deepEqual(valuesOf(edge, "x-envoy-retry-on"), []);
    assert.deepEqual(valuesOf(edge, "x-envoy-max-retries"), []);
    assert.deepEqual(valuesOf(edge, "x-envoy-external-address"), ["127.0.0.1"]);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("internal_address_config trusts the CIDR ranges it lists, and only them", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const yaml = headerListenersYaml(up.port, {
    plain: `
          internal_address_config:
            cidr_ranges:
            - { address_prefix: 10.0.0.0, prefix_len: 8 }
            - { address_prefix: "fd00::", prefix_len: 8 }`,
    edge: `
          use_remote_address: true
          internal_address_config:
            unix_sockets: false
            cidr_ranges: [{ address_prefix: 127.0.0.1, prefix_len: 32 }]`,
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const l = weft.listeners;
    const internal = async (port: number, fields: string[]) => {
      const e = await echoed(port, "/x", ["Host: a", "x-envoy-retry-on: 5xx", ...fields]);
      const flag = valuesOf(e, "x-envoy-internal");
      // An internal request keeps the x-envoy-* fields a trusted caller sets; an external one loses them.
      assert.deepEqual(valuesOf(e, "x-envoy-retry-on"), flag.length > 0 ? ["5xx"] : [], JSON.stringify(e.fields));
      return flag.length > 0;
    };
    // Inside a listed range, as the one XFF address (Envoy's rule without use_remote_address).
    assert.equal(await internal(l.plain!, ["X-Forwarded-For: 10.200.0.1"]), true);
    assert.equal(await internal(l.plain!, ["X-Forwarded-For: fd12::1"]), true);
    // Outside every range, private or not; two addresses; none.
    assert.equal(await internal(l.plain!, ["X-Forwarded-For: 192.168.1.1"]), false);
    assert.equal(await internal(l.plain!, ["X-Forwarded-For: 11.0.0.1"]), false);
    assert.equal(await internal(l.plain!, ["X-Forwarded-For: fe80::1"]), false);
    assert.equal(await internal(l.plain!, ["X-Forwarded-For: 203.0.113.1, 10.0.0.1"]), false);
    assert.equal(await internal(l.plain!, []), false);
    // With use_remote_address: the loopback peer is listed, so without XFF it is internal (no
    // external address set); with XFF it is not.
    const direct = await echoed(l.edge!, "/x", ["Host: a"]);
    assert.deepEqual(valuesOf(direct, "x-envoy-internal"), ["true"]);
    assert.deepEqual(valuesOf(direct, "x-envoy-external-address"), []);
    assert.equal(await internal(l.edge!, []), true);
    assert.equal(await internal(l.edge!, ["X-Forwarded-For: 10.0.0.1"]), false);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("x-forwarded-for is appended with a bare comma and repeated fields are joined as Envoy's header map does", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const yaml = headerListenersYaml(up.port, { plain: "", edge: "\n          use_remote_address: true" });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const l = weft.listeners;
    const xff = async (port: number, fields: string[]) => valuesOf(await echoed(port, "/x", ["Host: a", ...fields]), "x-forwarded-for");
    // Appended with "," (HeaderMapImpl::appendToHeader), no separator after an empty value.
    assert.deepEqual(await xff(l.edge!, ["X-Forwarded-For: 1.2.3.4"]), ["1.2.3.4,127.0.0.1"]);
    assert.deepEqual(await xff(l.edge!, ["X-Forwarded-For: 1.2.3.4, 5.6.7.8"]), ["1.2.3.4, 5.6.7.8,127.0.0.1"]);
    assert.deepEqual(await xff(l.edge!, ["X-Forwarded-For:"]), ["127.0.0.1"]);
    assert.deepEqual(await xff(l.edge!, []), ["127.0.0.1"]);
    // Repeated fields become one, joined with ",", empty values skipped.
    const repeated = ["X-Forwarded-For: 1.1.1.1", "X-Forwarded-For:", "X-Forwarded-For: 2.2.2.2, 3.3.3.3"];
    assert.deepEqual(await xff(l.edge!, repeated), ["1.1.1.1,2.2.2.2, 3.3.3.3,127.0.0.1"]);
    assert.deepEqual(await xff(l.plain!, repeated), ["1.1.1.1,2.2.2.2, 3.3.3.3"]);
    assert.deepEqual(await xff(l.plain!, ["X-Forwarded-For:", "X-Forwarded-For: 4.4.4.4"]), ["4.4.4.4"]);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("TE reaches the upstream as te: trailers when it lists the trailers token, and not at all otherwise", { timeout: 60_000 }, async () => {
  const up = await startHeaderEcho();
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", headerListenersYaml(up.port, { plain: "" })), "--concurrency", "1"]);
  try {
    const te = async (fields: string[]) => valuesOf(await echoed(weft.listeners.plain!, "/x", ["Host: a", ...fields]), "te");
    assert.deepEqual(await te(["TE: trailers, gzip"]), ["trailers"]);
    assert.deepEqual(await te(["TE: deflate;q=0.5, trailers"]), ["trailers"]);
    assert.deepEqual(await te(["TE: trailers"]), ["trailers"]);
    assert.deepEqual(await te(["TE: gzip", "TE: Trailers"]), ["trailers"]);
    assert.deepEqual(await te(["Connection: TE", "TE: trailers, deflate"]), ["trailers"]);
    assert.deepEqual(await te(["TE: gzip"]), []);
    assert.deepEqual(await te(["TE: trailersx, gzip"]), []);
    assert.deepEqual(await te([]), []);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});
