/**
 * Conformance of our HTTP/2 session (RFC 9113) in the spirit of h2spec: a real `H2Session` on one
 * end of a loopback TCP connection, hand-built frames on the other, and assertions on the frames
 * that come back. Most tests put the session in the server role behind `net.createServer`; the
 * last group puts it in the client role against a raw server. Frames are parsed here by a reader of
 * our own (not `FrameReader`), and every wait is bounded, so a missing answer fails with the frames
 * that did arrive instead of hanging.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { Buffer } from "node:buffer";
import net from "node:net";
import type { AddressInfo } from "node:net";
import type { Duplex } from "node:stream";
import {
  encodeFrame,
  encodeSettings,
  encodeU32Frame,
  ErrorCode,
  Flag,
  FrameType,
  H2StreamError,
  PREFACE,
  Setting,
} from "./frames.ts";
import { type HeaderList, HpackDecoder, HpackEncoder } from "./hpack.ts";
import { withTimeout } from "../../test/helpers/timeout.ts";
import { errorName, H2Session, type H2SessionOptions, type H2Stream, type IncomingHeaders } from "./session.ts";

/** The longest any single wait may take. */
const WAIT_MS = 2000;
const MAX_WINDOW = 0x7fff_ffff;
const CONNECT: HeaderList = [[":method", "CONNECT"], [":authority", "127.0.0.1:8080"]];

// ---- frames on the raw side ---------------------------------------------------------------------

interface Frame {
  type: number;
  flags: number;
  streamId: number;
  payload: Uint8Array;
}

const TYPE_NAMES = Object.fromEntries(Object.entries(FrameType).map(([k, v]) => [v, k]));

function describe(f: Frame): string {
  const type = TYPE_NAMES[f.type] ?? `0x${f.type.toString(16)}`;
  let extra = "";
  if (f.type === FrameType.GOAWAY || f.type === FrameType.RST_STREAM) {
    const code = u32(f.payload, f.type === FrameType.GOAWAY ? 4 : 0);
    extra = ` ${errorName(code)}`;
    if (f.type === FrameType.GOAWAY && f.payload.length > 8) extra += ` "${new TextDecoder().decode(f.payload.subarray(8))}"`;
  }
  return `${type}(s${f.streamId} f0x${f.flags.toString(16)} len ${f.payload.length}${extra})`;
}

function u32(b: Uint8Array, at: number): number {
  return new DataView(b.buffer, b.byteOffset + at, 4).getUint32(0);
}

function headersBlock(fields: HeaderList): Uint8Array {
  return new HpackEncoder().encode(fields);
}

/** A literal field "with incremental indexing" (RFC 7541 §6.2.1): it enters the peer's dynamic table. */
function indexedLiteral(name: string, value: string): Uint8Array {
  assert.ok(name.length < 127 && value.length < 127);
  return Uint8Array.from([0x40, name.length, ...Buffer.from(name, "latin1"), value.length, ...Buffer.from(value, "latin1")]);
}

