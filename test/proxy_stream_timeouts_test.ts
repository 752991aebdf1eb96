/**
 * Issue 17: the HTTP connection manager's `request_timeout` and `stream_idle_timeout`, as Envoy
 * enforces them (`ActiveStream::onRequestTimeout` / `onIdleTimeout`): 408 while the request is still
 * arriving, 504 once it is complete, a reset once the response has started; bodies
 * `request timeout` / `stream timeout`; counters `downstream_rq_timeout` / `downstream_rq_idle_timeout`.
 * A slow body no longer holds a connection and an upstream forever: both are released.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { IncomingMessage } from "node:http";
import { connect, type Socket } from "node:net";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";

test("request_timeout and stream_idle_timeout answer, reset and release as Envoy does", { timeout: 90_000 }, async () => {
  /** Path → resolves when the upstream side of the connection carrying it closes. */
  const upstreamClosed = new Map<string, Promise<void>>();
  const up = await startUpstream("up", (req: IncomingMessage, res) => {
    upstreamClosed.set(req.url!, new Promise<void>((r) => req.socket.once("close", () => r())));
    if (req.url === "/stall") {
      // The response starts, then stops.
      res.writeHead(200, { "content-length": "100" });
      res.write("0123456789");
      return;
    }
    if (req.url!.startsWith("/silent") || req.method === "POST") return; // never answers
    res.end("ok");
  });
  const yaml = bootstrapYaml({
    hcm: `
          request_timeout: 3s
          stream_idle_timeout: 1s`,
    routes: `
              - match: { prefix: "/" }
                route: { cluster: up, timeout: 0s }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  const stop: (() => void)[] = [];
  try {
    const port = weft.listeners.edge!;
    const stats = async () => parseStats(await (await weft.admin("/stats")).text());
    const before = await stats();
    const open = async () => {
      const c = await RawConnection.open(port);
      stop.push(() => c.close());
      return c;
    };
    const upstreamReleased = (path: string) =>
      withTimeout(upstreamClosed.get(path) ?? Promise.reject(new Error(`${path} never reached the upstream`)), 5000, `the upstream connection of ${path} closing`);

    // The slow-body attack: a huge Content-Length and a byte every 100 ms. The stream is never idle
    // for 1 s, so request_timeout (3 s) ends it: 408, the connection closes, the upstream is released.
    const slowBody = async () => {
      const c = await open();
      const startedAt = Date.now();
      c.write("POST /upload HTTP/1.1\r\nhost: x\r\ncontent-length: 1000000000\r\n\r\nx");
      const trickle = setInterval(() => c.closed || c.write("x"), 100);
      stop.push(() => clearInterval(trickle));
      const r = await c.readResponse(8000);
      clearInterval(trickle);
      assert.deepEqual([r.status, r.body], [408, "request timeout"]);
      assert.ok(Date.now() - startedAt >= 2500, `request_timeout fired after ${Date.now() - startedAt} ms, before its 3 s`);
      await c.waitClosed();
      await upstreamReleased("/upload");
    };

    // A body that stops: stream_idle_timeout (1 s) answers 408 "stream timeout" and closes.
    const stalledBody = async () => {
      const c = await open();
      c.write("POST /stalled-body HTTP/1.1\r\nhost: x\r\ncontent-length: 100\r\n\r\n0123456789");
      const r = await c.readResponse(5000);
      assert.deepEqual([r.status, r.body], [408, "stream timeout"]);
      await c.waitClosed();
      await upstreamReleased("/stalled-body");
    };

    // A request head that stops: the stream exists from its first byte (408 "stream timeout").
    const stalledHead = async () => {
      const c = await open();
      c.write("GET /stalled-head HTTP/1.1\r\nhost: x\r\n");
      const r = await c.readResponse(5000);
      assert.deepEqual([r.status, r.body], [408, "stream timeout"]);
      await c.waitClosed();
    };

    // A complete request whose upstream never answers: 504 "stream timeout" (Envoy's
    // maybeRequestTimeoutCode), and the connection stays usable.
    const silentUpstream = async () => {
      const c = await open();
      const r = await c.request("GET", "/silent", {}, "", 5000);
      assert.deepEqual([r.status, r.body], [504, "stream timeout"]);
      await upstreamReleased("/silent");
      assert.equal((await c.request("GET", "/after")).status, 200);
      c.close();
    };

    // A response that started and stalls: nothing can be answered any more, the stream is reset.
    const stalledResponse = async () => {
      const c = await open();
      c.write("GET /stall HTTP/1.1\r\nhost: x\r\n\r\n");
      await assert.rejects(c.readResponse(5000), /connection closed before a full response/);
      await upstreamReleased("/stall");
    };

    // Bytes of the next pipelined request are not this stream's: trickled behind a request whose
    // upstream never answers, they must not keep it alive past stream_idle_timeout.
    const trickleBehind = async () => {
      const c = await open();
      c.write("GET /silent-behind HTTP/1.1\r\nhost: x\r\n\r\n");
      const next = "GET /next HTTP/1.1\r\nhost: x\r\nx-pad: " + "a".repeat(200);
      let at = 0;
      const trickle = setInterval(() => c.closed || c.write(next[at++ % next.length]!), 100);
      stop.push(() => clearInterval(trickle));
      const r = await c.readResponse(5000).finally(() => clearInterval(trickle));
      assert.deepEqual([r.status, r.body], [504, "stream timeout"]);
      c.close();
      await upstreamReleased("/silent-behind");
    };

    await Promise.all([slowBody(), stalledBody(), stalledHead(), silentUpstream(), stalledResponse(), trickleBehind()]);

    const after = await stats();
    const d = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    assert.equal(d("http.edge.downstream_rq_timeout"), 1);
    assert.equal(d("http.edge.downstream_rq_idle_timeout"), 5);
    assert.equal(d("http.edge.downstream_rq_4xx"), 3);
    assert.equal(d("http.edge.downstream_rq_5xx"), 2);
    assert.equal(d("http.edge.downstream_rq_active"), 0);
    // The stalled response's connection was reset by the proxy, with its stream active: a local close
    // (Envoy's downstream_cx_destroy_local_active_rq); every client here stays until the end.
    assert.equal(d("http.edge.downstream_cx_destroy_local_active_rq"), 1);
    assert.equal(d("http.edge.downstream_cx_destroy_remote_active_rq"), 0);
  } finally {
    for (const f of stop) f();
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("a connection closing after a timeout whose client reads nothing is closed after delayed_close_timeout, its timeout counted once", { timeout: 60_000 }, async () => {
  // 4 KB replies, and an output limit high enough that 8,000 of them are all answered: far more
  // than the kernel's socket buffers take, so the proxy holds output that can never be sent.
  const yaml = bootstrapYaml({
    listenerExtra: `
    per_connection_buffer_limit_bytes: 100000000`,
    hcm: `
          request_headers_timeout: 1s
          common_http_protocol_options: { idle_timeout: 1s }`,
    routes: `
              - match: { prefix: "/" }
                direct_response: { status: 200, body: { inline_string: "${"x".repeat(4000)}" } }`,
    clusters: [],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  const clients: Socket[] = [];
  try {
    const stats = async () => parseStats(await (await weft.admin("/stats")).text());
    const before = await stats();
    const flood = async (tail: string) => {
      const s = await new Promise<Socket>((resolve, reject) => {
        const c = connect({ port: weft.listeners.edge!, host: "127.0.0.1" }, () => resolve(c));
        c.once("error", reject);
      });
      clients.push(s);
      s.on("error", () => {});
      s.pause(); // never reads
      s.write("GET /r HTTP/1.1\r\nhost: x\r\n\r\n".repeat(8000) + tail);
    };
    // Idle once all are answered: idle_timeout closes it, but its 32 MB of replies cannot be sent.
    await flood("");
    // A head left incomplete behind them: request_headers_timeout answers 408 and closes, likewise stuck.
    await flood("GET /partial HTTP/1.1\r\n");
    // Envoy closes a connection whose close-after-flush makes no progress for delayed_close_timeout (1 s).
    let after: Record<string, number> = {};
    const d = (name: string) => (after[name] ?? 0) - (before[name] ?? 0);
    await eventually("both connections closed by the proxy's delayed close", async () => {
      after = await stats();
      return d("http.edge.downstream_cx_delayed_close_timeout") === 2 && after["http.edge.downstream_cx_active"] === 0;
    }, 10_000);
    assert.equal(d("http.edge.downstream_cx_idle_timeout"), 1);
    assert.equal(d("http.edge.downstream_rq_header_timeout"), 1);
    assert.equal(d("http.edge.downstream_rq_4xx"), 1);
    assert.equal(d("http.edge.downstream_rq_2xx"), 16000);
  } finally {
    for (const c of clients) c.destroy();
    assert.equal(await weft.stop(), 0);
  }
});

test("idle_timeout counts from the end of the last response, not from the client's last byte", { timeout: 60_000 }, async () => {
  // The response takes 2 s, longer than the 1 s idle_timeout; the connection was busy all along.
  const up = await startUpstream("up", (_req, res) => {
    res.writeHead(200, { "content-length": "5" });
    let sent = 0;
    const t = setInterval(() => {
      res.write("x");
      if (++sent === 5) {
        clearInterval(t);
        res.end();
      }
    }, 400);
  });
  const yaml = bootstrapYaml({
    hcm: `
          common_http_protocol_options: { idle_timeout: 1s }`,
    routes: `
              - match: { prefix: "/" }
                route: { cluster: up, timeout: 0s }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const c = await RawConnection.open(weft.listeners.edge!);
    assert.deepEqual([(await c.request("GET", "/slow", {}, "", 5000)).body], ["xxxxx"]);
    // Envoy arms the idle timer when the last stream ends: a request 300 ms later is served.
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(c.closed, false, "the proxy closed the connection as idle right after a 2 s response");
    assert.equal((await c.request("GET", "/again", {}, "", 5000)).body, "xxxxx");
    c.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});
