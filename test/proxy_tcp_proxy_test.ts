/**
 * `envoy.filters.network.tcp_proxy` end to end: node's own sockets through a real `weft proxy serve`
 * to a node echo server, with Envoy's stats read from /stats.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { connect, createServer, type Server, type Socket } from "node:net";
import { parseStats } from "./helpers/bootstrap.ts";
import { freePort, portThatNeverAccepts } from "./helpers/ports.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { eventually, startWeft, type WeftProcess, writeTempFile } from "./helpers/weft_process.ts";

/** A TCP server on 127.0.0.1 that echoes every byte and ends its side once the client ended its own. */
async function startEcho(): Promise<{ server: Server; port: number; close(): Promise<void> }> {
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.on("error", () => {});
    s.pipe(s);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  return { server, port, close: () => new Promise<void>((r) => server.close(() => r())) };
}

interface ClusterSpec {
  name: string;
  port: number;
  connectTimeout?: string;
}

/** One listener whose filter chains are `chains` (YAML list items), and the clusters. */
function tcpBootstrap(chains: string, clusters: ClusterSpec[], listenerExtra = ""): string {
  return `
admin:
  address: { socket_address: { address: 127.0.0.1, port_value: 0 } }
stats_flush_interval: 0.2s
static_resources:
  listeners:
  - name: tcp
    address: { socket_address: { address: 127.0.0.1, port_value: 0 } }${listenerExtra}
    filter_chains:${chains}
  clusters:${clusters.map((c) => `
  - name: ${c.name}
    connect_timeout: ${c.connectTimeout ?? "1s"}
    load_assignment:
      cluster_name: ${c.name}
      endpoints:
      - lb_endpoints:
        - endpoint: { address: { socket_address: { address: 127.0.0.1, port_value: ${c.port} } } }`).join("")}
`;
}

/** A filter chain item holding a tcp_proxy. */
function tcpProxyChain(statPrefix: string, cluster: string, extra = "", match = ""): string {
  return `
    - ${match ? `filter_chain_match: ${match}\n      ` : ""}filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: ${statPrefix}
          cluster: ${cluster}${extra}`;
}

async function stats(weft: WeftProcess): Promise<Record<string, number>> {
  return parseStats(await (await weft.admin("/stats")).text());
}

/** A client connection; `allowHalfOpen` keeps it open for writing after weft's FIN. */
function open(port: number, options: { localAddress?: string; allowHalfOpen?: boolean } = {}): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1", ...options });
    s.once("connect", () => resolve(s));
    s.once("error", reject);
  });
}

function closed(s: Socket): Promise<void> {
  return s.closed ? Promise.resolve() : new Promise((r) => s.once("close", () => r()));
}

test("tcp_proxy: 1 GiB each way through weft to an echo server, the bytes unchanged (sha256), half-close relayed", { timeout: 300_000 }, async () => {
  const echo = await startEcho();
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", tcpBootstrap(tcpProxyChain("echo_tcp", "echo"), [{ name: "echo", port: echo.port }]))]);
  try {
    const total = 1 << 30;
    const block = randomBytes(1 << 20);
    const s = await open(weft.listeners.tcp!, { allowHalfOpen: true });
    const sent = createHash("sha256");
    const received = createHash("sha256");
    let receivedBytes = 0;
    s.on("data", (c: Buffer) => {
      received.update(c);
      receivedBytes += c.byteLength;
    });
    const ended = new Promise<void>((r) => s.once("end", () => r()));
    for (let n = 0; n < total; n += block.byteLength) {
      // A different block each time, so a chunk relayed twice or out of order changes the hash.
      block.writeUInt32BE(n / block.byteLength, 0);
      sent.update(block);
      if (!s.write(block)) await new Promise<void>((r) => s.once("drain", () => r()));
    }
    // Half-close: the echo server sees our FIN only after every byte, and ends its side after echoing them.
    s.end();
    await withTimeout(ended, 240_000, "the echo's FIN");
    assert.equal(receivedBytes, total);
    assert.equal(received.digest("hex"), sent.digest("hex"));
    await withTimeout(closed(s), 10_000, "the connection to close");
    const st = await eventually("the tcp stats", async () => {
      const st = await stats(weft);
      return st["tcp.echo_tcp.downstream_cx_tx_bytes_total"] === total ? st : null;
    });
    assert.equal(st["tcp.echo_tcp.downstream_cx_total"], 1);
    assert.equal(st["tcp.echo_tcp.downstream_cx_rx_bytes_total"], total);
    assert.equal(st["cluster.echo.upstream_cx_total"], 1);
    assert.equal(st["cluster.echo.upstream_cx_rx_bytes_total"], total);
    assert.equal(st["cluster.echo.upstream_cx_tx_bytes_total"], total);
    assert.equal(st["cluster.echo.upstream_cx_active"], 0);
    // The echo server reads slower than a client writes at times: reading from the client paused.
    assert.ok((st["tcp.echo_tcp.downstream_flow_control_paused_reading_total"] ?? 0) > 0, JSON.stringify(st));
  } finally {
    await weft.stop();
    await echo.close();
  }
});