function concat(...parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function bytes(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (i + seed) % 251;
  return out;
}

/**
 * One raw end of an HTTP/2 connection: writes hand-built frames and collects the frames that
 * arrive. `expectPreface` (raw server role) strips and checks the client preface first.
 */
class Peer {
  /** Every frame received, in order. */
  readonly frames: Frame[] = [];
  /** Frames not yet taken by {@link next}. */
  readonly #unclaimed: Frame[] = [];
  #buf: Buffer = Buffer.alloc(0);
  #prefaceLeft: number;
  prefaceOk: boolean | undefined;
  closed = false;
  readonly #waiters = new Set<() => void>();
  readonly #decoder = new HpackDecoder();
  #pings = 0;

  constructor(readonly socket: net.Socket, expectPreface = false) {
    this.#prefaceLeft = expectPreface ? PREFACE.length : 0;
    socket.setNoDelay(true);
    socket.on("data", (chunk: Buffer) => this.#onData(chunk));
    socket.on("error", () => {});
    socket.on("close", () => {
      this.closed = true;
      this.#wake();
    });
  }

  #onData(chunk: Buffer): void {
    this.#buf = Buffer.concat([this.#buf, chunk]);
    if (this.#prefaceLeft > 0) {
      if (this.#buf.length < PREFACE.length) return;
      this.prefaceOk = Buffer.from(PREFACE).equals(this.#buf.subarray(0, PREFACE.length));
      this.#buf = this.#buf.subarray(PREFACE.length);
      this.#prefaceLeft = 0;
    }
    while (this.#buf.length >= 9) {
      const length = this.#buf.readUIntBE(0, 3);
      if (this.#buf.length < 9 + length) break;
      const frame: Frame = {
        type: this.#buf[3]!,
        flags: this.#buf[4]!,
        streamId: this.#buf.readUInt32BE(5) & 0x7fff_ffff,
        payload: new Uint8Array(this.#buf.subarray(9, 9 + length)),
      };
      this.#buf = this.#buf.subarray(9 + length);
      this.frames.push(frame);
      this.#unclaimed.push(frame);
    }
    this.#wake();
  }

  #wake(): void {
    for (const w of [...this.#waiters]) w();
  }

  /** Waits until `check` returns something other than undefined (re-checked on every frame). */
  until<T>(check: () => T | undefined, what: string, ms = WAIT_MS): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const done = (fn: () => void) => {
        clearTimeout(timer);
        this.#waiters.delete(waiter);
        fn();
      };
      const waiter = () => {
        let value: T | undefined;
        try {
          value = check();
        } catch (e) {
          return done(() => reject(e));
        }
        if (value !== undefined) return done(() => resolve(value));
        if (this.closed) done(() => reject(new Error(`connection closed while waiting for ${what}; got ${this.summary()}`)));
      };
      const timer = setTimeout(
        () => done(() => reject(new Error(`timed out after ${ms} ms waiting for ${what}; got ${this.summary()}`))),
        ms,
      );
      this.#waiters.add(waiter);
      waiter();
    });
  }

  summary(): string {
    return this.frames.length ? this.frames.map(describe).join(", ") : "no frames";
  }

  /** Takes the first unclaimed frame that matches. */
  next(match: (f: Frame) => boolean, what: string): Promise<Frame> {
    return this.until(() => {
      const i = this.#unclaimed.findIndex(match);
      return i < 0 ? undefined : this.#unclaimed.splice(i, 1)[0];
    }, what);
  }

  nextOf(type: number, streamId?: number): Promise<Frame> {
    const what = `${TYPE_NAMES[type]}${streamId === undefined ? "" : ` on stream ${streamId}`}`;
    return this.next((f) => f.type === type && (streamId === undefined || f.streamId === streamId), what);
  }

  send(...chunks: Uint8Array[]): void {
    this.socket.write(Buffer.concat(chunks));
  }

  sendFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): void {
    this.send(encodeFrame(type, flags, streamId, payload));
  }

  /** HEADERS with END_HEADERS (unless `endHeaders: false`) carrying `fields`. */
  sendHeaders(streamId: number, fields: HeaderList | Uint8Array, opts: { endStream?: boolean; endHeaders?: boolean } = {}): void {
    const block = fields instanceof Uint8Array ? fields : headersBlock(fields);
    const flags = (opts.endStream ? Flag.END_STREAM : 0) | (opts.endHeaders === false ? 0 : Flag.END_HEADERS);
    this.sendFrame(FrameType.HEADERS, flags, streamId, block);
  }

  sendData(streamId: number, payload: Uint8Array, endStream = false): void {
    this.sendFrame(FrameType.DATA, endStream ? Flag.END_STREAM : 0, streamId, payload);
  }

  /** Client side: preface and SETTINGS, then the server's SETTINGS are ACKed and ours must be. */
  async handshake(settings: [number, number][] = []): Promise<Map<number, number>> {
    this.send(PREFACE, encodeSettings(settings));
    const theirs = await this.next((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), "the peer's SETTINGS");
    this.sendFrame(FrameType.SETTINGS, Flag.ACK, 0);
    await this.next((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, "a SETTINGS ACK");
    return parseSettings(theirs.payload);
  }

  /** A PING round trip: everything the peer sent before answering it has arrived. */
  async ping(): Promise<void> {
    const payload = new Uint8Array(8);
    new DataView(payload.buffer).setUint32(4, ++this.#pings);
    this.sendFrame(FrameType.PING, 0, 0, payload);
    await this.next(
      (f) => f.type === FrameType.PING && (f.flags & Flag.ACK) !== 0 && Buffer.from(f.payload).equals(payload),
      `the PING ACK #${this.#pings}`,
    );
  }

  /** The next GOAWAY must carry `code`; the peer must then close the connection. */
  async expectGoaway(code: number): Promise<{ lastStreamId: number; debug: string }> {
    const f = await this.nextOf(FrameType.GOAWAY);
    const debug = new TextDecoder().decode(f.payload.subarray(8));
    assert.equal(errorName(u32(f.payload, 4)), errorName(code), `GOAWAY "${debug}"`);
    await this.expectClose();
    return { lastStreamId: u32(f.payload, 0) & 0x7fff_ffff, debug };
  }

  async expectRst(streamId: number, code: number): Promise<void> {
    const f = await this.nextOf(FrameType.RST_STREAM, streamId);
    assert.equal(errorName(u32(f.payload, 0)), errorName(code), `RST_STREAM on stream ${streamId}`);
  }

  /** The next header block (HEADERS plus any CONTINUATION) on `streamId`, decoded. */
  async headersOn(streamId: number): Promise<{ fields: IncomingHeaders; flags: number }> {
    const head = await this.nextOf(FrameType.HEADERS, streamId);
    const parts = [head.payload];
    let last = head;
    while (!(last.flags & Flag.END_HEADERS)) {
      last = await this.nextOf(FrameType.CONTINUATION, streamId);
      parts.push(last.payload);
    }
    const fields: IncomingHeaders = {};
    for (const [k, v] of this.#decoder.decode(concat(...parts))) fields[k] = v;
    return { fields, flags: head.flags };
  }

  async expectStatus(streamId: number, status: number): Promise<void> {
    const { fields } = await this.headersOn(streamId);
    assert.equal(fields[":status"], String(status), `response on stream ${streamId}`);
  }

  expectClose(): Promise<true> {
    return this.until(() => this.closed || undefined, "the connection to close");
  }

  /** No GOAWAY and no RST_STREAM on `streamIds` among the frames received so far. */
  assertNoErrors(...streamIds: number[]): void {
    const bad = this.frames.filter((f) =>
      f.type === FrameType.GOAWAY || (f.type === FrameType.RST_STREAM && streamIds.includes(f.streamId))
    );
    assert.deepEqual(bad.map(describe), [], `unexpected errors; got ${this.summary()}`);
  }

  /** Sum of the WINDOW_UPDATE increments received for `streamId`. */
  credit(streamId: number): number {
    return this.frames
      .filter((f) => f.type === FrameType.WINDOW_UPDATE && f.streamId === streamId)
      .reduce((sum, f) => sum + (u32(f.payload, 0) & 0x7fff_ffff), 0);
  }

  dataOn(streamId: number): Uint8Array {
    return concat(...this.frames.filter((f) => f.type === FrameType.DATA && f.streamId === streamId).map((f) => f.payload));
  }

  destroy(): void {
    this.socket.destroy();
  }
}

function parseSettings(payload: Uint8Array): Map<number, number> {
  const out = new Map<number, number>();
  for (let at = 0; at + 6 <= payload.length; at += 6) out.set((payload[at]! << 8) | payload[at + 1]!, u32(payload, at + 2));
  return out;
}

// ---- the session as a server --------------------------------------------------------------------

type StreamHandler = (stream: H2Stream, headers: IncomingHeaders, session: H2Session) => void;

/** Answers 200 and leaves the stream open (its data is buffered, unread). */
const accept: StreamHandler = (stream) => stream.respond({ ":status": 200 });
/** Answers 200 and sends every byte back, ending when the client ends. */
const echo: StreamHandler = (stream) => {
  stream.respond({ ":status": 200 });
  stream.pipe(stream);
};

interface TestServer {
  port: number;
  sessions: H2Session[];
  /** Streams the sessions emitted, with their headers. */
  streams: { stream: H2Stream; headers: IncomingHeaders }[];
  close(): Promise<void>;
}

async function startServer(opts: H2SessionOptions = {}, onStream: StreamHandler = accept): Promise<TestServer> {
  const sessions: H2Session[] = [];
  const streams: TestServer["streams"] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("close", () => sockets.delete(socket));
    const session = new H2Session(socket, "server", opts);
    sessions.push(session);
    session.on("stream", (stream, headers) => {
      stream.on("error", () => {}); // resets are what these tests provoke
      streams.push({ stream, headers });
      onStream(stream, headers, session);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    streams,
    close: () => {
      for (const s of sessions) s.destroy();
      for (const s of sockets) s.destroy();
      return withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), WAIT_MS, "the test server to close");
    },
  };
}

async function rawClient(port: number): Promise<Peer> {
  const socket = net.connect(port, "127.0.0.1");
  const peer = new Peer(socket);
  await withTimeout(new Promise<void>((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("error", reject);
  }), WAIT_MS, "the TCP connection");
  return peer;
}

/** Runs `body` against a fresh server and raw client; both are closed afterwards, whatever happens. */
async function withServer(
  opts: H2SessionOptions,
  onStream: StreamHandler,
  body: (c: Peer, server: TestServer) => Promise<void>,
): Promise<void> {
  const server = await startServer(opts, onStream);
  let client: Peer | undefined;
  try {
    client = await rawClient(server.port);
    await body(client, server);
  } finally {
    client?.destroy();
    await server.close();
  }
}

/** The common case: handshake done, then `body`. */
function afterHandshake(
  opts: H2SessionOptions,
  onStream: StreamHandler,
  body: (c: Peer, server: TestServer) => Promise<void>,
): Promise<void> {
  return withServer(opts, onStream, async (c, server) => {
    await c.handshake();
    await body(c, server);
  });
}

// ---- connection preface and SETTINGS (RFC 9113 §3.4, §6.5) ---------------------------------------

test("bad connection preface: GOAWAY PROTOCOL_ERROR, then the connection closes", async () => {
  await withServer({}, accept, async (c) => {
    c.send(Buffer.from("GET / HTTP/1.1\r\nHost: example\r\n\r\n"));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("a preface that arrives a byte at a time is accepted", async () => {
  await withServer({}, accept, async (c) => {
    for (const b of PREFACE) c.send(Uint8Array.of(b));
    c.send(encodeSettings([]));
    await c.next((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, "the ACK of our SETTINGS");
    await c.ping();
    c.assertNoErrors();
  });
});

test("first frame after the preface is not SETTINGS: GOAWAY PROTOCOL_ERROR", async () => {
  await withServer({}, accept, async (c) => {
    c.send(PREFACE, encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("no preface within prefaceTimeoutMs: GOAWAY SETTINGS_TIMEOUT and close", async () => {
  await withServer({ prefaceTimeoutMs: 200 }, accept, async (c) => {
    const started = Date.now();
    await c.expectGoaway(ErrorCode.SETTINGS_TIMEOUT);
    assert.ok(Date.now() - started >= 150, `GOAWAY after ${Date.now() - started} ms`);
  });
});

test("server SETTINGS advertise the options, and the client's SETTINGS get ACKed", async () => {
  const opts = { streamWindow: 1 << 20, connectionWindow: 8 << 20, maxFrameSize: 32 << 10, maxConcurrentStreams: 7, maxHeaderListSize: 4096 };
  await withServer(opts, accept, async (c, server) => {
    const settings = await c.handshake([[Setting.MAX_FRAME_SIZE, 1 << 20], [0x99, 1]]); // unknown ids are ignored
    assert.deepEqual(Object.fromEntries(settings), {
      [Setting.ENABLE_PUSH]: 0,
      [Setting.INITIAL_WINDOW_SIZE]: 1 << 20,
      [Setting.MAX_FRAME_SIZE]: 32 << 10,
      [Setting.MAX_HEADER_LIST_SIZE]: 4096,
      [Setting.MAX_CONCURRENT_STREAMS]: 7,
    });
    // The connection window is raised from the RFC's 65,535 by a WINDOW_UPDATE on stream 0.
    await c.until(() => c.credit(0) || undefined, "a connection WINDOW_UPDATE");
    assert.equal(c.credit(0), (8 << 20) - 65_535);
    // Our ACK of its SETTINGS reaches the session.
    const session = server.sessions[0]!;
    const acked = new Promise<void>((resolve) => session.once("localSettings", resolve));
    c.sendFrame(FrameType.SETTINGS, Flag.ACK, 0);
    await withTimeout(acked, WAIT_MS, "localSettings");
    c.assertNoErrors();
  });
});

test("without options a server announces RFC 9113's initial windows and frame size, 100 streams, no tunnel-sized windows", async () => {
  await withServer({}, accept, async (c) => {
    const settings = await c.handshake();
    assert.deepEqual(Object.fromEntries(settings), {
      [Setting.ENABLE_PUSH]: 0,
      [Setting.INITIAL_WINDOW_SIZE]: 65_535,
      [Setting.MAX_FRAME_SIZE]: 16_384,
      [Setting.MAX_HEADER_LIST_SIZE]: 64 << 10,
      [Setting.MAX_CONCURRENT_STREAMS]: 100,
    });
    // The connection window stays at the RFC's 65,535: a PING round trip shows no WINDOW_UPDATE came.
    await c.ping();
    assert.equal(c.credit(0), 0);
    c.assertNoErrors();
  });
});

test("SETTINGS whose length is not a multiple of 6: GOAWAY FRAME_SIZE_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(7));
    await c.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("SETTINGS ACK with a payload: GOAWAY FRAME_SIZE_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.SETTINGS, Flag.ACK, 0, new Uint8Array(6));
    await c.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("SETTINGS on a stream: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    const settings = encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 100]]);
    settings[8] = 1; // stream id 1
    c.send(settings);
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("ENABLE_PUSH=2: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeSettings([[Setting.ENABLE_PUSH, 2]]));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("INITIAL_WINDOW_SIZE above 2^31-1: GOAWAY FLOW_CONTROL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 0x8000_0000]]));
    await c.expectGoaway(ErrorCode.FLOW_CONTROL_ERROR);
  });
});

for (const value of [16_383, 1 << 24]) {
  test(`MAX_FRAME_SIZE ${value} (out of range): GOAWAY PROTOCOL_ERROR`, async () => {
    await afterHandshake({}, accept, async (c) => {
      c.send(encodeSettings([[Setting.MAX_FRAME_SIZE, value]]));
      await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
    });
  });
}

// ---- frame format and size (§4) ------------------------------------------------------------------

test("frame over our MAX_FRAME_SIZE: GOAWAY FRAME_SIZE_ERROR (one of exactly that size is fine)", async () => {
  await afterHandshake({ maxFrameSize: 16_384 }, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendData(1, bytes(16_384));
    await c.ping();
    c.assertNoErrors(1);
    c.sendData(1, bytes(16_385));
    await c.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("unknown frame types and flags are ignored; the connection keeps working", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(0xfa, 0xff, 0, bytes(100));
    c.sendFrame(0x16, 0, 1, bytes(8)); // even on an idle stream
    c.sendFrame(FrameType.PING, 0xfe, 0, bytes(8)); // unknown flags, ACK not among them
    const pong = await c.nextOf(FrameType.PING);
    assert.equal(pong.flags, Flag.ACK);
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.assertNoErrors(1);
  });
});

test("the reserved bit of the stream id is ignored", async () => {
  await afterHandshake({}, accept, async (c) => {
    const headers = encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, headersBlock(CONNECT));
    headers[5]! |= 0x80;
    c.send(headers);
    await c.expectStatus(1, 200);
  });
});

// ---- PING (§6.7) -------------------------------------------------------------------------------

test("PING: ACK echoing the 8 bytes; a PING ACK gets no answer", async () => {
  await afterHandshake({}, accept, async (c) => {
    const payload = Uint8Array.of(1, 2, 3, 4, 5, 6, 7, 8);
    c.sendFrame(FrameType.PING, Flag.ACK, 0, bytes(8, 50));
    c.sendFrame(FrameType.PING, 0, 0, payload);
    const pong = await c.nextOf(FrameType.PING);
    assert.equal(pong.flags, Flag.ACK);
    assert.deepEqual(pong.payload, payload);
    await c.ping();
    assert.equal(c.frames.filter((f) => f.type === FrameType.PING).length, 2);
  });
});

test("PING of 7 bytes: GOAWAY FRAME_SIZE_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.PING, 0, 0, new Uint8Array(7));
    await c.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("PING on a stream: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.PING, 0, 1, new Uint8Array(8));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

// ---- DATA and stream states (§5.1, §6.1) ----------------------------------------------------------

test("DATA on stream 0: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendData(0, bytes(4));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("DATA on an idle stream: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendData(1, bytes(4), true);
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("padded DATA reaches the stream without its padding", async () => {
  await afterHandshake({}, echo, async (c) => {
    c.sendHeaders(1, CONNECT);
    const hello = new TextEncoder().encode("hello");
    c.sendFrame(FrameType.DATA, Flag.PADDED | Flag.END_STREAM, 1, concat(Uint8Array.of(10), hello, new Uint8Array(10)));
    await c.expectStatus(1, 200);
    await c.next((f) => f.type === FrameType.DATA && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0, "the echo's END_STREAM");
    assert.deepEqual(c.dataOn(1), hello);
    c.assertNoErrors(1);
  });
});

test("padded DATA whose pad length is not below the payload length: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendFrame(FrameType.DATA, Flag.PADDED, 1, Uint8Array.of(5, 1, 2, 3, 4));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("DATA after END_STREAM (half-closed remote): RST_STREAM STREAM_CLOSED, the connection lives on", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT, { endStream: true });
    await c.expectStatus(1, 200);
    c.sendData(1, bytes(4));
    await c.expectRst(1, ErrorCode.STREAM_CLOSED);
    c.sendHeaders(3, CONNECT);
    await c.expectStatus(3, 200);
    c.assertNoErrors(3);
  });
});

test("HEADERS after END_STREAM (half-closed remote): RST_STREAM STREAM_CLOSED", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT, { endStream: true });
    await c.expectStatus(1, 200);
    c.sendHeaders(1, [["x-trailer", "1"]], { endStream: true });
    await c.expectRst(1, ErrorCode.STREAM_CLOSED);
  });
});

test("closed: DATA after the client's RST_STREAM gets RST_STREAM STREAM_CLOSED (h2spec 5.1/8)", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.sendFrame(FrameType.RST_STREAM, 0, 1, Uint8Array.of(0, 0, 0, ErrorCode.CANCEL));
    c.sendData(1, bytes(4));
    await c.expectRst(1, ErrorCode.STREAM_CLOSED);
  });
});

test("closed: DATA after both sides' END_STREAM is a connection error STREAM_CLOSED (h2spec 5.1/11)", async () => {
  await afterHandshake({}, (stream) => stream.respond({ ":status": 200 }, { endStream: true }), async (c) => {
    c.sendHeaders(1, CONNECT, { endStream: true });
    const { flags } = await c.headersOn(1);
    assert.ok(flags & Flag.END_STREAM);
    await c.ping();
    c.sendData(1, bytes(4));
    await c.expectGoaway(ErrorCode.STREAM_CLOSED);
  });
});

test("RST_STREAM on an idle stream: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeU32Frame(FrameType.RST_STREAM, 0, 1, ErrorCode.CANCEL));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("RST_STREAM on stream 0: GOAWAY PROTOCOL_ERROR; of 3 bytes: FRAME_SIZE_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeU32Frame(FrameType.RST_STREAM, 0, 0, ErrorCode.CANCEL));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendFrame(FrameType.RST_STREAM, 0, 1, new Uint8Array(3));
    await c.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("RST_STREAM from the client destroys the server's stream with its code", async () => {
  await afterHandshake({}, accept, async (c, server) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    const stream = server.streams[0]!.stream;
    const error = new Promise<Error>((resolve) => stream.once("error", resolve));
    c.send(encodeU32Frame(FrameType.RST_STREAM, 0, 1, ErrorCode.CANCEL));
    const e = await withTimeout(error, WAIT_MS, "the stream's error");
    assert.ok(e instanceof H2StreamError && e.code === ErrorCode.CANCEL, String(e));
    await c.ping();
    c.assertNoErrors(1); // no RST_STREAM in answer to a RST_STREAM
  });
});

// ---- stream identifiers and concurrency (§5.1.1, §5.1.2) -------------------------------------------

test("client-initiated stream with an even id: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(2, CONNECT);
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("new stream with an id below one already used: GOAWAY PROTOCOL_ERROR (h2spec 5.1.1/2)", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(5, CONNECT);
    await c.expectStatus(5, 200);
    c.sendHeaders(3, CONNECT);
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("a stream beyond maxConcurrentStreams: RST_STREAM REFUSED_STREAM; room again once one closes", async () => {
  await afterHandshake({ maxConcurrentStreams: 2 }, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendHeaders(3, CONNECT);
    c.sendHeaders(5, CONNECT);
    await c.expectStatus(1, 200);
    await c.expectStatus(3, 200);
    await c.expectRst(5, ErrorCode.REFUSED_STREAM);
    c.send(encodeU32Frame(FrameType.RST_STREAM, 0, 1, ErrorCode.CANCEL));
    c.sendHeaders(7, CONNECT);
    await c.expectStatus(7, 200);
    c.assertNoErrors(3, 7);
  });
});

// ---- header blocks (§4.3, §6.2, §6.10) -----------------------------------------------------------

test("HEADERS without END_HEADERS followed by a PING: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT, { endHeaders: false });
    c.sendFrame(FrameType.PING, 0, 0, new Uint8Array(8));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("HEADERS without END_HEADERS followed by an unknown frame type: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT, { endHeaders: false });
    c.sendFrame(0xfa, 0, 1, bytes(4));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("HEADERS without END_HEADERS followed by CONTINUATION on another stream: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    const block = headersBlock(CONNECT);
    c.sendHeaders(1, block.subarray(0, 3), { endHeaders: false });
    c.sendFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 3, block.subarray(3));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("CONTINUATION without a HEADERS before it: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, headersBlock(CONNECT));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("a header block split over HEADERS and CONTINUATIONs is accepted", async () => {
  await afterHandshake({}, accept, async (c, server) => {
    const block = headersBlock([...CONNECT, ["x-split", "a".repeat(100)]]);
    c.sendHeaders(1, block.subarray(0, 10), { endHeaders: false });
    c.sendFrame(FrameType.CONTINUATION, 0, 1, block.subarray(10, 50));
    c.sendFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(50));
    await c.expectStatus(1, 200);
    assert.equal(server.streams[0]!.headers["x-split"], "a".repeat(100));
  });
});

test("undecodable HPACK block: GOAWAY COMPRESSION_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, Uint8Array.of(0x80)); // indexed field 0 does not exist
    await c.expectGoaway(ErrorCode.COMPRESSION_ERROR);
  });
});

