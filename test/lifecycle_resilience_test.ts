/**
 * Issue 6, points 3, 4 and 5: a worker killed under load is replaced and counted while the process
 * keeps serving; slowloris, connection floods over the limit and oversized headers are refused and
 * counted while legitimate requests succeed; 10,000 mutated requests crash nothing.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { connect } from "node:net";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { Load } from "./helpers/load.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";
import type { ConnectionsResponse, WorkersResponse } from "../src/admin/wire.ts";
import { latin1Bytes, runWeft } from "./http1/vectors.ts";
import { prng } from "./helpers/prng.ts";

const ok = (req: import("node:http").IncomingMessage, res: import("node:http").ServerResponse) => {
  req.resume();
  req.on("end", () => res.end("ok"));
};

function yaml(upstream: number, extra: { hcm?: string; listenerExtra?: string } = {}): string {
  return bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: up, timeout: 2s }`,
    clusters: [{ name: "up", endpoints: [upstream] }],
    ...extra,
  });
}

test("a worker killed under load is replaced; the others keep serving; the loss is counted", { timeout: 120_000 }, async () => {
  const up = await startUpstream("up", ok);
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml(up.port)), "--concurrency", "2", "--test-hooks"]);
  try {
    const port = weft.listeners.edge!;
    // Keep-alive load only, so the connections worker 0 holds stay the same until it dies.
    const load = new Load({ port, keepAlive: 6, newConnections: 0, path: "/" });
    await eventually("load flowing", () => load.result.requests > 500, 20_000);
    // Idle connections too, until worker 0 holds enough that their loss cannot be missed.
    const onWorker0 = async () => (await weft.adminJson<ConnectionsResponse>("/connections?worker=0")).connections.length;
    const idle: RawConnection[] = [];
    while (idle.length < 40 && (await onWorker0()) < 8) {
      const c = await RawConnection.open(port);
      assert.equal((await c.request("GET", "/idle")).status, 200);
      idle.push(c);
    }
    const heldByWorker0 = await onWorker0();
    assert.ok(heldByWorker0 >= 8, `worker 0 holds ${heldByWorker0} connections`);
    assert.equal((await weft.admin("/debug/crash_worker?worker=0", { method: "POST" })).status, 200);
    const workers = await eventually("worker 0 replaced", async () => {
      const w = await weft.adminJson<WorkersResponse>("/workers");
      return w.workers[0]!.generation === 1 && w.workers[0]!.status === "running" ? w : null;
    }, 20_000);
    assert.equal(workers.workers.length, 2);
    assert.equal(workers.workers[1]!.generation, 0);
    // Connections on the dead worker failed; everything after the replacement succeeds.
    const duringCrash = (await load.stop()).failures.length;
    const after = new Load({ port, keepAlive: 6, newConnections: 2, path: "/" });
    await eventually("load after recovery", () => after.result.requests > 1000, 30_000);
    const result = await after.stop();
    assert.deepEqual(result.failures, []);
    const stats = parseStats(await (await weft.admin("/stats")).text());
    assert.equal(stats["server.worker_restarts"], 1);
    assert.equal(stats["server.worker_0.restarts"], 1);
    assert.equal(stats["server.worker_connections_lost"], heldByWorker0);
    // At most one failed request per keep-alive loop whose connection died, plus one per reconnect
    // that reached worker 0's listener as it closed.
    assert.ok(duringCrash <= 2 * 6, `${duringCrash} failures`);
    for (const c of idle) c.close();
    // The replacement serves: both workers own connections again.
    const w = await weft.adminJson<WorkersResponse>("/workers");
    assert.ok(w.workers[0]!.totalConnections > 0);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

/** Open a connection and wait for the server to close it; resolves with what it answered, if anything. */
function refusedConnection(port: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1" });
    let got = "";
    const t = setTimeout(() => {
      s.destroy();
      reject(new Error("a refused connection stayed open"));
    }, 10_000);
    s.on("data", (d) => (got += d));
    s.on("error", () => {});
    s.on("close", () => {
      clearTimeout(t);
      resolve(got);
    });
  });
}

