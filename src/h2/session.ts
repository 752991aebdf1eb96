/**
 * One HTTP/2 connection (RFC 9113) over an established byte stream (a TLS or TCP socket), in the
 * client or the server role, with each stream a `Duplex` so it can be piped like a socket.
 *
 * Written first for HBONE's CONNECT tunnels (the tunnel's only user so far): no server push, no priorities
 * (PRIORITY frames are checked and ignored), header blocks encoded without a dynamic table. What it
 * does it does strictly: the frame rules of RFC 9113 §6, stream states, both levels of flow control,
 * and HPACK (RFC 7541) decoding with limits; every violation is a connection error (GOAWAY) or a
 * stream error (RST_STREAM) with the RFC's code. `h2/interop_test.ts` runs it against `node:http2`
 * in both roles and `h2/session_test.ts` feeds it malformed frames.
 *
 * Why not `node:http2`: on Bun 1.4.5 it carried 425 MB/s between two processes where bare TLS
 * carries 800–1000, and its session windows stall when raised early (see `src/tunnel/README.md`).
 *
 * @example
 * ```ts
 * // client
 * const session = new H2Session(tlsSocket, "client");
 * const stream = session.request({ ":method": "CONNECT", ":authority": "10.0.0.2:8080" });
 * stream.once("response", (headers) => { if (headers[":status"] === "200") relay(client, stream); });
 * // server
 * const server = new H2Session(tlsSocket, "server");
 * server.on("stream", (stream, headers) => stream.respond({ ":status": 200 }));
 * ```
 *
 * @module
 */

import { Buffer } from "node:buffer";
import { EventEmitter } from "node:events";
import { Duplex } from "node:stream";
import { HeaderListTooLargeError, type HeaderList, HpackDecoder, HpackEncoder, HpackError } from "./hpack.ts";
import {
  DEFAULT_MAX_FRAME_SIZE,
  DEFAULT_WINDOW,
  encodeFrame,
  encodeSettings,
  encodeU32Frame,
  ErrorCode,
  Flag,
  FrameReader,
  FrameType,
  H2ConnectionError,
  H2StreamError,
  MAX_ALLOWED_FRAME_SIZE,
  MAX_WINDOW,
  PREFACE,
  readU32,
  Setting,
  writeFrameHeader,
  writeU32,
  writeWindowUpdate,
} from "./frames.ts";

/** Header fields to send: names are lowercased, pseudo-headers go first. */
export type OutgoingHeaders = Record<string, string | number | undefined>;
/** Header fields received: repeated regular fields are joined with ", " (cookies with "; "). */
export type IncomingHeaders = Record<string, string>;

export interface H2SessionOptions {
  /** The receive window we give each stream. */
  streamWindow?: number;
  /** The receive window of the whole connection. */
  connectionWindow?: number;
  /** The largest frame we accept. */
  maxFrameSize?: number;
  /** Streams a client may have open on us at once (server role). */
  maxConcurrentStreams?: number;
  /** The largest header list we accept (RFC 9113 §6.5.2 accounting). */
  maxHeaderListSize?: number;
  /** How long the peer has to send its preface and SETTINGS. */
  prefaceTimeoutMs?: number;
}

/**
 * What a session announces unless told otherwise: RFC 9113's initial windows and frame size (what
 * the peer assumes before our SETTINGS anyway, so unread data costs at most 64 KiB a stream), the
 * RFC's recommended floor of 100 concurrent streams, 64 KiB of header list. A user with other needs
 * passes its own (HBONE announces ztunnel's larger windows, `src/tunnel/hbone.ts`).
 */
export const DEFAULTS: Required<H2SessionOptions> = {
  streamWindow: DEFAULT_WINDOW,
  connectionWindow: DEFAULT_WINDOW,
  maxFrameSize: DEFAULT_MAX_FRAME_SIZE,
  maxConcurrentStreams: 100,
  maxHeaderListSize: 64 << 10,
  prefaceTimeoutMs: 10_000,
};

/** Fields that are connection-specific in HTTP/1.1 and malformed in HTTP/2 (RFC 9113 §8.2.2). */
const CONNECTION_SPECIFIC = new Set(["connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade"]);
const REQUEST_PSEUDO = new Set([":method", ":scheme", ":authority", ":path"]);
/** DATA payloads up to this size are copied into one buffer with their frame header. */
const SMALL_FRAME = 16 << 10;
/** How many closed streams the session remembers the end of (RFC 9113 §5.1 "closed"). */
const CLOSED_MEMORY = 1024;

/** The socket an HTTP/2 session runs on (a `tls.TLSSocket` or a `net.Socket`). */
export type SessionSocket = Duplex & {
  remoteAddress?: string | undefined;
  remotePort?: number | undefined;
  localAddress?: string | undefined;
  localPort?: number | undefined;
  setNoDelay?: (noDelay?: boolean) => unknown;
};

/** One HTTP/2 stream. Readable: the peer's DATA; writable: ours. */
export class H2Stream extends Duplex {
  /** Whether our HEADERS went out (`respond` on a server stream). */
  headersSent = false;
  /** The response's fields (client role), once it arrived. */
  response: IncomingHeaders | undefined;
  /** @internal flow control and state, owned by the session */
  sendWindow: number;
  recvWindow: number;
  pushed = 0;
  consumed = 0;
  unackedConsumed = 0;
  localEnded = false;
  remoteEnded = false;
  resetSent = false;
  resetReceived = false;
  /** A request's `content-length` (-1: none), held against the DATA that arrives (RFC 9113 §8.1.1). */
  expectedLength = -1;
  receivedLength = 0;
  pending: Uint8Array | undefined;
  pendingAt = 0;
  pendingCb: ((err?: Error | null) => void) | undefined;