test("a CONTINUATION run past 2x maxHeaderListSize: GOAWAY ENHANCE_YOUR_CALM", async () => {
  await afterHandshake({ maxHeaderListSize: 1024 }, accept, async (c) => {
    c.sendHeaders(1, bytes(1000), { endHeaders: false });
    c.sendFrame(FrameType.CONTINUATION, 0, 1, bytes(1000));
    c.sendFrame(FrameType.CONTINUATION, 0, 1, bytes(1000));
    await c.expectGoaway(ErrorCode.ENHANCE_YOUR_CALM);
  });
});

test("a header list over maxHeaderListSize: 431 and RST_STREAM NO_ERROR; the HPACK table stays in step", async () => {
  await afterHandshake({ maxHeaderListSize: 1024 }, accept, async (c, server) => {
    // The refused block adds x-tag to the dynamic table (index 62); the next block refers to it.
    c.sendHeaders(1, concat(indexedLiteral("x-tag", "v1"), headersBlock([...CONNECT, ["x-big", "b".repeat(2000)]])));
    const { fields, flags } = await c.headersOn(1);
    assert.equal(fields[":status"], "431");
    assert.ok(flags & Flag.END_STREAM);
    await c.expectRst(1, ErrorCode.NO_ERROR); // the request was not finished: stop sending it
    c.sendHeaders(3, concat(headersBlock(CONNECT), Uint8Array.of(0x80 | 62)));
    await c.expectStatus(3, 200);
    assert.equal(server.streams.length, 1);
    assert.equal(server.streams[0]!.headers["x-tag"], "v1");
    c.assertNoErrors(3);
  });
});