test("tcp_proxy: the upstream's half-close reaches the client, which goes on sending; the connection is listed as tcp", { timeout: 60_000 }, async () => {
  // A server that greets, ends its side at once, and then reads until the client ends.
  let serverGot = "";
  const serverDone = Promise.withResolvers<string>();
  const server = createServer({ allowHalfOpen: true }, (s) => {
    s.end("bye from server");
    s.on("data", (c: Buffer) => (serverGot += c.toString()));
    s.on("end", () => serverDone.resolve(serverGot));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
  const port = (server.address() as { port: number }).port;
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", tcpBootstrap(tcpProxyChain("half", "server"), [{ name: "server", port }]))]);
  try {
    const s = await open(weft.listeners.tcp!, { allowHalfOpen: true });
    let got = "";
    s.on("data", (c: Buffer) => (got += c.toString()));
    await withTimeout(new Promise<void>((r) => s.once("end", () => r())), 10_000, "the server's FIN");
    assert.equal(got, "bye from server");
    const rows = await weft.adminJson<{ connections: { kind: string; listener: string }[] }>("/connections");
    assert.deepEqual(rows.connections.filter((c) => c.listener === "tcp").map((c) => c.kind), ["tcp"]);
    // Still writable after the server's FIN: the bytes reach the server.
    s.write("still ");
    s.end("talking");
    assert.equal(await withTimeout(serverDone.promise, 10_000, "the client's bytes and FIN at the server"), "still talking");
    await withTimeout(closed(s), 10_000, "the connection to close");
  } finally {
    await weft.stop();
    await new Promise<void>((r) => server.close(() => r()));
  }
});

test("tcp_proxy: idle_timeout closes a connection where no byte moved for that long, counted in idle_timeout", { timeout: 60_000 }, async () => {
  const echo = await startEcho();
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", tcpBootstrap(tcpProxyChain("idle", "echo", "\n          idle_timeout: 0.5s"), [{ name: "echo", port: echo.port }]))]);
  try {
    const s = await open(weft.listeners.tcp!);
    s.write("ping");
    await withTimeout(new Promise<void>((r) => s.once("data", () => r())), 5000, "the echo");
    const echoedAt = performance.now();
    await withTimeout(closed(s), 10_000, "the idle connection to close");
    const idleMs = performance.now() - echoedAt;
    assert.ok(idleMs >= 450, `closed after ${idleMs} ms idle`);
    const st = await eventually("idle_timeout counted", async () => {
      const st = await stats(weft);
      return st["tcp.idle.idle_timeout"] === 1 ? st : null;
    });
    assert.equal(st["cluster.echo.upstream_cx_active"], 0);
  } finally {
    await weft.stop();
    await echo.close();
  }
});

test("tcp_proxy: a dead upstream is tried max_connect_attempts times, then the client is closed; each failure counted", { timeout: 60_000 }, async () => {
  const dead = await freePort();
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", tcpBootstrap(tcpProxyChain("dead", "dead", "\n          max_connect_attempts: 3"), [{ name: "dead", port: dead }]))]);
  try {
    // Not awaiting "connect": weft may close it before the client has seen it open (then a reset).
    const s = connect({ port: weft.listeners.tcp!, host: "127.0.0.1" });
    s.on("error", () => {});
    await withTimeout(closed(s), 10_000, "the client to be closed");
    const st = await eventually("the connect failures", async () => {
      const st = await stats(weft);
      return st["cluster.dead.upstream_cx_connect_attempts_exceeded"] === 1 ? st : null;
    });
    assert.equal(st["cluster.dead.upstream_cx_total"], 3);
    assert.equal(st["cluster.dead.upstream_cx_connect_fail"], 3);
    assert.equal(st["tcp.dead.downstream_cx_total"], 1);
  } finally {
    await weft.stop();
  }
});

test("tcp_proxy: a connection waiting for its upstream is a connecting_upstream task; connect_timeout then counts", { timeout: 60_000 }, async () => {
  const stuck = await portThatNeverAccepts();
  try {
    const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", tcpBootstrap(tcpProxyChain("stuck", "stuck"), [{ name: "stuck", port: stuck.port, connectTimeout: "1.5s" }]))]);
    try {
      const s = await open(weft.listeners.tcp!);
      s.on("error", () => {});
      const tasks = await eventually("the connecting task", async () => {
        const t = await weft.adminJson<{ tasks: { state: string; method: string; cluster: string }[] }>("/tasks");
        return t.tasks.length > 0 ? t.tasks : null;
      });
      assert.deepEqual(tasks.map((t) => [t.state, t.method, t.cluster]), [["connecting_upstream", "TCP", "stuck"]]);
      await withTimeout(closed(s), 10_000, "the client to be closed after the connect timeout");
      const st = await eventually("the timeout counted", async () => {
        const st = await stats(weft);
        return st["cluster.stuck.upstream_cx_connect_timeout"] === 1 ? st : null;
      });
      assert.equal(st["cluster.stuck.upstream_cx_connect_fail"], 1);
      const after = await weft.adminJson<{ tasks: unknown[] }>("/tasks");
      assert.deepEqual(after.tasks, []);
    } finally {
      await weft.stop();
    }
  } finally {
    stuck.close();
  }
});

test("tcp_proxy: weighted_clusters spreads connections over its clusters by weight", { timeout: 60_000 }, async () => {
  // Two servers that each say their name and close.
  const servers = await Promise.all(["a", "b"].map(async (name) => {
    const server = createServer((s) => s.end(name));
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", () => r()));
    return { server, port: (server.address() as { port: number }).port };
  }));
  const chain = `
    - filters:
      - name: envoy.filters.network.tcp_proxy
        typed_config:
          "@type": type.googleapis.com/envoy.extensions.filters.network.tcp_proxy.v3.TcpProxy
          stat_prefix: weighted
          weighted_clusters: { clusters: [{ name: a, weight: 1 }, { name: b, weight: 3 }] }`;
  const weft = await startWeft(["proxy", "serve", "--concurrency", "1", "-c", writeTempFile("envoy.yaml", tcpBootstrap(chain, [{ name: "a", port: servers[0]!.port }, { name: "b", port: servers[1]!.port }]))]);
  try {
    const seen = { a: 0, b: 0 };
    for (let i = 0; i < 200; i++) {
      const s = await open(weft.listeners.tcp!);
      let got = "";
      s.on("data", (c: Buffer) => (got += c.toString()));
      await withTimeout(closed(s), 10_000, "the server's answer");
      assert.ok(got === "a" || got === "b", got);
      seen[got]++;
    }
    // Expected 50 and 150; the chance of falling outside [20, 80] is below 1e-9.
    assert.ok(seen.a >= 20 && seen.a <= 80, JSON.stringify(seen));
    const st = await eventually("the cluster stats", async () => {
      const st = await stats(weft);
      return (st["cluster.a.upstream_cx_total"] ?? 0) + (st["cluster.b.upstream_cx_total"] ?? 0) === 200 ? st : null;
    });
    assert.equal(st["cluster.a.upstream_cx_total"], seen.a);
  } finally {
    await weft.stop();
    for (const { server } of servers) await new Promise<void>((r) => server.close(() => r()));
  }
});
