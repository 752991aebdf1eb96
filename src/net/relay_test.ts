import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import net from "node:net";
import { Duplex } from "node:stream";
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

test("a runtime socket keeps little before its relay attaches: it stops reading, and nothing is lost", async () => {
  const runtime = await currentRuntime();
  const server = await countingServer();
  let down!: SocketEnd;
  const accepted = Promise.withResolvers<void>();
  const firstKept = Promise.withResolvers<void>();
  const front = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, (socket) => {
    down = new SocketEnd(socket, runtime.lendsReadBuffers);
    // Stands for a handshake parser that has seen its head: the next bytes are kept.
    down.early = () => {
      down.early = null;
      firstKept.resolve();
    };
    accepted.resolve();
    return down.handlers;
  });
  try {
    const payload = new Uint8Array(32 << 20).map((_, i) => (i * 13 + (i >> 14)) & 0xff);
    const client = net.connect({ host: "127.0.0.1", port: front.port, allowHalfOpen: true });
    await new Promise<void>((r) => client.once("connect", r));
    await accepted.promise;
    client.write(new Uint8Array([0])); // the "head"
    await firstKept.promise;
    const written = new Promise<string>((resolve) => client.write(payload, () => resolve("all written")));
    // Were everything read and kept, 32 MiB would be handed over well within a second on loopback.
    const outcome = await Promise.race([written, new Promise<string>((r) => setTimeout(() => r("still waiting"), 1000))]);
    assert.equal(outcome, "still waiting", "the client's writes are held back by TCP");
    assert.ok(down.keptBytes < 4 << 20, `kept ${down.keptBytes} bytes`);
    // The relay attaches: what was kept, then the rest, arrive in order.
    const up = SocketEnd.connect(runtime, { hostname: "127.0.0.1", port: server.port });
    await up.opened;
    const answer = new Promise<string>((resolve) => {
      let text = "";
      client.on("data", (c: Buffer) => (text += c));
      client.on("end", () => resolve(text));
    });
    const relayed = relay(down, up);
    await written;
    client.end();
    assert.equal(await answer, `ok:${payload.length}:${createHash("sha256").update(payload).digest("hex")}`);
    assert.equal((await relayed).up, payload.length);
  } finally {
    front.close();
    server.close();
  }
});

test("when the other side closes cleanly first, a runtime socket is closed once its bytes are sent, not left half-open", async () => {
  const runtime = await currentRuntime();
  const relayed = Promise.withResolvers<{ up: number; down: number }>();
  const front = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, (socket) => {
    const down = new SocketEnd(socket, runtime.lendsReadBuffers);
    // Like an HTTP/2 stream that answers, ends and closes cleanly (END_STREAM, then RST_STREAM NO_ERROR)
    // while the client is still sending: the client must not be left waiting.
    const stream = new Duplex({
      read() {},
      write(_chunk, _enc, done) {
        done();
      },
    });
    void relay(down, stream).then(relayed.resolve);
    stream.push("answer");
    stream.push(null);
    stream.once("end", () => stream.destroy());
    return down.handlers;
  });
  try {
    const client = net.connect({ host: "127.0.0.1", port: front.port, allowHalfOpen: true });
    client.on("error", () => {});
    let text = "";
    client.on("data", (c: Buffer) => (text += c));
    const ended = new Promise<void>((r) => client.once("end", () => r()));
    client.write("request bytes, and no FIN");
    // The relay ends only once both sockets are closed: half-open, this one would wait for the client's FIN.
    const timeout = setTimeout(() => relayed.reject(new Error("the relay did not end")), 5000);
    await relayed.promise;
    clearTimeout(timeout);
    await ended;
    assert.equal(text, "answer");
    client.destroy();
  } finally {
    front.close();
  }
});
