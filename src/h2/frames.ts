/**
 * HTTP/2 framing (RFC 9113 §4, §6): frame and error-code constants, frame encoding, and an
 * incremental frame reader that hands DATA payloads over as they arrive (a 1 MiB DATA frame is never
 * gathered into one buffer) and buffers every other frame whole, up to the frame size we advertised.
 *
 * @example
 * ```ts
 * const reader = new FrameReader(MAX_FRAME_SIZE, {
 *   frame: (type, flags, streamId, payload) => { ... },
 *   data: (streamId, flags, piece, first, last) => { ... },
 * });
 * socket.on("data", (chunk) => reader.push(chunk));
 * socket.write(encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)));
 * ```
 *
 * @module
 */

/** The client connection preface (RFC 9113 §3.4). */
export const PREFACE: Uint8Array = new TextEncoder().encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");

export const FrameType = {
  DATA: 0x0,
  HEADERS: 0x1,
  PRIORITY: 0x2,
  RST_STREAM: 0x3,
  SETTINGS: 0x4,
  PUSH_PROMISE: 0x5,
  PING: 0x6,
  GOAWAY: 0x7,
  WINDOW_UPDATE: 0x8,
  CONTINUATION: 0x9,
} as const;

export const Flag = {
  END_STREAM: 0x1,
  ACK: 0x1,
  END_HEADERS: 0x4,
  PADDED: 0x8,
  PRIORITY: 0x20,
} as const;

export const ErrorCode = {
  NO_ERROR: 0x0,
  PROTOCOL_ERROR: 0x1,
  INTERNAL_ERROR: 0x2,
  FLOW_CONTROL_ERROR: 0x3,
  SETTINGS_TIMEOUT: 0x4,
  STREAM_CLOSED: 0x5,
  FRAME_SIZE_ERROR: 0x6,
  REFUSED_STREAM: 0x7,
  CANCEL: 0x8,
  COMPRESSION_ERROR: 0x9,
  CONNECT_ERROR: 0xa,
  ENHANCE_YOUR_CALM: 0xb,
  INADEQUATE_SECURITY: 0xc,
  HTTP_1_1_REQUIRED: 0xd,
} as const;

export const Setting = {
  HEADER_TABLE_SIZE: 0x1,
  ENABLE_PUSH: 0x2,
  MAX_CONCURRENT_STREAMS: 0x3,
  INITIAL_WINDOW_SIZE: 0x4,
  MAX_FRAME_SIZE: 0x5,
  MAX_HEADER_LIST_SIZE: 0x6,
} as const;

/** The frame size every peer must accept (RFC 9113 §4.2). */
export const DEFAULT_MAX_FRAME_SIZE = 16_384;
/** The largest MAX_FRAME_SIZE a peer may advertise. */
export const MAX_ALLOWED_FRAME_SIZE = (1 << 24) - 1;
/** The largest flow-control window (RFC 9113 §6.9.1). */
export const MAX_WINDOW = 0x7fff_ffff;
/** Every window starts here until SETTINGS or WINDOW_UPDATE say otherwise. */
export const DEFAULT_WINDOW = 65_535;

/** A connection error (RFC 9113 §5.4.1): the session sends GOAWAY with `code` and closes. */
export class H2ConnectionError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "H2ConnectionError";
  }
}

/** A stream error (RFC 9113 §5.4.2): the session resets the stream with `code`. */
export class H2StreamError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
    this.name = "H2StreamError";
  }
}

/** Writes a frame header into `out` at `at`. */
export function writeFrameHeader(
  out: Uint8Array,
  at: number,
  length: number,
  type: number,
  flags: number,
  streamId: number,
): void {
  out[at] = length >>> 16;
  out[at + 1] = (length >>> 8) & 0xff;
  out[at + 2] = length & 0xff;
  out[at + 3] = type;
  out[at + 4] = flags;
  out[at + 5] = (streamId >>> 24) & 0x7f;
  out[at + 6] = (streamId >>> 16) & 0xff;
  out[at + 7] = (streamId >>> 8) & 0xff;
  out[at + 8] = streamId & 0xff;
}

/** One frame as one buffer (header and payload together, so a TLS socket writes one record). */
export function encodeFrame(type: number, flags: number, streamId: number, payload?: Uint8Array): Uint8Array {
  const n = payload?.length ?? 0;
  const out = new Uint8Array(9 + n);
  writeFrameHeader(out, 0, n, type, flags, streamId);
  if (payload && n) out.set(payload, 9);
  return out;
}

/** A frame carrying big-endian 32-bit words (RST_STREAM, WINDOW_UPDATE, GOAWAY's first two). */
export function encodeU32Frame(type: number, flags: number, streamId: number, ...words: number[]): Uint8Array {
  const out = new Uint8Array(9 + words.length * 4);
  writeFrameHeader(out, 0, words.length * 4, type, flags, streamId);
  words.forEach((w, i) => writeU32(out, 9 + i * 4, w));
  return out;
}

