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