test("slowloris, 10,000 connections over the limit and oversized headers are refused and counted", { timeout: 240_000 }, async () => {
  const up = await startUpstream("up", ok);
  const config = yaml(up.port, {
    hcm: "\n          request_headers_timeout: 2s\n          max_request_headers_kb: 8",
    listenerExtra: "\n    max_connections: 120",
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config), "--concurrency", "2"]);
  try {
    const port = weft.listeners.edge!;
    // Legitimate clients: 10 keep-alive connections sending all along.
    const legit = new Load({ port, keepAlive: 10, newConnections: 0, path: "/legit" });

    // Slowloris: 100 connections sending one header byte per second.
    const head = "GET /slow HTTP/1.1\r\nhost: x\r\nx-slow: " + "a".repeat(100);
    const slow = await Promise.all(Array.from({ length: 100 }, () => RawConnection.open(port)));
    let i = 0;
    const drip = setInterval(() => {
      for (const c of slow) if (!c.closed) c.write(head[i % head.length]!);
      i++;
    }, 1000);
    const slowReplies = await Promise.all(slow.map((c) => c.readResponse(15_000)));
    clearInterval(drip);
    for (const r of slowReplies) assert.deepEqual([r.status, r.body], [408, "request header timeout"]);

    // 10,000 connection attempts over the listener's limit of 120 (10 legitimate + 110 held).
    const held = await Promise.all(Array.from({ length: 110 }, () => RawConnection.open(port)));
    await Promise.all(held.map((c) => c.request("GET", "/held")));
    let refused = 0;
    for (let batch = 0; batch < 100; batch++) {
      const answers = await Promise.all(Array.from({ length: 100 }, () => refusedConnection(port)));
      refused += answers.filter((a) => a === "").length;
    }
    assert.equal(refused, 10_000);
    for (const c of held) c.close();

    // Oversized headers: over max_request_headers_kb (8 KiB) → 431 and close.
    const big = await RawConnection.open(port);
    big.write(`GET /big HTTP/1.1\r\nhost: x\r\nx-big: ${"b".repeat(9000)}\r\n\r\n`);
    assert.equal((await big.readResponse()).status, 431);
    await big.waitClosed();

    const result = await legit.stop();
    assert.deepEqual(result.failures, []);
    assert.ok(result.requests > 100);
    const stats = parseStats(await (await weft.admin("/stats")).text());
    const listener = `listener.127.0.0.1_${port}.`;
    assert.equal(stats["http.edge.downstream_rq_header_timeout"], 100);
    assert.equal(stats[listener + "downstream_cx_overflow"], 10_000);
    assert.equal(stats["http.edge.downstream_rq_header_overflow"], 1);
    assert.equal(stats["cluster.up.upstream_rq_total"], result.requests + 110);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("global_downstream_max_connections refuses past the limit across workers", { timeout: 60_000 }, async () => {
  const up = await startUpstream("up", ok);
  const config = yaml(up.port) + `
overload_manager:
  resource_monitors:
  - name: envoy.resource_monitors.global_downstream_max_connections
    typed_config:
      "@type": type.googleapis.com/envoy.extensions.resource_monitors.downstream_connections.v3.DownstreamConnectionsConfig
      max_active_downstream_connections: 30
`;
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config), "--concurrency", "2"]);
  try {
    const port = weft.listeners.edge!;
    const held = await Promise.all(Array.from({ length: 30 }, () => RawConnection.open(port)));
    await Promise.all(held.map((c) => c.request("GET", "/held")));
    const answers = await Promise.all(Array.from({ length: 50 }, () => refusedConnection(port)));
    assert.equal(answers.filter((a) => a === "").length, 50);
    // Held connections still work, and closing some makes room again.
    assert.equal((await held[0]!.request("GET", "/still")).body, "ok");
    for (const c of held.slice(0, 5)) c.close();
    await eventually("room again", async () => {
      const c = await RawConnection.open(port);
      try {
        return (await c.request("GET", "/again", {}, "", 2000)).body === "ok";
      } catch {
        return false;
      } finally {
        c.close();
      }
    });
    const stats = parseStats(await (await weft.admin("/stats")).text());
    assert.ok(stats[`listener.127.0.0.1_${port}.downstream_global_cx_overflow`]! >= 50);
    for (const c of held) c.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

const SEEDS = [
  "GET /a?b=c HTTP/1.1\r\nhost: example.com\r\nuser-agent: fuzz\r\naccept: */*\r\n\r\n",
  "POST /upload HTTP/1.1\r\nhost: example.com\r\ncontent-length: 11\r\ncontent-type: text/plain\r\n\r\nhello world",
  "POST /chunks HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
  "HEAD / HTTP/1.0\r\nconnection: keep-alive\r\n\r\n",
  "PUT /p HTTP/1.1\r\nhost: x\r\nexpect: 100-continue\r\ncontent-length: 3\r\n\r\nabc",
];
const INTERESTING = ["\r\n", "\n", "\r", " ", ":", "\0", "\x7f", "\xff", "0", "-1", "chunked", "content-length: 5", "transfer-encoding: chunked", "\t", "HTTP/1.1", "99999999999999999999"];

function mutate(rand: () => number): string {
  let s = SEEDS[Math.floor(rand() * SEEDS.length)]!;
  const n = 1 + Math.floor(rand() * 3);
  for (let k = 0; k < n; k++) {
    const at = Math.floor(rand() * s.length);
    switch (Math.floor(rand() * 5)) {
      case 0:
        s = s.slice(0, at) + String.fromCharCode(Math.floor(rand() * 256)) + s.slice(at + 1);
        break;
      case 1:
        s = s.slice(0, at) + INTERESTING[Math.floor(rand() * INTERESTING.length)] + s.slice(at);
        break;
      case 2:
        s = s.slice(0, at) + s.slice(at + 1 + Math.floor(rand() * 4));
        break;
      case 3: {
        const lines = s.split("\r\n");
        const i = Math.floor(rand() * lines.length);
        lines.splice(i, 0, lines[Math.floor(rand() * lines.length)]!);
        s = lines.join("\r\n");
        break;
      }
      case 4:
        s = s.slice(0, at);
        break;
    }
  }
  return s;
}

/**
 * How an exchange ended: a whole final response arrived, the server closed (FIN) or reset the
 * connection first, or it stayed silent and open past the limit (a hang).
 */
type Ending = "answered" | "closed" | "reset" | "timeout";

/** How long a mutated request may take to be answered or closed: none of them waits on a slow upstream. */
const EXCHANGE_LIMIT_MS = 5000;

/** Whether `got` holds a whole final (non-1xx) response; `head` says it has no body (HEAD). */
function wholeResponse(got: string, head: boolean): boolean {
  let at = 0;
  for (;;) {
    const end = got.indexOf("\r\n\r\n", at);
    if (end < 0) return false;
    const status = Number(got.slice(at + 9, at + 12));
    if (status >= 100 && status < 200) {
      at = end + 4;
      continue;
    }
    if (head || status === 204 || status === 304) return true;
    const length = /\r\ncontent-length: *(\d+)/i.exec(got.slice(at, end));
    return length !== null && got.length >= end + 4 + Number(length[1]);
  }
}

/**
 * Sends raw bytes and collects the answer. A request weft's codec sees as incomplete is followed by
 * the client's EOF (weft must then close, with or without an answer); any other is left open until
 * its first final response is whole or the server closes.
 */
function exchange(port: number, bytes: string, complete: boolean, head: boolean): Promise<{ answer: string; ending: Ending }> {
  return new Promise((resolve) => {
    const s = connect({ port, host: "127.0.0.1" }, () => {
      s.write(Buffer.from(bytes, "latin1"));
      if (!complete) s.end();
    });
    let got = "";
    let ending: Ending | null = null;
    const t = setTimeout(() => {
      ending ??= "timeout";
      s.destroy();
    }, EXCHANGE_LIMIT_MS);
    s.on("data", (d: Buffer) => {
      got += d.toString("latin1");
      if (ending === null && wholeResponse(got, head)) {
        ending = "answered";
        s.destroy();
      }
    });
    s.on("error", () => (ending ??= "reset"));
    s.on("close", () => {
      clearTimeout(t);
      resolve({ answer: got, ending: ending ?? "closed" });
    });
  });
}

test("10,000 mutated requests: no worker crashes, every answer is valid HTTP, normal requests still work", { timeout: 300_000 }, async () => {
  const up = await startUpstream("up", ok);
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml(up.port, { hcm: "\n          request_headers_timeout: 1s" })), "--concurrency", "2"]);
  try {
    const port = weft.listeners.edge!;
    const rand = prng(20261122);
    const statuses = new Map<string, number>();
    const endings = new Map<string, number>();
    const deadline = Date.now() + 240_000;
    let sent = 0;
    while (sent < 10_000 && Date.now() < deadline) {
      const batch = Array.from({ length: 50 }, () => {
        const request = mutate(rand);
        // What weft's codec makes of the first message decides what the answer must be.
        const outcome = runWeft(latin1Bytes(request));
        return { request, outcome, head: outcome.verdict === "accept" && outcome.head.method === "HEAD" };
      });
      const results = await Promise.all(batch.map((b) => exchange(port, b.request, b.outcome.verdict !== "incomplete", b.head)));
      sent += batch.length;
      results.forEach(({ answer, ending }, k) => {
        const { request, outcome: { verdict } } = batch[k]!;
        const kind = `${verdict}/${ending}`;
        endings.set(kind, (endings.get(kind) ?? 0) + 1);
        const what = `request ${JSON.stringify(request)} (codec: ${verdict}) ended ${ending} with ${JSON.stringify(answer.slice(0, 200))}`;
        // Never a hang or a reset: a whole response, or a close (after a close-delimited response).
        assert.ok(ending === "answered" || ending === "closed", what);
        // Only a request still incomplete at the client's EOF may be closed without an answer.
        if (answer === "" && verdict === "incomplete") return;
        // Every response in the answer must start with a valid status line.
        for (const m of answer.matchAll(/HTTP\/1\.[01] (\d{3}) /g)) statuses.set(m[1]!, (statuses.get(m[1]!) ?? 0) + 1);
        assert.match(answer, /^HTTP\/1\.1 [1-5]\d\d [^\r\n]*\r\n/, what);
      });
    }
    console.log(`fuzz: codec verdict/ending ${JSON.stringify(Object.fromEntries(endings))}; statuses ${JSON.stringify(Object.fromEntries(statuses))}`);
    assert.equal(sent, 10_000);
    assert.ok((statuses.get("400") ?? 0) > 100, JSON.stringify(Object.fromEntries(statuses)));
    const workers = await weft.adminJson<WorkersResponse>("/workers");
    for (const w of workers.workers) assert.deepEqual([w.status, w.generation], ["running", 0]);
    const c = await RawConnection.open(port);
    for (let i = 0; i < 20; i++) assert.equal((await c.request("GET", `/after/${i}`)).body, "ok");
    c.close();
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});
