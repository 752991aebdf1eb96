/**
 * Issue 18: WebSocket (and other upgrades) through the edge with `upgrade_configs`, end to end with
 * the runtimes' own `WebSocket` client against the runtime's own WebSocket server
 * (test/fixtures/ws_echo_server.ts): the 101 reaches the client, then frames flow both ways through
 * weft's byte relay, 64 MiB each way with hashes checked, and the close handshake ends it, counted
 * in Envoy's `downstream_cx_upgrades_total` / `downstream_cx_upgrades_active`.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn } from "node:child_process";
import { createHash } from "node:crypto";
import { join } from "node:path";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { prng } from "./helpers/prng.ts";
import { withTimeout } from "./helpers/timeout.ts";
import { eventually, IS_BUN, REPO, startWeft, type WeftProcess, writeTempFile } from "./helpers/weft_process.ts";
import type { ConnectionsResponse, TasksResponse } from "../src/admin/wire.ts";

const MIB = 1024 * 1024;

/** Starts the runtime's own WebSocket echo server; resolves with its port and a stop function. */
async function startWsServer(): Promise<{ port: number; stop(): Promise<void> }> {
  const script = join(REPO, "test/fixtures/ws_echo_server.ts");
  const child: ChildProcess = IS_BUN ? spawn(process.execPath, [script]) : spawn(process.execPath, ["run", "-A", script]);
  let err = "";
  child.stderr!.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once("exit", () => r()));
  const port = await withTimeout(
    new Promise<number>((resolve, reject) => {
      let out = "";
      child.stdout!.on("data", (d: Buffer) => {
        out += d.toString();
        const line = out.split("\n")[0]!;
        if (out.includes("\n")) resolve((JSON.parse(line) as { port: number }).port);
      });
      child.once("exit", (code) => reject(new Error(`ws server exited (${code}): ${err}`)));
    }),
    30_000,
    "the WebSocket server to listen",
  );
  return {
    port,
    async stop() {
      child.kill("SIGTERM");
      await withTimeout(exited, 10_000, "the WebSocket server to exit");
    },
  };
}

function wsYaml(wsPort: number, hcm: string): string {
  return bootstrapYaml({
    hcm,
    routes: `
              - match: { prefix: "/" }
                route: { cluster: ws }`,
    clusters: [{ name: "ws", endpoints: [wsPort] }],
  });
}

/** Opens a WebSocket and collects its messages; `next()` resolves with the next one. */
async function openSocket(url: string): Promise<{ ws: WebSocket; next(): Promise<string | ArrayBuffer>; closed: Promise<CloseEvent> }> {
  const ws = new WebSocket(url);
  ws.binaryType = "arraybuffer";
  const queue: (string | ArrayBuffer)[] = [];
  let waiter: ((m: string | ArrayBuffer) => void) | null = null;
  ws.onmessage = (e: MessageEvent) => {
    const m = e.data as string | ArrayBuffer;
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w(m);
    } else queue.push(m);
  };
  const closed = new Promise<CloseEvent>((r) => ws.addEventListener("close", (e) => r(e as CloseEvent)));
  await withTimeout(
    new Promise<void>((resolve, reject) => {
      ws.onopen = () => resolve();
      ws.onerror = () => reject(new Error(`WebSocket to ${url} failed`));
    }),
    10_000,
    "the WebSocket to open",
  );
  return {
    ws,
    closed,
    next: () => queue.length > 0 ? Promise.resolve(queue.shift()!) : withTimeout(new Promise((r) => (waiter = r)), 30_000, "a WebSocket message"),
  };
}

async function stats(weft: WeftProcess): Promise<Record<string, number>> {
  return parseStats(await (await weft.admin("/stats")).text());
}

