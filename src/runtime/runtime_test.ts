import { test } from "node:test";
import assert from "node:assert/strict";
import { currentRuntime } from "./mod.ts";
import type { Runtime, TcpSocket } from "./types.ts";
import { withTimeout } from "../../test/helpers/timeout.ts";

/**
 * A listener that checks every byte it receives against `expected(offset)`; `verify` waits until
 * `size` bytes arrived (or the connection closed, or `timeoutMs` passed) and asserts they all matched.
 */
async function checkingSink(runtime: Runtime, size: number, expected: (offset: number) => number) {
  let received = 0;
  let mismatch = -1;
  const done = Promise.withResolvers<void>();
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, () => ({
    data(_s: TcpSocket, bytes: Uint8Array) {
      for (let i = 0; i < bytes.byteLength && mismatch < 0; i++) if (bytes[i] !== expected(received + i)) mismatch = received + i;
      received += bytes.byteLength;
      if (received >= size) done.resolve();
    },
    drain() {},
    close() {
      done.resolve();
    },
  }));
  return {
    port: listener.port,
    close: () => listener.close(),
    async verify(timeoutMs: number): Promise<void> {
      const timer = setTimeout(() => done.reject(new Error(`timed out after ${received} bytes`)), timeoutMs);
      try {
        await done.promise;
      } finally {
        clearTimeout(timer);
      }
      assert.equal(mismatch, -1, `first wrong byte at ${mismatch}`);
      assert.equal(received, size);
    },
  };
}

/** A client connected to `port` (rejects if it closes first). */
function connectClient(runtime: Runtime, port: number, onDrain: () => void = () => {}): Promise<TcpSocket> {
  const opened = Promise.withResolvers<TcpSocket>();
  runtime.connectTcp({ hostname: "127.0.0.1", port }, {
    open: (s) => opened.resolve(s),
    data() {},
    drain: onDrain,
    close: (_s, e) => opened.reject(e ?? new Error("closed")),
  });
  return opened.promise;
}

test("write(data, start, end) sends the range, and the caller may reuse data as soon as write returns", async () => {
  const runtime = await currentRuntime();
  // 8 MiB: more than loopback takes at once, so part of it is queued (and must have been copied).
  const size = 8 * 1024 * 1024;
  const source = new Uint8Array(size + 20).map((_, i) => (i * 7) & 0xff);
  const expected = source.slice(10, 10 + size);
  const sink = await checkingSink(runtime, size, (i) => expected[i]!);
  try {
    const client = await connectClient(runtime, sink.port);
    client.write(source, 10, 10 + size);
    source.fill(0); // overwritten at once, as the head writer reuses its buffer
    await sink.verify(20_000);
    client.destroy();
  } finally {
    sink.close();
  }
});

test("bytes a data handler relays to another socket arrive intact, also while read buffers are recycled", async () => {
  const runtime = await currentRuntime();
  const size = 32 * 1024 * 1024;
  const pattern = (i: number) => (i * 31 + (i >> 16)) & 0xff;
  const sink = await checkingSink(runtime, size, pattern);
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
    const client = await connectClient(runtime, relay.port, () => pump());
    pump();
    await sink.verify(30_000);
    client.destroy();
  } finally {
    relay.close();
    sink.close();
  }
});


test("a half-open socket reads after sending its FIN and writes after the peer's, both ways", async () => {
  const runtime = await currentRuntime();
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  // The server answers only after the client's FIN, then ends; the client ends right after its request.
  const serverSaw = Promise.withResolvers<string>();
  let request = "";
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, () => ({
    data(_s, bytes) {
      request += text(bytes);
    },
    drain() {},
    end(s) {
      s.write(new TextEncoder().encode(`got ${request.length} bytes`));
      s.end();
    },
    close(_s, e) {
      serverSaw.resolve(e ? `error ${e.message}` : request);
    },
  }));
  try {
    const answer = Promise.withResolvers<string>();
    let reply = "";
    runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port, halfOpen: true }, {
      open(s) {
        s.write(new TextEncoder().encode("hello"));
        s.end();
      },
      data(_s, bytes) {
        reply += text(bytes);
      },
      drain() {},
      end(s) {
        // Only if the server's FIN is seen before ours went out; then ours closes the socket.
        s.end();
      },
      close(_s, e) {
        if (e) answer.reject(e);
        else answer.resolve(reply);
      },
    });
    assert.equal(await withTimeout(answer.promise, 5000, "the client's close"), "got 5 bytes");
    assert.equal(await withTimeout(serverSaw.promise, 5000, "the server's close"), "hello");
  } finally {
    listener.close();
  }
});

test("without halfOpen, the peer's FIN closes the socket once what was written is sent", async () => {
  const runtime = await currentRuntime();
  const closed = Promise.withResolvers<void>();
  let endCalled = false;
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, () => ({
    data() {},
    drain() {},
    end() {
      endCalled = true;
    },
    close() {
      closed.resolve();
    },
  }));
  try {
    runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port }, {
      open: (s) => s.end(),
      data() {},
      drain() {},
      close() {},
    });
    await withTimeout(closed.promise, 5000, "the server socket's close");
    assert.equal(endCalled, false);
  } finally {
    listener.close();
  }
});