test("a header list over maxHeaderListSize with END_STREAM: just 431, no RST_STREAM", async () => {
  await afterHandshake({ maxHeaderListSize: 1024 }, accept, async (c) => {
    c.sendHeaders(1, [...CONNECT, ["x-big", "b".repeat(2000)]], { endStream: true });
    const { fields, flags } = await c.headersOn(1);
    assert.equal(fields[":status"], "431");
    assert.ok(flags & Flag.END_STREAM);
    await c.ping();
    c.assertNoErrors(1);
  });
});

test("HEADERS depending on itself: RST_STREAM PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    const priority = Uint8Array.of(0, 0, 0, 1, 16); // depends on stream 1, weight 17
    c.sendFrame(FrameType.HEADERS, Flag.END_HEADERS | Flag.PRIORITY, 1, concat(priority, headersBlock(CONNECT)));
    await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
    c.sendHeaders(3, CONNECT);
    await c.expectStatus(3, 200);
    c.assertNoErrors(3);
  });
});

test("HEADERS depending on itself only resets its stream: its CONTINUATION and HPACK state still count", async () => {
  await afterHandshake({}, accept, async (c, server) => {
    const priority = Uint8Array.of(0, 0, 0, 1, 16);
    const block = concat(indexedLiteral("x-tag", "v1"), headersBlock(CONNECT));
    c.sendFrame(FrameType.HEADERS, Flag.PRIORITY, 1, concat(priority, block.subarray(0, 4)));
    c.sendFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, block.subarray(4));
    await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
    c.sendHeaders(3, concat(headersBlock(CONNECT), Uint8Array.of(0x80 | 62)));
    await c.expectStatus(3, 200);
    assert.equal(server.streams[0]!.headers["x-tag"], "v1");
    c.assertNoErrors(3);
  });
});