  constructor(readonly session: H2Session, readonly id: number, sendWindow: number, recvWindow: number) {
    super({ allowHalfOpen: true });
    this.sendWindow = sendWindow;
    this.recvWindow = recvWindow;
  }

  /** Sends the response HEADERS (server role). */
  respond(headers: OutgoingHeaders, opts: { endStream?: boolean } = {}): void {
    this.session.respond(this, headers, opts.endStream ?? false);
  }

  /** Resets the stream with `code` (RST_STREAM) and destroys it. */
  close(code: number = ErrorCode.CANCEL): void {
    this.session.reset(this, code);
  }

  override _write(chunk: Uint8Array, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    this.session.sendData(this, chunk, cb);
  }

  override _final(cb: (err?: Error | null) => void): void {
    this.session.endStream(this, cb);
  }

  override _read(): void {
    this.session.acknowledge(this);
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    this.session.streamDestroyed(this, err);
    cb(err);
  }
}

export interface H2Session {
  on(event: "stream", l: (stream: H2Stream, headers: IncomingHeaders) => void): this;
  on(event: "goaway", l: (code: number, lastStreamId: number) => void): this;
  on(event: "remoteSettings" | "localSettings", l: () => void): this;
  on(event: "close", l: (err?: Error) => void): this;
  once(event: "close", l: (err?: Error) => void): this;
  once(event: "remoteSettings" | "localSettings", l: () => void): this;
}

export class H2Session extends EventEmitter {
  readonly #opts: Required<H2SessionOptions>;
  readonly #streams = new Map<number, H2Stream>();
  readonly #reader: FrameReader;
  readonly #decoder: HpackDecoder;
  readonly #encoder = new HpackEncoder();
  /** Streams with data waiting for window. */
  readonly #blocked = new Set<H2Stream>();
  /** Write callbacks held until the socket drains (backpressure to the streams' writers). */
  #drainWaiters: ((err?: Error | null) => void)[] = [];
  #socketFull = false;
  #prefaceLeft: number;
  #prefaceTimer: ReturnType<typeof setTimeout> | undefined;
  #gotSettings = false;
  /** Whether the peer ACKed our SETTINGS (until then it may assume a stream window of 65,535). */
  #settingsAcked = false;
  #peerInitialWindow = DEFAULT_WINDOW;
  #peerMaxFrame = DEFAULT_MAX_FRAME_SIZE;
  /** The peer's SETTINGS_MAX_CONCURRENT_STREAMS (no limit until it names one). */
  #peerMaxStreams = Infinity;
  #connSendWindow = DEFAULT_WINDOW;
  #connRecvWindow: number;
  #connUnacked = 0;
  /** The highest stream id the peer opened (server) / the next id we open (client). */
  #lastPeerStream = 0;
  #nextStream = 1;
  /** A header block being gathered from HEADERS + CONTINUATION. */
  #headerBlock: { id: number; flags: number; parts: Uint8Array[]; size: number; selfDependent: boolean } | undefined;
  /** The stream the current DATA frame's pieces go to (null: discarded, the stream is gone). */
  #dataTarget: H2Stream | null = null;
  /** How recently closed streams ended, oldest first. */
  readonly #closed = new Map<number, "reset-sent" | "reset-received" | "ended">();
  /** The highest id dropped from #closed: an unknown id above it was never opened. */
  #forgottenUpTo = 0;
  #goawaySent = false;
  #goawayReceived = false;
  #closing = false;
  #destroyed = false;
  #error: Error | undefined;
  /** Streams opened over the session's life. */
  totalStreams = 0;