test("a WebSocket through weft with upgrade_configs: text and binary frames, 64 MiB each way with sha256, the close handshake, upgrade counters", { timeout: 240_000 }, async () => {
  const server = await startWsServer();
  // The type is matched case-insensitively, as in Envoy.
  const yaml = wsYaml(server.port, `
          upgrade_configs:
          - upgrade_type: WebSocket`);
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const { ws, next, closed } = await openSocket(`ws://127.0.0.1:${weft.listeners.edge}/chat`);
    ws.send("hello ☃");
    assert.equal(await next(), "hello ☃");
    ws.send(new Uint8Array([0, 1, 2, 255]));
    assert.deepEqual(new Uint8Array(await next() as ArrayBuffer), new Uint8Array([0, 1, 2, 255]));

    // 64 MiB up in 1 MiB binary messages, each echoed back: 64 MiB down.
    const random = prng(18);
    const sent = createHash("sha256");
    const echoed = createHash("sha256");
    sent.update(new Uint8Array([0, 1, 2, 255]));
    echoed.update(new Uint8Array([0, 1, 2, 255]));
    const chunk = new Uint8Array(MIB);
    const words = new Uint32Array(chunk.buffer);
    let echoedBytes = 0;
    for (let i = 0; i < 64; i++) {
      for (let j = 0; j < words.length; j++) words[j] = (random() * 0x1_0000_0000) >>> 0;
      sent.update(chunk);
      ws.send(chunk);
      // Keep a few messages in flight, not the whole 64 MiB in the client's buffer.
      if (i >= 4) {
        const m = new Uint8Array(await next() as ArrayBuffer);
        echoed.update(m);
        echoedBytes += m.byteLength;
      }
    }
    while (echoedBytes < 64 * MIB) {
      const m = new Uint8Array(await next() as ArrayBuffer);
      echoed.update(m);
      echoedBytes += m.byteLength;
    }
    const sentHex = sent.digest("hex");
    assert.equal(echoed.digest("hex"), sentHex, "the bytes echoed back differ from those sent");
    ws.send("digest");
    assert.equal(await next(), `digest ${sentHex} ${64 * MIB + 4}`, "the server received other bytes than were sent");

    const during = await stats(weft);
    assert.equal(during["http.edge.downstream_cx_upgrades_total"], 1);
    assert.equal(during["http.edge.downstream_cx_upgrades_active"], 1);

    ws.close(1000, "done");
    const e = await withTimeout(closed, 10_000, "the close handshake");
    assert.deepEqual([e.code, e.reason, e.wasClean], [1000, "done", true]);
    const after = await eventually("the upgrade to end in the stats", async () => {
      const s = await stats(weft);
      return s["http.edge.downstream_cx_upgrades_active"] === 0 && s["http.edge.downstream_rq_active"] === 0 ? s : null;
    }, 10_000);
    assert.equal(after["http.edge.downstream_cx_upgrades_total"], 1);
    assert.equal(after["http.edge.downstream_rq_1xx"], 1);
    // The upstream connection that switched was closed, not pooled.
    assert.equal(after["cluster.ws.upstream_cx_active"], 0);
  } finally {
    assert.equal(await weft.stop(), 0);
    await server.stop();
  }
});

test("an upgraded connection shows in /connections as kind websocket with its task relaying, and leaves both once closed", { timeout: 60_000 }, async () => {
  const server = await startWsServer();
  const yaml = wsYaml(server.port, `
          upgrade_configs:
          - upgrade_type: websocket`);
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  try {
    const { ws, next, closed } = await openSocket(`ws://127.0.0.1:${weft.listeners.edge}/live`);
    ws.send("ping");
    assert.equal(await next(), "ping");
    const conns = await eventually("the upgraded connection in /connections", async () => {
      const body = await weft.adminJson<ConnectionsResponse>("/connections");
      return body.connections.length === 1 && body.connections[0]!.kind === "websocket" ? body : null;
    });
    assert.equal(conns.connections[0]!.requests, 1);
    const tasks = await weft.adminJson<TasksResponse>("/tasks");
    assert.equal(tasks.tasks.length, 1);
    assert.deepEqual([tasks.tasks[0]!.path, tasks.tasks[0]!.state, tasks.tasks[0]!.cluster], ["/live", "tunnel_streaming", "ws"]);
    ws.close(1000);
    await withTimeout(closed, 10_000, "the close handshake");
    await eventually("the connection and task gone", async () => {
      const c = await weft.adminJson<ConnectionsResponse>("/connections");
      const t = await weft.adminJson<TasksResponse>("/tasks");
      return c.connections.length === 0 && t.tasks.length === 0;
    });
  } finally {
    assert.equal(await weft.stop(), 0);
    await server.stop();
  }
});