// ---- PRIORITY (§6.3) ---------------------------------------------------------------------------

test("PRIORITY on an idle stream is accepted; the stream can still be opened", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.PRIORITY, 0, 1, Uint8Array.of(0, 0, 0, 3, 16));
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.assertNoErrors(1);
  });
});

test("PRIORITY of 4 bytes: RST_STREAM FRAME_SIZE_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.sendFrame(FrameType.PRIORITY, 0, 1, Uint8Array.of(0, 0, 0, 3));
    await c.expectRst(1, ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("PRIORITY making an open stream depend on itself: RST_STREAM PROTOCOL_ERROR (h2spec 5.3.1/2)", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.sendFrame(FrameType.PRIORITY, 0, 1, Uint8Array.of(0, 0, 0, 1, 16));
    await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
  });
});

test("PUSH_PROMISE from a client: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, concat(Uint8Array.of(0, 0, 0, 2), headersBlock(CONNECT)));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

// ---- request validation (§8.2, §8.3, §8.5) ---------------------------------------------------------

const MALFORMED: [string, HeaderList][] = [
  ["an uppercase field name", [...CONNECT, ["X-Upper", "1"]]],
  ["a connection-specific field (connection: close)", [...CONNECT, ["connection", "close"]]],
  ["a connection-specific field (transfer-encoding)", [...CONNECT, ["transfer-encoding", "chunked"]]],
  ["te other than trailers", [...CONNECT, ["te", "gzip"]]],
  ["CONNECT with :path", [...CONNECT, [":path", "/"]]],
  ["CONNECT with :scheme", [...CONNECT, [":scheme", "https"]]],
  ["CONNECT without :authority", [[":method", "CONNECT"]]],
  ["no :method", [[":authority", "127.0.0.1:8080"]]],
  ["GET without :path", [[":method", "GET"], [":scheme", "https"], [":authority", "a"]]],
  ["GET with an empty :path", [[":method", "GET"], [":scheme", "https"], [":authority", "a"], [":path", ""]]],
  ["a pseudo-header after a regular field", [[":method", "CONNECT"], ["x-a", "1"], [":authority", "127.0.0.1:8080"]]],
  ["a duplicate pseudo-header", [[":method", "CONNECT"], [":method", "CONNECT"], [":authority", "127.0.0.1:8080"]]],
  ["an unknown pseudo-header", [...CONNECT, [":foo", "bar"]]],
  ["a response pseudo-header", [...CONNECT, [":status", "200"]]],
  ["a field name with a space", [...CONNECT, ["x a", "1"]]],
  ["a field value with a CR LF", [...CONNECT, ["x-a", "1\r\nx-b: 2"]]],
];

for (const [what, fields] of MALFORMED) {
  test(`request with ${what}: RST_STREAM PROTOCOL_ERROR, the next stream gets its 200`, async () => {
    await afterHandshake({}, accept, async (c, server) => {
      c.sendHeaders(1, fields);
      await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
      c.sendHeaders(3, CONNECT);
      await c.expectStatus(3, 200);
      assert.equal(server.streams.length, 1);
      c.assertNoErrors(3);
    });
  });
}

test("request with a field value starting with a space: RST_STREAM PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, [...CONNECT, ["x-a", " 1"]]);
    await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
  });
});