  constructor(readonly socket: SessionSocket, readonly role: "client" | "server", options: H2SessionOptions = {}) {
    super();
    this.#opts = { ...DEFAULTS, ...options };
    // The connection window starts at 65,535 whatever we advertise (RFC 9113 §6.9.2): only raising it works.
    this.#opts.connectionWindow = Math.max(this.#opts.connectionWindow, DEFAULT_WINDOW);
    this.#connRecvWindow = this.#opts.connectionWindow;
    this.#decoder = new HpackDecoder({ maxHeaderListSize: this.#opts.maxHeaderListSize });
    this.#reader = new FrameReader(this.#opts.maxFrameSize, {
      frame: (type, flags, id, payload) => this.#onFrame(type, flags, id, payload),
      data: (id, flags, piece, first, last) => this.#onData(id, flags, piece, first, last),
    });
    this.#prefaceLeft = role === "server" ? PREFACE.length : 0;
    // Frames are written when they are whole; Nagle would hold a small one back for a delayed ACK.
    socket.setNoDelay?.(true);
    socket.on("data", (chunk: Uint8Array) => this.#onBytes(chunk));
    socket.on("drain", () => this.#onDrain());
    socket.on("end", () => this.#onSocketGone(new Error("connection closed by peer")));
    socket.on("error", (e: Error) => (this.#error ??= e));
    socket.on("close", () => this.#onSocketClosed());
    this.#prefaceTimer = setTimeout(() => {
      if (!this.#gotSettings) this.#fail(new H2ConnectionError(ErrorCode.SETTINGS_TIMEOUT, "no HTTP/2 preface and SETTINGS in time"));
    }, this.#opts.prefaceTimeoutMs);
    (this.#prefaceTimer as { unref?: () => void }).unref?.();
    const settings: [number, number][] = [
      [Setting.ENABLE_PUSH, 0],
      [Setting.INITIAL_WINDOW_SIZE, this.#opts.streamWindow],
      [Setting.MAX_FRAME_SIZE, this.#opts.maxFrameSize],
      [Setting.MAX_HEADER_LIST_SIZE, this.#opts.maxHeaderListSize],
    ];
    if (role === "server") settings.push([Setting.MAX_CONCURRENT_STREAMS, this.#opts.maxConcurrentStreams]);
    if (role === "client") this.#write(PREFACE);
    this.#write(encodeSettings(settings));
    if (this.#connRecvWindow > DEFAULT_WINDOW) {
      this.#write(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 0, this.#connRecvWindow - DEFAULT_WINDOW));
    }
  }

  /** Open streams. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** How many streams the peer lets us open at once (its SETTINGS_MAX_CONCURRENT_STREAMS). */
  get peerMaxConcurrentStreams(): number {
    return this.#peerMaxStreams;
  }

  get destroyed(): boolean {
    return this.#destroyed;
  }

  /** True once GOAWAY was sent or received: no new streams. */
  get closing(): boolean {
    return this.#closing || this.#goawaySent || this.#goawayReceived;
  }

  /** Opens a stream (client role) by sending its HEADERS; the answer arrives as `"response"`. */
  request(headers: OutgoingHeaders, opts: { endStream?: boolean } = {}): H2Stream {
    if (this.role !== "client") throw new Error("only a client session opens streams");
    if (this.#destroyed || this.closing) throw new Error("HTTP/2 session is closing");
    if (this.#nextStream > MAX_WINDOW) throw new Error("HTTP/2 stream ids exhausted");
    // RFC 9113 §5.1.2: never more open streams than the peer allows.
    if (this.#streams.size >= this.#peerMaxStreams) throw new Error("the peer's MAX_CONCURRENT_STREAMS is reached");
    const id = this.#nextStream;
    this.#nextStream += 2;
    const stream = new H2Stream(this, id, this.#peerInitialWindow, this.#initialRecvWindow());
    this.#streams.set(id, stream);
    this.totalStreams++;
    stream.headersSent = true;
    this.#sendHeaders(id, headers, opts.endStream ?? false);
    if (opts.endStream) this.#endLocal(stream);
    return stream;
  }

  /** @internal {@link H2Stream.respond} */
  respond(stream: H2Stream, headers: OutgoingHeaders, endStream: boolean): void {
    if (stream.headersSent) throw new Error("response headers already sent");
    if (stream.destroyed || this.#destroyed) return;
    stream.headersSent = true;
    this.#sendHeaders(stream.id, headers, endStream);
    if (!endStream) return;
    this.#endLocal(stream);
    // A complete response to a request still being sent: ask the client to stop (RFC 9113 §8.1).
    if (!stream.remoteEnded) this.reset(stream, ErrorCode.NO_ERROR);
  }

  /** The peer's END_STREAM: the stream's readable side ends. */
  #endRemote(stream: H2Stream): void {
    stream.remoteEnded = true;
    stream.push(null);
  }

  #endLocal(stream: H2Stream): void {
    stream.localEnded = true;
    stream.end();
  }

  /** @internal {@link H2Stream.close} */
  reset(stream: H2Stream, code: number, err?: Error): void {
    if (!stream.resetSent && !stream.resetReceived && !this.#destroyed && !(stream.localEnded && stream.remoteEnded)) {
      stream.resetSent = true;
      this.#write(encodeU32Frame(FrameType.RST_STREAM, 0, stream.id, code));
    }
    stream.destroy(err);
  }

  /** Sends GOAWAY and closes once the open streams are done. */
  close(): void {
    if (this.#destroyed) return;
    this.#closing = true;
    this.#sendGoaway(ErrorCode.NO_ERROR, "");
    this.#maybeFinish();
  }

  /** Closes the connection now; open streams are destroyed. */
  destroy(err?: Error): void {
    if (this.#destroyed) return;
    this.#error ??= err;
    this.#teardown(err ?? new Error("HTTP/2 session destroyed"));
    this.socket.destroy();
  }

  // ---- sending ----------------------------------------------------------------------------------

  #write(bytes: Uint8Array): void {
    if (this.#destroyed) return;
    if (!this.socket.write(bytes)) this.#socketFull = true;
  }

  #onDrain(): void {
    this.#socketFull = false;
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const cb of waiters) cb();
  }

  #sendHeaders(id: number, headers: OutgoingHeaders, endStream: boolean): void {
    const fields: HeaderList = [];
    const regular: HeaderList = [];
    for (const [k, v] of Object.entries(headers)) {
      if (v === undefined) continue;
      const name = k.toLowerCase();
      (name.startsWith(":") ? fields : regular).push([name, String(v)]);
    }
    const block = this.#encoder.encode(fields.concat(regular));
    const max = this.#peerMaxFrame;
    let flags = endStream ? Flag.END_STREAM : 0;
    if (block.length <= max) {
      this.#write(encodeFrame(FrameType.HEADERS, flags | Flag.END_HEADERS, id, block));
      return;
    }
    for (let at = 0; at < block.length; at += max) {
      const last = at + max >= block.length;
      const type = at === 0 ? FrameType.HEADERS : FrameType.CONTINUATION;
      this.#write(encodeFrame(type, flags | (last ? Flag.END_HEADERS : 0), id, block.subarray(at, at + max)));
      flags = 0;
    }
  }

  /** @internal {@link H2Stream._write} */
  sendData(stream: H2Stream, chunk: Uint8Array, cb: (err?: Error | null) => void): void {
    if (!stream.headersSent) return cb(new Error("respond() before writing to an HTTP/2 stream"));
    if (this.#destroyed) return cb(this.#error ?? new Error("HTTP/2 session destroyed"));
    if (stream.resetReceived) return cb(); // the peer asked us to stop sending (NO_ERROR)
    stream.pending = chunk;
    stream.pendingAt = 0;
    stream.pendingCb = cb;
    this.#flush(stream);
  }

  /** Sends what the windows allow of the stream's pending chunk; true when it is all sent. */
  #flush(stream: H2Stream): boolean {
    const chunk = stream.pending;
    if (!chunk) return true;
    while (stream.pendingAt < chunk.length) {
      const n = Math.min(chunk.length - stream.pendingAt, stream.sendWindow, this.#connSendWindow, this.#peerMaxFrame);
      if (n <= 0) {
        this.#blocked.add(stream);
        return false;
      }
      stream.sendWindow -= n;
      this.#connSendWindow -= n;
      const payload = chunk.subarray(stream.pendingAt, stream.pendingAt + n);
      stream.pendingAt += n;
      if (n <= SMALL_FRAME) {
        this.#write(encodeFrame(FrameType.DATA, 0, stream.id, payload));
        continue;
      }
      // A large payload is not copied behind its header: two writes cost less than the copy.
      const head = Buffer.allocUnsafe(9);
      writeFrameHeader(head, 0, n, FrameType.DATA, 0, stream.id);
      this.#write(head);
      this.#write(payload);
    }
    const cb = stream.pendingCb!;
    stream.pending = undefined;
    stream.pendingCb = undefined;
    this.#blocked.delete(stream);
    if (this.#socketFull) this.#drainWaiters.push(cb);
    else cb();
    return true;
  }

  #flushBlocked(): void {
    for (const stream of this.#blocked) {
      if (this.#connSendWindow <= 0) return;
      this.#flush(stream);
    }
  }

  /** Forgets a stream's unsent chunk, completing its write. */
  #dropPending(stream: H2Stream): void {
    this.#blocked.delete(stream);
    const cb = stream.pendingCb;
    stream.pending = undefined;
    stream.pendingCb = undefined;
    cb?.();
  }

  /** @internal {@link H2Stream._final} */
  endStream(stream: H2Stream, cb: (err?: Error | null) => void): void {
    if (stream.localEnded) return cb();
    if (!stream.headersSent) return cb(new Error("respond() before ending an HTTP/2 stream"));
    stream.localEnded = true;
    this.#write(encodeFrame(FrameType.DATA, Flag.END_STREAM, stream.id));
    cb();
  }

  #sendGoaway(code: number, debug: string): void {
    if (this.#goawaySent || this.#destroyed) return;
    this.#goawaySent = true;
    const text = new TextEncoder().encode(debug);
    const payload = new Uint8Array(8 + text.length);
    writeU32(payload, 0, this.#lastPeerStream);
    writeU32(payload, 4, code);
    payload.set(text, 8);
    this.#write(encodeFrame(FrameType.GOAWAY, 0, 0, payload));
  }

  // ---- receiving --------------------------------------------------------------------------------

  #onBytes(chunk: Uint8Array): void {
    if (this.#destroyed) return;
    try {
      if (this.#prefaceLeft > 0) {
        const at = PREFACE.length - this.#prefaceLeft;
        const n = Math.min(this.#prefaceLeft, chunk.length);
        for (let i = 0; i < n; i++) {
          if (chunk[i] !== PREFACE[at + i]) {
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "invalid HTTP/2 connection preface");
          }
        }
        this.#prefaceLeft -= n;
        chunk = chunk.subarray(n);
        if (chunk.length === 0) return;
      }
      this.#reader.push(chunk);
    } catch (e) {
      if (e instanceof H2ConnectionError) this.#fail(e);
      else if (e instanceof HpackError) this.#fail(new H2ConnectionError(ErrorCode.COMPRESSION_ERROR, e.message));
      else this.#fail(new H2ConnectionError(ErrorCode.INTERNAL_ERROR, (e as Error).message));
    }
  }

  #onFrame(type: number, flags: number, id: number, payload: Uint8Array): void {
    if (this.#destroyed) return;
    if (this.#headerBlock && type !== FrameType.CONTINUATION) {
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION");
    }
    if (!this.#gotSettings && type !== FrameType.SETTINGS) {
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "the first frame must be SETTINGS");
    }
    switch (type) {
      case FrameType.DATA: // padded DATA arrives whole
        return this.#onPaddedData(flags, id, payload);
      case FrameType.HEADERS:
        return this.#onHeaders(flags, id, payload);
      case FrameType.CONTINUATION:
        return this.#onContinuation(flags, id, payload);
      case FrameType.SETTINGS:
        return this.#onSettings(flags, id, payload);
      case FrameType.WINDOW_UPDATE:
        return this.#onWindowUpdate(id, payload);
      case FrameType.RST_STREAM:
        return this.#onReset(id, payload);
      case FrameType.PING:
        if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "PING on a stream");
        if (payload.length !== 8) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "PING payload is not 8 bytes");
        if (!(flags & Flag.ACK)) this.#write(encodeFrame(FrameType.PING, Flag.ACK, 0, payload));
        return;
      case FrameType.GOAWAY:
        return this.#onGoaway(id, payload);
      case FrameType.PRIORITY:
        if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "PRIORITY on stream 0");
        if (payload.length !== 5) return this.#streamError(id, ErrorCode.FRAME_SIZE_ERROR, "PRIORITY payload is not 5 bytes");
        if ((readU32(payload, 0) & 0x7fff_ffff) === id) {
          // No RST_STREAM may name an idle stream (§6.4): there the stream error becomes a connection error (§5.4.1).
          if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
          this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
        }
        return;
      case FrameType.PUSH_PROMISE:
        throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "PUSH_PROMISE with push disabled");
      default:
        return; // unknown frame types are ignored (RFC 9113 §4.1)
    }
  }

  #onPaddedData(flags: number, id: number, payload: Uint8Array): void {
    const pad = payload.length > 0 ? payload[0]! : -1;
    if (pad < 0 || pad >= payload.length) {
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA padding exceeds the payload");
    }
    // Flow control counts the whole frame, padding included.
    const body = payload.subarray(1, payload.length - pad);
    this.#onData(id, flags & ~Flag.PADDED, body, true, true, payload.length);
  }

  #onData(id: number, flags: number, piece: Uint8Array, first: boolean, last: boolean, counted = piece.length): void {
    if (this.#destroyed) return;
    if (first) {
      if (this.#headerBlock) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "expected CONTINUATION");
      if (!this.#gotSettings) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "the first frame must be SETTINGS");
      if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "DATA on stream 0");
      const stream = this.#streams.get(id);
      if (!stream) {
        if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `DATA on idle stream ${id}`);
        this.#dataTarget = null;
        this.#onClosedStream(id, "DATA");
      } else if (stream.remoteEnded) {
        // Both sides ended: closed (§5.1), though the stream still waits for its reader.
        if (stream.localEnded) throw new H2ConnectionError(ErrorCode.STREAM_CLOSED, `DATA on closed stream ${id}`);
        this.#dataTarget = null;
        this.#streamError(id, ErrorCode.STREAM_CLOSED, "DATA after END_STREAM");
      } else {
        this.#dataTarget = stream;
      }
    }
    this.#connRecvWindow -= counted;
    if (this.#connRecvWindow < 0) {
      throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "peer exceeded the connection window");
    }
    const stream = this.#dataTarget;
    if (!stream || stream.destroyed) {
      this.#discarded(counted);
      return;
    }
    stream.recvWindow -= counted;
    if (stream.recvWindow < 0) {
      this.#dataTarget = null;
      this.#discarded(counted);
      this.#streamError(id, ErrorCode.FLOW_CONTROL_ERROR, "peer exceeded the stream window");
      return;
    }
    stream.receivedLength += piece.length;
    const ending = last && (flags & Flag.END_STREAM) !== 0;
    if (
      stream.expectedLength >= 0 &&
      (stream.receivedLength > stream.expectedLength || (ending && stream.receivedLength !== stream.expectedLength))
    ) {
      this.#dataTarget = null;
      this.#discarded(counted);
      return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "DATA does not match content-length");
    }
    stream.pushed += counted;
    if (piece.length) stream.push(piece); // padding counts as consumed on arrival
    if (ending) this.#endRemote(stream);
    this.acknowledge(stream);
  }

  /** Bytes that reached no stream still count against the connection window; give them back. */
  #discarded(n: number): void {
    this.#connUnacked += n;
    this.#ackConnection();
  }

  /** @internal Returns consumed bytes to the peer's windows (called after delivery and on read). */
  acknowledge(stream: H2Stream): void {
    const consumed = stream.pushed - stream.readableLength;
    const fresh = consumed - stream.consumed;
    if (fresh <= 0) return;
    stream.consumed = consumed;
    stream.unackedConsumed += fresh;
    this.#connUnacked += fresh;
    if (stream.unackedConsumed >= this.#opts.streamWindow >>> 2 && !stream.remoteEnded && !this.#destroyed) {
      // One write for both updates: on loopback each send costs more than the bytes it carries.
      const both = new Uint8Array(26);
      writeWindowUpdate(both, 0, stream.id, stream.unackedConsumed);
      writeWindowUpdate(both, 13, 0, this.#connUnacked);
      this.#write(this.#connUnacked > 0 ? both : both.subarray(0, 13));
      stream.recvWindow += stream.unackedConsumed;
      stream.unackedConsumed = 0;
      this.#connRecvWindow += this.#connUnacked;
      this.#connUnacked = 0;
      return;
    }
    this.#ackConnection();
  }

  #ackConnection(): void {
    if (this.#connUnacked < this.#opts.connectionWindow >>> 3 || this.#destroyed) return;
    this.#write(encodeU32Frame(FrameType.WINDOW_UPDATE, 0, 0, this.#connUnacked));
    this.#connRecvWindow += this.#connUnacked;
    this.#connUnacked = 0;
  }

  /** A new stream's receive window: a window below the default holds only once our SETTINGS are ACKed (§6.5.3). */
  #initialRecvWindow(): number {
    return this.#settingsAcked ? this.#opts.streamWindow : Math.max(this.#opts.streamWindow, DEFAULT_WINDOW);
  }

  /** Whether `id` names a stream that was never opened. */
  #isIdle(id: number): boolean {
    const peerInitiated = (id & 1) === (this.role === "server" ? 1 : 0);
    return peerInitiated ? id > this.#lastPeerStream : id >= this.#nextStream;
  }

  #onHeaders(flags: number, id: number, payload: Uint8Array): void {
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS on stream 0");
    let start = 0;
    let end = payload.length;
    if (flags & Flag.PADDED) {
      const pad = payload[0] ?? 0;
      start = 1;
      end -= pad;
      if (payload.length < 1 || end < start) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "HEADERS padding exceeds the payload");
    }
    let selfDependent = false;
    if (flags & Flag.PRIORITY) {
      start += 5;
      if (end < start) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "HEADERS too short for its priority");
      // A stream error, but only once the block is decoded (the HPACK table must stay in step).
      selfDependent = (readU32(payload, start - 5) & 0x7fff_ffff) === id;
    }
    const fragment = payload.subarray(start, end);
    if (flags & Flag.END_HEADERS) return this.#onHeaderBlock(id, flags, fragment, selfDependent);
    this.#headerBlock = { id, flags, parts: [fragment], size: fragment.length, selfDependent };
  }

  #onContinuation(flags: number, id: number, payload: Uint8Array): void {
    const block = this.#headerBlock;
    if (!block || block.id !== id) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "unexpected CONTINUATION");
    block.parts.push(payload);
    block.size += payload.length;
    // Bound what a peer can make us buffer with an endless CONTINUATION run.
    if (block.size > this.#opts.maxHeaderListSize * 2) {
      throw new H2ConnectionError(ErrorCode.ENHANCE_YOUR_CALM, "header block too large");
    }
    if (!(flags & Flag.END_HEADERS)) return;
    this.#headerBlock = undefined;
    const whole = new Uint8Array(block.size);
    let at = 0;
    for (const p of block.parts) {
      whole.set(p, at);
      at += p.length;
    }
    this.#onHeaderBlock(id, block.flags, whole, block.selfDependent);
  }

  #onHeaderBlock(id: number, flags: number, block: Uint8Array, selfDependent = false): void {
    const endStream = (flags & Flag.END_STREAM) !== 0;
    // Always decode: the HPACK table must stay in step even for refused streams. A list over our
    // limit was still decoded whole, so only its stream fails.
    const fields = this.#decode(block);
    let stream = this.#streams.get(id);
    if (!stream) {
      if (this.role === "client" || (id & 1) === 0) {
        if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `HEADERS on idle stream ${id}`);
        return this.#onClosedStream(id, "HEADERS");
      }
      if (id <= this.#lastPeerStream) return this.#onClosedStream(id, "HEADERS");
      this.#lastPeerStream = id;
      if (this.#goawaySent) return this.#remember(id, "reset-sent"); // not processed: its frames are ignored
      if (selfDependent) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
      if (this.#streams.size >= this.#opts.maxConcurrentStreams) {
        return this.#streamError(id, ErrorCode.REFUSED_STREAM, "too many concurrent streams");
      }
      if (fields instanceof HeaderListTooLargeError) {
        // RFC 9113 §10.5.1: a request whose header list is too large may be answered 431.
        this.#sendHeaders(id, { ":status": 431 }, true);
        if (!endStream) this.#write(encodeU32Frame(FrameType.RST_STREAM, 0, id, ErrorCode.NO_ERROR));
        return this.#remember(id, endStream ? "ended" : "reset-sent");
      }
      const problem = checkFields(fields, "request");
      if (problem) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, problem);
      const expectedLength = contentLength(fields);
      if (Number.isNaN(expectedLength) || (endStream && expectedLength > 0)) {
        return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "invalid content-length");
      }
      stream = new H2Stream(this, id, this.#peerInitialWindow, this.#initialRecvWindow());
      stream.expectedLength = expectedLength;
      this.#streams.set(id, stream);
      this.totalStreams++;
      if (endStream) this.#endRemote(stream);
      this.emit("stream", stream, toObject(fields));
      return;
    }
    if (selfDependent) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "stream depends on itself");
    if (stream.remoteEnded) {
      if (stream.localEnded) throw new H2ConnectionError(ErrorCode.STREAM_CLOSED, `HEADERS on closed stream ${id}`);
      return this.#streamError(id, ErrorCode.STREAM_CLOSED, "HEADERS after END_STREAM");
    }
    if (fields instanceof HeaderListTooLargeError) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, fields.message);
    if (this.role === "client" && !stream.response) {
      const problem = checkFields(fields, "response");
      if (problem) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, problem);
      const headers = toObject(fields);
      if (headers[":status"]!.startsWith("1")) {
        if (endStream) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "END_STREAM on an informational response");
        return;
      }
      stream.response = headers;
      stream.emit("response", headers, flags);
    } else if (!endStream) {
      return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "trailers without END_STREAM");
    } else {
      const problem = checkFields(fields, "trailers");
      if (problem) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, problem);
    }
    if (endStream && !stream.destroyed) this.#endRemote(stream);
  }

  #decode(block: Uint8Array): HeaderList | HeaderListTooLargeError {
    try {
      return this.#decoder.decode(block);
    } catch (e) {
      if (e instanceof HeaderListTooLargeError) return e;
      throw e;
    }
  }

  #onSettings(flags: number, id: number, payload: Uint8Array): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "SETTINGS on a stream");
    if (flags & Flag.ACK) {
      if (payload.length) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS ACK with a payload");
      if (!this.#settingsAcked) {
        // Our INITIAL_WINDOW_SIZE holds from now on, also for the streams opened before (RFC 9113 §6.9.2).
        const delta = this.#opts.streamWindow - this.#initialRecvWindow();
        this.#settingsAcked = true;
        for (const s of this.#streams.values()) s.recvWindow += delta;
      }
      this.emit("localSettings");
      return;
    }
    if (payload.length % 6) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "SETTINGS length is not a multiple of 6");
    for (let at = 0; at < payload.length; at += 6) {
      const key = (payload[at]! << 8) | payload[at + 1]!;
      const value = readU32(payload, at + 2);
      switch (key) {
        case Setting.ENABLE_PUSH:
          if (value > 1) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "ENABLE_PUSH must be 0 or 1");
          if (value === 1 && this.role === "client") {
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "a server sent ENABLE_PUSH=1");
          }
          break;
        case Setting.INITIAL_WINDOW_SIZE: {
          if (value > MAX_WINDOW) throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE too large");
          const delta = value - this.#peerInitialWindow;
          this.#peerInitialWindow = value;
          for (const s of this.#streams.values()) {
            s.sendWindow += delta;
            if (s.sendWindow > MAX_WINDOW) {
              throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "INITIAL_WINDOW_SIZE overflows a stream window");
            }
          }
          break;
        }
        case Setting.MAX_FRAME_SIZE:
          if (value < DEFAULT_MAX_FRAME_SIZE || value > MAX_ALLOWED_FRAME_SIZE) {
            throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `MAX_FRAME_SIZE ${value} out of range`);
          }
          this.#peerMaxFrame = value;
          break;
        case Setting.MAX_CONCURRENT_STREAMS:
          this.#peerMaxStreams = value;
          break;
        default:
          break; // HEADER_TABLE_SIZE: our encoder uses no dynamic table; the rest are advisory here
      }
    }
    this.#write(encodeFrame(FrameType.SETTINGS, Flag.ACK, 0));
    if (!this.#gotSettings) {
      this.#gotSettings = true;
      clearTimeout(this.#prefaceTimer);
      this.emit("remoteSettings");
    }
    for (const s of this.#streams.values()) if (s.pending) this.#flush(s);
  }

  #onWindowUpdate(id: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "WINDOW_UPDATE payload is not 4 bytes");
    const inc = readU32(payload, 0) & 0x7fff_ffff;
    if (id === 0) {
      if (inc === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
      this.#connSendWindow += inc;
      if (this.#connSendWindow > MAX_WINDOW) {
        throw new H2ConnectionError(ErrorCode.FLOW_CONTROL_ERROR, "connection window overflow");
      }
      this.#flushBlocked();
      return;
    }
    const stream = this.#streams.get(id);
    if (!stream) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `WINDOW_UPDATE on idle stream ${id}`);
      return;
    }
    if (inc === 0) return this.#streamError(id, ErrorCode.PROTOCOL_ERROR, "WINDOW_UPDATE of 0");
    stream.sendWindow += inc;
    if (stream.sendWindow > MAX_WINDOW) return this.#streamError(id, ErrorCode.FLOW_CONTROL_ERROR, "stream window overflow");
    this.#flush(stream);
  }

  #onReset(id: number, payload: Uint8Array): void {
    if (payload.length !== 4) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "RST_STREAM payload is not 4 bytes");
    if (id === 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "RST_STREAM on stream 0");
    const stream = this.#streams.get(id);
    if (!stream) {
      if (this.#isIdle(id)) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `RST_STREAM on idle stream ${id}`);
      return;
    }
    const code = readU32(payload, 0);
    stream.resetReceived = true;
    if (code === ErrorCode.NO_ERROR && stream.remoteEnded) {
      // After a complete response, NO_ERROR only stops our upload (RFC 9113 §8.1): what was received
      // is still read to its end.
      stream.localEnded = true;
      this.#dropPending(stream);
      if (stream.readableEnded) stream.destroy();
      else stream.once("end", () => stream.destroy());
      return;
    }
    stream.destroy(new H2StreamError(code, `stream ${id} reset by peer (${errorName(code)})`));
  }

  #onGoaway(id: number, payload: Uint8Array): void {
    if (id !== 0) throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, "GOAWAY on a stream");
    if (payload.length < 8) throw new H2ConnectionError(ErrorCode.FRAME_SIZE_ERROR, "GOAWAY payload is too short");
    const lastId = readU32(payload, 0) & 0x7fff_ffff;
    const code = readU32(payload, 4);
    this.#goawayReceived = true;
    // Streams the peer never processed fail now (safe to retry elsewhere).
    for (const s of [...this.#streams.values()]) {
      if (s.id > lastId && (s.id & 1) === (this.role === "client" ? 1 : 0)) {
        s.resetReceived = true;
        s.destroy(new H2StreamError(ErrorCode.REFUSED_STREAM, `stream ${s.id} refused by GOAWAY`));
      }
    }
    this.emit("goaway", code, lastId);
    this.#maybeFinish();
  }

  #streamError(id: number, code: number, message: string): void {
    const stream = this.#streams.get(id);
    if (stream) return this.reset(stream, code, new H2StreamError(code, message));
    this.#write(encodeU32Frame(FrameType.RST_STREAM, 0, id, code));
    this.#remember(id, "reset-sent");
  }

  #remember(id: number, how: "reset-sent" | "reset-received" | "ended"): void {
    this.#closed.delete(id);
    this.#closed.set(id, how);
    if (this.#closed.size <= CLOSED_MEMORY) return;
    const oldest = this.#closed.keys().next().value!;
    this.#closed.delete(oldest);
    this.#forgottenUpTo = Math.max(this.#forgottenUpTo, oldest);
  }

  /** DATA or HEADERS on a stream that is neither idle nor open (RFC 9113 §5.1, §5.1.1). */
  #onClosedStream(id: number, what: string): void {
    const how = this.#closed.get(id);
    if (how === "ended") throw new H2ConnectionError(ErrorCode.STREAM_CLOSED, `${what} on closed stream ${id}`);
    if (how === "reset-received") return this.#streamError(id, ErrorCode.STREAM_CLOSED, `${what} after RST_STREAM on ${id}`);
    if (how === undefined && id > this.#forgottenUpTo) {
      throw new H2ConnectionError(ErrorCode.PROTOCOL_ERROR, `${what} on stream ${id}, below the last one opened`);
    }
    // Reset by us (or long forgotten): frames sent before our RST_STREAM arrived are ignored.
  }

  // ---- teardown ---------------------------------------------------------------------------------

  /** @internal {@link H2Stream._destroy} */
  streamDestroyed(stream: H2Stream, err: Error | null): void {
    if (this.#streams.get(stream.id) !== stream) return;
    this.#streams.delete(stream.id);
    this.#blocked.delete(stream);
    if (stream.pendingCb) {
      const cb = stream.pendingCb;
      stream.pendingCb = undefined;
      stream.pending = undefined;
      cb(err ?? new Error("stream destroyed"));
    }
    if (!stream.resetSent && !stream.resetReceived && !(stream.localEnded && stream.remoteEnded) && !this.#destroyed) {
      stream.resetSent = true;
      this.#write(encodeU32Frame(FrameType.RST_STREAM, 0, stream.id, err ? ErrorCode.INTERNAL_ERROR : ErrorCode.CANCEL));
    }
    this.#remember(stream.id, stream.resetSent ? "reset-sent" : stream.resetReceived ? "reset-received" : "ended");
    // Bytes delivered but never read go back to the connection window.
    const unread = stream.pushed - stream.consumed;
    if (unread > 0) this.#discarded(unread);
    this.#maybeFinish();
  }

  #maybeFinish(): void {
    if (this.#streams.size === 0 && this.closing && !this.#destroyed) this.socket.end();
  }

  /** A connection error: GOAWAY with its code, then close. */
  #fail(err: H2ConnectionError): void {
    if (this.#destroyed) return;
    this.#error ??= err;
    this.#sendGoaway(err.code, err.message);
    this.#teardown(err);
    this.socket.end();
    const timer = setTimeout(() => this.socket.destroy(), 1000);
    (timer as { unref?: () => void }).unref?.();
  }

  #onSocketGone(err: Error): void {
    if (!this.#destroyed) this.#teardown(err);
    this.socket.end();
  }

  #onSocketClosed(): void {
    this.#teardown(this.#error ?? new Error("connection closed"));
    this.emit("close", this.#error);
  }

  #teardown(err: Error): void {
    if (this.#destroyed) return;
    this.#destroyed = true;
    clearTimeout(this.#prefaceTimer);
    for (const s of [...this.#streams.values()]) {
      if (s.localEnded && s.remoteEnded && s.readableEnded) s.destroy();
      else s.destroy(err);
    }
    this.#streams.clear();
    const waiters = this.#drainWaiters;
    this.#drainWaiters = [];
    for (const cb of waiters) cb(err);
  }
}

/** The RFC's name for an error code. */
export function errorName(code: number): string {
  for (const [name, value] of Object.entries(ErrorCode)) if (value === code) return name;
  return `0x${code.toString(16)}`;
}

/** A request's `content-length`: -1 when absent, NaN when malformed or repeated with other values. */
function contentLength(fields: HeaderList): number {
  let found = -1;
  for (const [name, value] of fields) {
    if (name !== "content-length") continue;
    if (!/^\d{1,15}$/.test(value)) return NaN;
    const n = Number(value);
    if (found >= 0 && found !== n) return NaN;
    found = n;
  }
  return found;
}

function toObject(fields: HeaderList): IncomingHeaders {
  const out: IncomingHeaders = {};
  for (const [name, value] of fields) {
    const had = out[name];
    out[name] = had === undefined ? value : `${had}${name === "cookie" ? "; " : ", "}${value}`;
  }
  return out;
}

/** Why a header list is malformed (RFC 9113 §8.2, §8.3), or undefined. */
export function checkFields(fields: HeaderList, kind: "request" | "response" | "trailers"): string | undefined {
  let regularSeen = false;
  const pseudo = new Map<string, string>();
  for (const [name, value] of fields) {
    if (name.length === 0) return "empty field name";
    for (let i = 0; i < name.length; i++) {
      const c = name.charCodeAt(i);
      if ((c >= 0x41 && c <= 0x5a) || c <= 0x20 || c >= 0x7f || (c === 0x3a && i > 0)) {
        return `invalid character in field name "${name}"`;
      }
    }
    for (let i = 0; i < value.length; i++) {
      const c = value.charCodeAt(i);
      if (c === 0 || c === 0x0a || c === 0x0d) return `invalid character in the value of "${name}"`;
    }
    const first = value.charCodeAt(0);
    const last = value.charCodeAt(value.length - 1); // NaN for an empty value
    if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return `whitespace around the value of "${name}"`;
    if (name[0] === ":") {
      if (regularSeen) return `pseudo-header ${name} after a regular field`;
      if (kind === "trailers") return `pseudo-header ${name} in trailers`;
      const allowed = kind === "request" ? REQUEST_PSEUDO.has(name) : name === ":status";
      if (!allowed) return `pseudo-header ${name} not allowed in a ${kind}`;
      if (pseudo.has(name)) return `duplicate ${name}`;
      pseudo.set(name, value);
      continue;
    }
    regularSeen = true;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific field "${name}"`;
    if (name === "te" && value !== "trailers") return `te: ${value}`;
  }
  if (kind === "response") {
    const status = pseudo.get(":status");
    if (!status || !/^[1-5]\d\d$/.test(status)) return "missing or invalid :status";
  } else if (kind === "request") {
    const method = pseudo.get(":method");
    if (!method) return "missing :method";
    if (method === "CONNECT") {
      if (!pseudo.get(":authority")) return "CONNECT without :authority";
      if (pseudo.has(":scheme") || pseudo.has(":path")) return "CONNECT with :scheme or :path";
    } else if (!pseudo.get(":scheme") || !pseudo.get(":path")) {
      return "missing :scheme or :path";
    }
  }
  return undefined;
}
