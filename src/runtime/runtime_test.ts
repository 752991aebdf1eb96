import { test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime } from "./mod.ts";
import type { TcpSocket } from "./types.ts";

test("write(data, start, end) sends the range, and the caller may reuse data as soon as write returns", async () => {
  const runtime = await currentRuntime();
  // 8 MiB: more than loopback takes at once, so part of it is queued (and must have been copied).
  const size = 8 * 1024 * 1024;
  const source = new Uint8Array(size + 20).map((_, i) => (i * 7) & 0xff);
  const expected = source.slice(10, 10 + size);
  let received = 0;
  let mismatch = -1;
  const done = Promise.withResolvers<void>();
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, () => ({
    data(_s: TcpSocket, bytes: Uint8Array) {
      for (let i = 0; i < bytes.byteLength && mismatch < 0; i++) if (bytes[i] !== expected[received + i]) mismatch = received + i;
      received += bytes.byteLength;
      if (received >= size) done.resolve();
    },
    drain() {},
    close() {
      done.resolve();
    },
  }));
  try {
    const opened = Promise.withResolvers<TcpSocket>();
    runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port }, {
      open: (s) => opened.resolve(s),
      data() {},
      drain() {},
      close: (_s, e) => opened.reject(e ?? new Error("closed")),
    });
    const client = await opened.promise;
    client.write(source, 10, 10 + size);
    source.fill(0); // overwritten at once, as the head writer reuses its buffer
    const timer = setTimeout(() => done.reject(new Error(`timed out after ${received} bytes`)), 20_000);
    await done.promise;
    clearTimeout(timer);
    client.destroy();
    assert.equal(mismatch, -1, `first wrong byte at ${mismatch}`);
    assert.equal(received, size);
  } finally {
    listener.close();
  }
});

test("bytes a data handler relays to another socket arrive intact, also while read buffers are recycled", async () => {
  const runtime = await currentRuntime();
  const size = 32 * 1024 * 1024;
  const pattern = (i: number) => (i * 31 + (i >> 16)) & 0xff;
  let received = 0;
  let mismatch = -1;
  const done = Promise.withResolvers<void>();
  const sink = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, () => ({
    data(_s: TcpSocket, bytes: Uint8Array) {
      for (let i = 0; i < bytes.byteLength && mismatch < 0; i++) if (bytes[i] !== pattern(received + i)) mismatch = received + i;
      received += bytes.byteLength;
      if (received >= size) done.resolve();
    },
    drain() {},
    close() {},
  }));
  // The relay: every chunk read from the client is written to the sink, with back-pressure.
  const relay = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, (inbound) => {
    const outbound = runtime.connectTcp({ hostname: "127.0.0.1", port: sink.port }, {
      open() {},
      data() {},
      drain: () => inbound.resume(),
      close() {},
    });
    return {
      data(_s: TcpSocket, bytes: Uint8Array) {
        if (!outbound.write(bytes)) inbound.pause();
      },
      drain() {},
      close() {},
    };
  });
  try {
    const opened = Promise.withResolvers<TcpSocket>();
    const client = runtime.connectTcp({ hostname: "127.0.0.1", port: relay.port }, {
      open: (s) => opened.resolve(s),
      data() {},
      drain: () => pump(),
      close() {},
    });
    await opened.promise;
    let sent = 0;
    const pump = () => {
      while (sent < size) {
        const n = Math.min(100_000, size - sent);
        const chunk = new Uint8Array(n);
        for (let i = 0; i < n; i++) chunk[i] = pattern(sent + i);
        sent += n;
        if (!client.write(chunk)) return;
      }
    };
    pump();
    const timer = setTimeout(() => done.reject(new Error(`timed out after ${received} bytes`)), 30_000);
    await done.promise;
    clearTimeout(timer);
    client.destroy();
    assert.equal(mismatch, -1, `first wrong byte at ${mismatch}`);
    assert.equal(received, size);
  } finally {
    relay.close();
    sink.close();
  }
});