test("a GET with :scheme and :path is accepted as well as CONNECT", async () => {
  await afterHandshake({}, accept, async (c, server) => {
    c.sendHeaders(1, [[":method", "GET"], [":scheme", "https"], [":authority", "a"], [":path", "/x"], ["te", "trailers"]], {
      endStream: true,
    });
    await c.expectStatus(1, 200);
    assert.equal(server.streams[0]!.headers[":path"], "/x");
  });
});

test("a request whose DATA falls short of its content-length: RST_STREAM PROTOCOL_ERROR (h2spec 8.1.2.6/1)", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, [[":method", "POST"], [":scheme", "https"], [":authority", "a"], [":path", "/"], ["content-length", "10"]]);
    c.sendData(1, bytes(4), true);
    await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
  });
});

test("trailers: accepted with END_STREAM; without END_STREAM or with a pseudo-header: RST_STREAM PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendHeaders(1, [["x-sum", "1"]], { endStream: true });
    c.sendHeaders(3, CONNECT);
    c.sendHeaders(3, [["x-sum", "1"]]);
    c.sendHeaders(5, CONNECT);
    c.sendHeaders(5, [[":path", "/"]], { endStream: true });
    await c.expectRst(3, ErrorCode.PROTOCOL_ERROR);
    await c.expectRst(5, ErrorCode.PROTOCOL_ERROR);
    await c.ping();
    c.assertNoErrors(1);
  });
});

// ---- WINDOW_UPDATE and flow control (§6.9) ------------------------------------------------------------

test("WINDOW_UPDATE of 0 on stream 0: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 0, 0));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("WINDOW_UPDATE of 0 on an open stream: RST_STREAM PROTOCOL_ERROR, the connection lives on", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 1, 0));
    await c.expectRst(1, ErrorCode.PROTOCOL_ERROR);
    c.sendHeaders(3, CONNECT);
    await c.expectStatus(3, 200);
    c.assertNoErrors(3);
  });
});

test("WINDOW_UPDATE on an idle stream: GOAWAY PROTOCOL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 1, 100));
    await c.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("WINDOW_UPDATE of 3 bytes: GOAWAY FRAME_SIZE_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendFrame(FrameType.WINDOW_UPDATE, 0, 0, Uint8Array.of(0, 0, 1));
    await c.expectGoaway(ErrorCode.FRAME_SIZE_ERROR);
  });
});

test("WINDOW_UPDATE overflowing the connection window past 2^31-1: GOAWAY FLOW_CONTROL_ERROR", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 0, MAX_WINDOW - 65_535)); // exactly the maximum: fine
    await c.ping();
    c.assertNoErrors();
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 0, 1));
    await c.expectGoaway(ErrorCode.FLOW_CONTROL_ERROR);
  });
});

test("WINDOW_UPDATE overflowing a stream window: RST_STREAM FLOW_CONTROL_ERROR, the connection lives on", async () => {
  await afterHandshake({}, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 1, MAX_WINDOW));
    await c.expectRst(1, ErrorCode.FLOW_CONTROL_ERROR);
    c.sendHeaders(3, CONNECT);
    await c.expectStatus(3, 200);
    c.assertNoErrors(3);
  });
});

test("DATA beyond the stream window (SETTINGS_INITIAL_WINDOW_SIZE): RST_STREAM FLOW_CONTROL_ERROR", async () => {
  await afterHandshake({ streamWindow: 1024 }, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    c.sendData(1, bytes(1024)); // the whole window: fine
    await c.expectStatus(1, 200);
    await c.ping();
    c.assertNoErrors(1);
    c.sendData(1, bytes(1));
    await c.expectRst(1, ErrorCode.FLOW_CONTROL_ERROR);
    c.sendHeaders(3, CONNECT);
    await c.expectStatus(3, 200);
    c.assertNoErrors(3);
  });
});

test("DATA beyond the connection window: GOAWAY FLOW_CONTROL_ERROR", async () => {
  // 65,535 is the RFC's initial connection window; the session sends no WINDOW_UPDATE to raise it,
  // and the stream's reader never reads, so no credit comes back.
  await afterHandshake({ connectionWindow: 65_535, streamWindow: 1 << 20 }, accept, async (c) => {
    assert.equal(c.credit(0), 0);
    c.sendHeaders(1, CONNECT);
    for (let sent = 0; sent < 65_535; sent += 16_384) c.sendData(1, bytes(Math.min(16_384, 65_535 - sent)));
    await c.ping();
    c.assertNoErrors(1);
    c.sendData(1, bytes(1));
    await c.expectGoaway(ErrorCode.FLOW_CONTROL_ERROR);
  });
});

test("connectionWindow below 65,535 does not shrink the RFC's initial connection window", async () => {
  await afterHandshake({ connectionWindow: 1024, streamWindow: 1 << 20 }, accept, async (c) => {
    c.sendHeaders(1, CONNECT);
    for (let sent = 0; sent < 65_535; sent += 16_384) c.sendData(1, bytes(Math.min(16_384, 65_535 - sent)));
    await c.ping();
    c.assertNoErrors(1);
  });
});

test("a stream window below 65,535 is not enforced before the client ACKs our SETTINGS", async () => {
  const count: StreamHandler = (stream) => {
    stream.respond({ ":status": 200 });
    let n = 0;
    stream.on("data", (d: Uint8Array) => (n += d.length));
    stream.on("end", () => stream.end(String(n)));
  };
  await withServer({ streamWindow: 1024 }, count, async (c) => {
    // A client that does not wait for the server's SETTINGS, as browsers and most libraries do.
    c.send(PREFACE, encodeSettings([]), encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, headersBlock(CONNECT)));
    c.sendData(1, bytes(2000), true);
    await c.next((f) => f.type === FrameType.DATA && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0, "the answer");
    assert.equal(new TextDecoder().decode(c.dataOn(1)), "2000");
    c.assertNoErrors(1);
  });
});

