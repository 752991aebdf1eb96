import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { currentRuntime } from "../runtime/mod.ts";
import { relay, SocketEnd } from "./relay.ts";

test("relays both ways with counts, half-close and initial bytes", async () => {
  // A server that answers "ok:<bytes received>" after the client half-closes.
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    s.on("data", (d) => (n += d.length));
    s.on("end", () => s.end(`ok:${n}`));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as net.AddressInfo).port;
  let relayed!: (r: { up: number; down: number }) => void;
  const result = new Promise<{ up: number; down: number }>((r) => (relayed = r));
  const front = net.createServer({ allowHalfOpen: true }, (down) => {
    const up = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true }, () => {
      void relay(down, up, {}, new TextEncoder().encode("pre")).then(relayed);
    });
  });
  await new Promise<void>((r) => front.listen(0, "127.0.0.1", r));
  const client = net.connect({ host: "127.0.0.1", port: (front.address() as net.AddressInfo).port, allowHalfOpen: true });
  const payload = Buffer.alloc(1 << 20, 7);
  client.end(payload);
  let answer = "";
  for await (const c of client) answer += c;
  assert.equal(answer, `ok:${payload.length + 3}`);
  assert.deepEqual(await result, { up: payload.length + 3, down: answer.length });
  front.close();
  server.close();
});

/** A node:net server that answers "ok:<bytes>:<sha256>" once the client half-closes. */
async function countingServer(): Promise<{ port: number; close(): void }> {
  const server = net.createServer({ allowHalfOpen: true }, (s) => {
    let n = 0;
    const h = createHash("sha256");
    s.on("data", (d: Buffer) => {
      n += d.length;
      h.update(d);
    });
    s.on("end", () => s.end(`ok:${n}:${h.digest("hex")}`));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  return { port: (server.address() as net.AddressInfo).port, close: () => server.close() };
}

/** Sends `payload` with a half-close and returns the whole answer. */
async function exchange(port: number, payload: Uint8Array): Promise<string> {
  const client = net.connect({ host: "127.0.0.1", port, allowHalfOpen: true });
  client.end(payload);
  let answer = "";
  for await (const c of client) answer += c;
  return answer;
}

for (const upstreamKind of ["runtime socket", "node:net Duplex"] as const) {
  test(`a runtime socket relays to a ${upstreamKind}: bytes intact, half-close both ways, bytes that came before the relay kept`, async () => {
    const runtime = await currentRuntime();
    const server = await countingServer();
    const results: Promise<{ up: number; down: number }>[] = [];
    const front = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, (socket) => {
      const down = new SocketEnd(socket, runtime.lendsReadBuffers);
      // No parser: what arrives before the upstream is connected is kept for the relay.
      const connecting = upstreamKind === "runtime socket" ? SocketEnd.connect(runtime, { hostname: "127.0.0.1", port: server.port }) : null;
      const up = connecting !== null ? connecting.opened.then(() => connecting) : new Promise<net.Socket>((resolve) => {
          const s = net.connect({ host: "127.0.0.1", port: server.port, allowHalfOpen: true }, () => resolve(s));
        });
      results.push(up.then((u) => relay(down, u)));
      return down.handlers;
    });
    try {
      // 16 MiB in varied bytes: the runtime's read buffers are reused, so a kept reference would corrupt them.
      const payload = new Uint8Array(16 << 20).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
      const answer = await exchange(front.port, payload);
      assert.equal(answer, `ok:${payload.length}:${createHash("sha256").update(payload).digest("hex")}`);
      assert.deepEqual(await results[0], { up: payload.length, down: answer.length });
    } finally {
      front.close();
      server.close();
    }
  });
}

test("a runtime socket that closes abruptly takes the other side down, and the relay reports it", async () => {
  const runtime = await currentRuntime();
  // The upstream never answers: only the client's reset can end the relay.
  const upstreamGot = Promise.withResolvers<void>();
  const upstreamClosed = Promise.withResolvers<void>();
  const server = net.createServer((s) => {
    s.on("data", () => upstreamGot.resolve());
    s.on("close", () => upstreamClosed.resolve());
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const relayed = Promise.withResolvers<{ up: number; down: number; error?: Error }>();
  const front = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, (socket) => {
    const down = new SocketEnd(socket, runtime.lendsReadBuffers);
    const up = SocketEnd.connect(runtime, { hostname: "127.0.0.1", port: (server.address() as net.AddressInfo).port });
    void up.opened.then(() => relay(down, up)).then(relayed.resolve);
    return down.handlers;
  });
  const timeout = setTimeout(() => relayed.reject(new Error("the relay did not end")), 5000);
  try {
    const client = net.connect({ host: "127.0.0.1", port: front.port });
    await new Promise<void>((r) => client.once("connect", r));
    client.write("partial");
    await upstreamGot.promise; // relayed: the relay is attached
    client.resetAndDestroy();
    const r = await relayed.promise;
    assert.equal(r.up, 7);
    assert.match(String(r.error), /reset/i);
    await upstreamClosed.promise;
  } finally {
    clearTimeout(timeout);
    front.close();
    server.close();
  }
});