test("connectTcp binds localAddress where the runtime can, and fails with a clear error where it cannot", async () => {
  const runtime = await currentRuntime();
  const seen = Promise.withResolvers<string>();
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, (s) => {
    seen.resolve(s.remoteAddress);
    return { data() {}, drain() {}, close() {} };
  });
  try {
    const outcome = Promise.withResolvers<string>();
    runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port, localAddress: "127.0.0.7" }, {
      open: (s) => {
        outcome.resolve("connected");
        s.destroy();
      },
      data() {},
      drain() {},
      close: (_s, e) => outcome.resolve(`closed: ${e?.message}`),
    });
    const result = await withTimeout(outcome.promise, 5000, "connect");
    if (runtime.bindsLocalAddress) {
      assert.equal(result, "connected");
      assert.equal(await withTimeout(seen.promise, 5000, "accept"), "127.0.0.7");
    } else {
      assert.match(result, /cannot bind a local address/);
    }
  } finally {
    listener.close();
  }
});

for (const early of ["early", ""]) {
  test(`${early ? "writes and end()" : "end() alone"} before a connection opens ${early ? "are" : "is"} sent once it does`, async () => {
    const runtime = await currentRuntime();
    const got = Promise.withResolvers<string>();
    let text = "";
    const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, () => ({
      data(_s, bytes) {
        text += new TextDecoder().decode(bytes);
      },
      drain() {},
      end(s) {
        got.resolve(text);
        s.end();
      },
      close: () => got.resolve(`closed without an end after "${text}"`),
    }));
    try {
      const s = runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port, halfOpen: true }, { open() {}, data() {}, drain() {}, close() {} });
      if (early) s.write(new TextEncoder().encode(early));
      s.end();
      assert.equal(await withTimeout(got.promise, 5000, "the server's end"), early);
    } finally {
      listener.close();
    }
  });
}

test("data bytes may be kept without a copy exactly where lendsReadBuffers is false", async () => {
  const runtime = await currentRuntime();
  // 32 MiB in varied bytes: enough reads for a runtime that recycles its buffers to reuse one.
  const payload = new Uint8Array(32 << 20).map((_, i) => (i * 31 + (i >> 12)) & 0xff);
  const kept: Uint8Array[] = [];
  const closed = Promise.withResolvers<void>();
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false }, () => ({
    data(_s, bytes) {
      kept.push(bytes);
    },
    drain() {},
    close: () => closed.resolve(),
  }));
  try {
    const client = await connectClient(runtime, listener.port);
    client.write(payload);
    client.end();
    await withTimeout(closed.promise, 10_000, "the server socket's close");
    const joined = new Uint8Array(payload.length);
    let at = 0;
    for (const k of kept) {
      joined.set(k.subarray(0, Math.min(k.length, joined.length - at)), at);
      at += k.length;
    }
    assert.equal(at, payload.length);
    const intact = joined.every((b, i) => b === payload[i]);
    assert.equal(intact, !runtime.lendsReadBuffers, `kept bytes ${intact ? "intact" : "overwritten"}, lendsReadBuffers ${runtime.lendsReadBuffers}`);
  } finally {
    listener.close();
  }
});

for (const size of [1024, 4 * 1024 * 1024]) {
  test(`a writer told to wait before the connection opened hears drain once it did (${size} bytes)`, async () => {
    const runtime = await currentRuntime();
    const sink = await checkingSink(runtime, size, (i) => i & 0xff);
    try {
      const drained = Promise.withResolvers<void>();
      const s = runtime.connectTcp({ hostname: "127.0.0.1", port: sink.port }, {
        open() {},
        data() {},
        drain: () => drained.resolve(),
        close: (_s, e) => drained.reject(e ?? new Error("closed")),
      });
      // Whether a write before the connection opens must wait is the runtime's choice; if it must, drain follows.
      if (!s.write(new Uint8Array(size).map((_, i) => i & 0xff))) await withTimeout(drained.promise, 5000, "drain");
      await sink.verify(5000);
    } finally {
      sink.close();
    }
  });
}

test("a half-open socket without an end handler closes on the peer's FIN, as other sockets do", async () => {
  const runtime = await currentRuntime();
  const closed = Promise.withResolvers<void>();
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, () => ({
    data() {},
    drain() {},
    close: () => closed.resolve(),
  }));
  try {
    runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port }, { open: (s) => s.end(), data() {}, drain() {}, close() {} });
    await withTimeout(closed.promise, 5000, "the server socket's close");
  } finally {
    listener.close();
  }
});

test("closeAfterWrites closes a half-open socket after its last bytes, although the peer has not ended", async () => {
  const runtime = await currentRuntime();
  const closed = Promise.withResolvers<void>();
  const listener = await runtime.listenTcp({ hostname: "127.0.0.1", port: 0, reusePort: false, halfOpen: true }, (s) => {
    queueMicrotask(() => {
      s.write(new TextEncoder().encode("last words"));
      s.end(); // our FIN; the client never sends its own
      s.closeAfterWrites();
    });
    return { data() {}, drain() {}, end() {}, close: () => closed.resolve() };
  });
  try {
    const got = Promise.withResolvers<string>();
    let text = "";
    runtime.connectTcp({ hostname: "127.0.0.1", port: listener.port, halfOpen: true }, {
      open() {},
      data: (_s, b) => void (text += new TextDecoder().decode(b)),
      drain() {},
      end: () => got.resolve(text),
      close: () => got.resolve(text),
    });
    assert.equal(await withTimeout(got.promise, 5000, "the client's end"), "last words");
    await withTimeout(closed.promise, 5000, "the server socket's close");
  } finally {
    listener.close();
  }
});