test("echo: more than the stream window goes through as the server's WINDOW_UPDATEs return credit", async () => {
  await afterHandshake({ streamWindow: 1024 }, echo, async (c) => {
    const total = 16 << 10;
    const chunk = 512;
    const sent = bytes(total);
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    for (let at = 0; at < total; at += chunk) {
      await c.until(() => 1024 + c.credit(1) - at >= chunk || undefined, `stream credit for byte ${at + chunk}`);
      c.sendData(1, sent.subarray(at, at + chunk));
    }
    c.sendData(1, new Uint8Array(0), true);
    await c.next((f) => f.type === FrameType.DATA && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0, "the echo's END_STREAM");
    assert.deepEqual(c.dataOn(1), sent);
    assert.ok(c.credit(1) >= total - 1024, `stream credit ${c.credit(1)}`);
    await c.ping();
    c.assertNoErrors(1); // both sides ended: closed without RST_STREAM
  });
});

test("server DATA respects the client's MAX_FRAME_SIZE; large response headers go out as HEADERS + CONTINUATION", async () => {
  const big: StreamHandler = (stream) => {
    stream.respond({ ":status": 200, "x-big": "h".repeat(20_000) });
    stream.end(bytes(40_000));
  };
  await afterHandshake({}, big, async (c) => {
    c.sendHeaders(1, CONNECT, { endStream: true });
    const { fields } = await c.headersOn(1);
    assert.equal(fields["x-big"], "h".repeat(20_000));
    assert.ok(c.frames.some((f) => f.type === FrameType.CONTINUATION && f.streamId === 1));
    await c.next((f) => f.type === FrameType.DATA && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0, "END_STREAM");
    assert.ok(c.frames.every((f) => f.payload.length <= 16_384), c.summary());
    assert.deepEqual(c.dataOn(1), bytes(40_000));
  });
});

test("server DATA waits for the client's window: INITIAL_WINDOW_SIZE 0, then 1, then a WINDOW_UPDATE", async () => {
  const hello: StreamHandler = (stream) => {
    stream.respond({ ":status": 200 });
    stream.write("hello");
  };
  await withServer({}, hello, async (c) => {
    await c.handshake([[Setting.INITIAL_WINDOW_SIZE, 0]]);
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    await c.ping();
    assert.equal(c.dataOn(1).length, 0);
    c.send(encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 1]])); // applies to the open stream (§6.9.2)
    const first = await c.nextOf(FrameType.DATA, 1);
    assert.equal(new TextDecoder().decode(first.payload), "h");
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 1, 4));
    const rest = await c.nextOf(FrameType.DATA, 1);
    assert.equal(new TextDecoder().decode(rest.payload), "ello");
  });
});

test("server tracks a negative stream window after INITIAL_WINDOW_SIZE shrinks", async () => {
  const hello: StreamHandler = (stream) => {
    stream.respond({ ":status": 200 });
    stream.write("hello");
  };
  await withServer({}, hello, async (c) => {
    await c.handshake([[Setting.INITIAL_WINDOW_SIZE, 3]]);
    c.sendHeaders(1, CONNECT);
    assert.equal(new TextDecoder().decode((await c.nextOf(FrameType.DATA, 1)).payload), "hel");
    c.send(encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 2]])); // window 3 - 3 - 1 = -1
    c.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 1, 2)); // -1 + 2 = 1
    assert.equal(new TextDecoder().decode((await c.nextOf(FrameType.DATA, 1)).payload), "l");
    await c.ping();
    assert.equal(new TextDecoder().decode(c.dataOn(1)), "hell");
  });
});

// ---- GOAWAY from the server (§6.8) ----------------------------------------------------------------

test("close(): GOAWAY NO_ERROR naming the last stream; it finishes, later streams are ignored, then close", async () => {
  await afterHandshake({}, echo, async (c, server) => {
    c.sendHeaders(1, CONNECT);
    await c.expectStatus(1, 200);
    server.sessions[0]!.close();
    const goaway = await c.nextOf(FrameType.GOAWAY);
    assert.equal(u32(goaway.payload, 0), 1);
    assert.equal(u32(goaway.payload, 4), ErrorCode.NO_ERROR);
    c.sendHeaders(3, CONNECT);
    await c.ping();
    assert.ok(!c.frames.some((f) => f.streamId === 3), c.summary());
    c.sendData(1, new TextEncoder().encode("bye"), true);
    await c.next((f) => f.type === FrameType.DATA && f.streamId === 1 && (f.flags & Flag.END_STREAM) !== 0, "END_STREAM on 1");
    assert.equal(new TextDecoder().decode(c.dataOn(1)), "bye");
    await c.expectClose();
  });
});

// ---- the session as a client ------------------------------------------------------------------------

interface ClientSetup {
  session: H2Session;
  /** The raw server's end of the connection. */
  s: Peer;
}

/** A raw server on loopback, one `H2Session` client connected to it; `body` runs, then everything is closed. */
async function withClient(opts: H2SessionOptions, body: (t: ClientSetup) => Promise<void>): Promise<void> {
  let accepted!: (p: Peer) => void;
  const peer = new Promise<Peer>((resolve) => (accepted = resolve));
  const server = net.createServer((socket) => accepted(new Peer(socket, true)));
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const socket = net.connect((server.address() as AddressInfo).port, "127.0.0.1");
  socket.on("error", () => {});
  const session = new H2Session(socket, "client", opts);
  let s: Peer | undefined;
  try {
    s = await withTimeout(peer, WAIT_MS, "the client's connection");
    await body({ session, s });
  } finally {
    session.destroy();
    socket.destroy();
    s?.destroy();
    await withTimeout(new Promise<void>((resolve) => server.close(() => resolve())), WAIT_MS, "the raw server to close");
  }
}

