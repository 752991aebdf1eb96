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