/** Writes a 13-byte WINDOW_UPDATE into `out` at `at` (to send several in one write). */
export function writeWindowUpdate(out: Uint8Array, at: number, streamId: number, increment: number): void {
  writeFrameHeader(out, at, 4, FrameType.WINDOW_UPDATE, 0, streamId);
  writeU32(out, at + 9, increment);
}

/** Writes `value` as a big-endian 32-bit word into `out` at `at`. */
export function writeU32(out: Uint8Array, at: number, value: number): void {
  out[at] = value >>> 24;
  out[at + 1] = (value >>> 16) & 0xff;
  out[at + 2] = (value >>> 8) & 0xff;
  out[at + 3] = value & 0xff;
}

/** SETTINGS with the given (id, value) pairs. */
export function encodeSettings(settings: [id: number, value: number][]): Uint8Array {
  const payload = new Uint8Array(settings.length * 6);
  const view = new DataView(payload.buffer);
  settings.forEach(([id, value], i) => {
    view.setUint16(i * 6, id);
    view.setUint32(i * 6 + 2, value >>> 0);
  });
  return encodeFrame(FrameType.SETTINGS, 0, 0, payload);
}

export function readU32(b: Uint8Array, at: number): number {
  return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
}

export interface FrameSink {
  /** A complete frame other than an unpadded DATA frame. */
  frame(type: number, flags: number, streamId: number, payload: Uint8Array): void;
  /**
   * A piece of an unpadded DATA frame's payload, as it arrives (a zero-length frame gives one
   * empty piece). `first` marks the frame's first piece, `last` its last.
   */
  data(streamId: number, flags: number, piece: Uint8Array, first: boolean, last: boolean): void;
}

/**
 * Splits a byte stream into frames. A frame longer than `maxFrameSize` (the size we advertised) is a
 * FRAME_SIZE_ERROR, thrown as {@link H2ConnectionError} from {@link push}.
 */
export class FrameReader {
  readonly #head = new Uint8Array(9);
  #headLen = 0;
  /** The frame being read, once its header is complete. */
  #length = -1;
  #type = 0;
  #flags = 0;
  #streamId = 0;
  /** Payload read so far of the current frame. */
  #got = 0;
  /** Whole-frame buffer for frames that are not streamed. */
  #body: Uint8Array | undefined;
  #streaming = false;

  constructor(public maxFrameSize: number, private readonly sink: FrameSink) {}

  push(chunk: Uint8Array): void {
    let at = 0;
    const end = chunk.length;
    while (at < end) {
      if (this.#headLen < 9) {
        const take = Math.min(9 - this.#headLen, end - at);
        this.#head.set(chunk.subarray(at, at + take), this.#headLen);
        this.#headLen += take;
        at += take;
        if (this.#headLen === 9) this.#startFrame(); // completes zero-length frames itself
        continue;
      }
      const take = Math.min(this.#length - this.#got, end - at);
      const first = this.#got === 0;
      this.#got += take;
      const last = this.#got === this.#length;
      if (last) this.#headLen = 0;
      if (this.#streaming) {
        this.sink.data(this.#streamId, this.#flags, chunk.subarray(at, at + take), first, last);
      } else {
        this.#body!.set(chunk.subarray(at, at + take), this.#got - take);
        if (last) {
          const body = this.#body!;
          this.#body = undefined;
          this.sink.frame(this.#type, this.#flags, this.#streamId, body);
        }
      }
      at += take;
    }
  }

  #startFrame(): void {
    const h = this.#head;
    this.#length = (h[0]! << 16) | (h[1]! << 8) | h[2]!;
    this.#type = h[3]!;
    this.#flags = h[4]!;
    this.#streamId = readU32(h, 5) & 0x7fff_ffff;
    this.#got = 0;
    if (this.#length > this.maxFrameSize) {
      throw new H2ConnectionError(
        ErrorCode.FRAME_SIZE_ERROR,
        `frame of ${this.#length} bytes exceeds the ${this.maxFrameSize}-byte limit`,
      );
    }
    this.#streaming = this.#type === FrameType.DATA && (this.#flags & Flag.PADDED) === 0;
    if (this.#streaming) {
      if (this.#length === 0) {
        this.#headLen = 0;
        this.sink.data(this.#streamId, this.#flags, new Uint8Array(0), true, true);
      }
      return;
    }
    this.#body = new Uint8Array(this.#length);
    if (this.#length === 0) {
      this.#headLen = 0;
      this.#body = undefined;
      this.sink.frame(this.#type, this.#flags, this.#streamId, new Uint8Array(0));
    }
  }
}