/** Raw server side of the handshake: the client's preface and SETTINGS arrive, ours go out and get ACKed. */
async function serverHandshake(s: Peer, settings: [number, number][] = []): Promise<void> {
  await s.next((f) => f.type === FrameType.SETTINGS && !(f.flags & Flag.ACK), "the client's SETTINGS");
  assert.equal(s.prefaceOk, true, "the client preface");
  s.send(encodeSettings(settings), encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
  await s.next((f) => f.type === FrameType.SETTINGS && (f.flags & Flag.ACK) !== 0, "the client's SETTINGS ACK");
}

const TARGET = { ":method": "CONNECT", ":authority": "10.0.0.2:8080" };

/** Opens a CONNECT stream; its errors are the tests' business (a stream left open fails at cleanup). */
function open(session: H2Session): H2Stream {
  const stream = session.request(TARGET);
  stream.on("error", () => {});
  return stream;
}

function streamError(stream: Duplex, what: string): Promise<Error> {
  return withTimeout(new Promise<Error>((resolve) => stream.once("error", resolve)), WAIT_MS, what);
}

test("client: preface and SETTINGS first, CONNECT on stream 1, the response and DATA arrive", async () => {
  await withClient({}, async ({ session, s }) => {
    await serverHandshake(s);
    assert.equal(s.frames[0]!.type, FrameType.SETTINGS);
    const stream = open(session);
    const response = withTimeout(new Promise<IncomingHeaders>((resolve) => stream.once("response", resolve)), WAIT_MS, "response");
    const { fields } = await s.headersOn(1);
    assert.deepEqual(fields, { ":method": "CONNECT", ":authority": "10.0.0.2:8080" });
    s.sendHeaders(1, [[":status", "200"]]);
    assert.equal((await response)[":status"], "200");
    const data = withTimeout(new Promise<Uint8Array>((resolve) => stream.once("data", resolve)), WAIT_MS, "data");
    s.sendData(1, new TextEncoder().encode("hi"));
    assert.equal(new TextDecoder().decode(await data), "hi");
    stream.write("yo");
    assert.equal(new TextDecoder().decode((await s.nextOf(FrameType.DATA, 1)).payload), "yo");
  });
});

test("client: DATA waits for the server's window (INITIAL_WINDOW_SIZE 10, then a WINDOW_UPDATE)", async () => {
  await withClient({}, async ({ session, s }) => {
    await serverHandshake(s, [[Setting.INITIAL_WINDOW_SIZE, 10]]);
    const stream = open(session);
    stream.write(bytes(25));
    assert.equal((await s.nextOf(FrameType.DATA, 1)).payload.length, 10);
    s.send(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 1, 15));
    assert.equal((await s.nextOf(FrameType.DATA, 1)).payload.length, 15);
    assert.deepEqual(s.dataOn(1), bytes(25));
  });
});

test("client: first frame from the server not SETTINGS: GOAWAY PROTOCOL_ERROR", async () => {
  await withClient({}, async ({ s }) => {
    await s.next((f) => f.type === FrameType.SETTINGS, "the client's SETTINGS");
    s.sendFrame(FrameType.PING, 0, 0, new Uint8Array(8));
    await s.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("client: SETTINGS with ENABLE_PUSH=1 from a server: GOAWAY PROTOCOL_ERROR", async () => {
  await withClient({}, async ({ s }) => {
    await s.next((f) => f.type === FrameType.SETTINGS, "the client's SETTINGS");
    s.send(encodeSettings([[Setting.ENABLE_PUSH, 1]]));
    await s.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("client: PUSH_PROMISE (push is disabled): GOAWAY PROTOCOL_ERROR and the session closes", async () => {
  await withClient({}, async ({ session, s }) => {
    await serverHandshake(s);
    const stream = open(session);
    const failed = streamError(stream, "the stream to fail");
    const closed = withTimeout(new Promise<void>((resolve) => session.once("close", () => resolve())), WAIT_MS, "the session's close");
    await s.headersOn(1);
    s.sendFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, concat(Uint8Array.of(0, 0, 0, 2), headersBlock([[":method", "GET"]])));
    await s.expectGoaway(ErrorCode.PROTOCOL_ERROR);
    await failed;
    await closed;
    assert.ok(session.destroyed);
  });
});

test("client: HEADERS on an even stream the server never promised: GOAWAY PROTOCOL_ERROR", async () => {
  await withClient({}, async ({ s }) => {
    await serverHandshake(s);
    s.sendHeaders(2, [[":status", "200"]]);
    await s.expectGoaway(ErrorCode.PROTOCOL_ERROR);
  });
});

test("client: a response without :status: RST_STREAM PROTOCOL_ERROR and the stream fails", async () => {
  await withClient({}, async ({ session, s }) => {
    await serverHandshake(s);
    const stream = open(session);
    const failed = streamError(stream, "the stream to fail");
    await s.headersOn(1);
    s.sendHeaders(1, [["x-no-status", "1"]]);
    await s.expectRst(1, ErrorCode.PROTOCOL_ERROR);
    const e = await failed;
    assert.ok(e instanceof H2StreamError && e.code === ErrorCode.PROTOCOL_ERROR, String(e));
  });
});

test("client: GOAWAY fails the streams above its last-stream-id with REFUSED_STREAM; the rest go on", async () => {
  await withClient({}, async ({ session, s }) => {
    await serverHandshake(s);
    const [one, three, five] = [open(session), open(session), open(session)];
    const refused = [streamError(three, "stream 3 to fail"), streamError(five, "stream 5 to fail")];
    const goaway = withTimeout(new Promise<[number, number]>((resolve) => session.on("goaway", (code, last) => resolve([code, last]))), WAIT_MS, "goaway");
    await s.headersOn(5);
    s.send(encodeU32Frame(FrameType.GOAWAY, 0, 0, 1, ErrorCode.NO_ERROR));
    assert.deepEqual(await goaway, [ErrorCode.NO_ERROR, 1]);
    for (const e of await Promise.all(refused)) {
      assert.ok(e instanceof H2StreamError && e.code === ErrorCode.REFUSED_STREAM, String(e));
    }
    assert.equal(session.closing, true);
    assert.throws(() => session.request(TARGET), /closing/);
    const response = withTimeout(new Promise<IncomingHeaders>((resolve) => one.once("response", resolve)), WAIT_MS, "stream 1's response");
    s.sendHeaders(1, [[":status", "200"]]);
    assert.equal((await response)[":status"], "200");
    await s.ping();
    assert.ok(!s.frames.some((f) => f.type === FrameType.RST_STREAM), s.summary()); // refused streams need no RST
  });
});

test("client: no more streams open at once than the server's MAX_CONCURRENT_STREAMS", async () => {
  await withClient({}, async ({ session, s }) => {
    await serverHandshake(s, [[Setting.MAX_CONCURRENT_STREAMS, 1]]);
    open(session);
    try {
      open(session);
    } catch {
      // refusing to open it is one way to comply
    }
    await s.ping();
    assert.deepEqual(s.frames.filter((f) => f.type === FrameType.HEADERS).map((f) => f.streamId), [1]);
  });
});
