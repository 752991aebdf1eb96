/**
 * Tracks where a message body ends while its bytes are forwarded untouched.
 *
 * @module
 */

import { COLON, CR, FIELD_VALUE, HEX, HTAB, LF, SP, TOKEN } from "./_tables.ts";
import type { BodyFramerLike, BodyKind, FrameResult } from "./types.ts";

/** Longest chunk-size line (size and extensions, without CRLF) accepted. */
export const MAX_CHUNK_LINE_BYTES = 4096;
/** Largest trailer section (all trailer field lines and the final CRLF) accepted. */
export const MAX_TRAILER_BYTES = 16 * 1024;

// Chunked-decoder states.
const S_SIZE_START = 0;
const S_SIZE = 1;
const S_EXT_NAME_START = 2;
const S_EXT_NAME = 3;
const S_EXT_VALUE_START = 4;
const S_EXT_TOKEN_VALUE = 5;
const S_EXT_QUOTED = 6;
const S_EXT_QUOTED_PAIR = 7;
const S_EXT_AFTER_QUOTED = 8;
const S_SIZE_LF = 9;
const S_DATA = 10;
const S_DATA_CR = 11;
const S_DATA_LF = 12;
const S_TRAILER_LINE = 13;
const S_TRAILER_NAME = 14;
const S_TRAILER_VALUE = 15;
const S_TRAILER_LF = 16;
const S_END_LF = 17;
const S_DONE = 18;
const S_ERROR = 19;

const DQUOTE = 0x22;
const BACKSLASH = 0x5c;
const SEMICOLON = 0x3b;
const EQUALS = 0x3d;

/**
 * Frames one message body: `"length"` (with the `Content-Length`), `"chunked"` (a strict RFC 9112 §7.1
 * decoder), `"close"` (everything until the connection closes; never done) or `"none"` (done at once).
 *
 * {@linkcode BodyFramer.push} consumes at most up to the end of the body, so bytes of a pipelined next
 * message stay with the caller, and accepts any split of the input (one byte at a time included).
 *
 * The chunked decoder rejects: a size that is empty, not hex (`0x5`, `-1`), longer than 16 digits or above
 * 2^53-1; whitespace anywhere in the size line (RFC 9110 allows "bad whitespace" around `;` in extensions,
 * which nobody sends and which parsers disagree on); malformed extensions (`;name[=token|quoted-string]`)
 * or a size line over {@linkcode MAX_CHUNK_LINE_BYTES}; bare LF or CR; anything but CRLF after chunk
 * data; trailer fields that are not valid field lines (obs-fold included) or exceed
 * {@linkcode MAX_TRAILER_BYTES} in total.
 *
 * @example Find the end of a chunked body followed by a pipelined request
 * ```ts
 * import { BodyFramer } from "./body_framer.ts";
 *
 * const bytes = new TextEncoder().encode("5\r\nhello\r\n0\r\n\r\nGET / HTTP/1.1\r\n");
 * const framer = new BodyFramer("chunked");
 * const result = framer.push(bytes, 0, bytes.length);
 * if (result.status === "ok") console.log(result.used, result.done); // 15 true
 * ```
 */
export class BodyFramer implements BodyFramerLike {
  #state: number;
  /** Remaining bytes of a length body or of the current chunk's data. */
  #remaining: number;
  #chunked: boolean;
  #close: boolean;
  #digits = 0;
  #lineBytes = 0;
  #trailerBytes = 0;
  #payload = 0;
  #error = "";

  /**
   * @param kind How the body is delimited.
   * @param contentLength The body length for `"length"` (a non-negative safe integer); ignored otherwise.
   */
  constructor(kind: BodyKind, contentLength = 0) {
    this.#chunked = kind === "chunked";
    this.#close = kind === "close";
    this.#remaining = 0;
    if (kind === "length") {
      if (!Number.isSafeInteger(contentLength) || contentLength < 0) {
        throw new RangeError(`Cannot frame body: content length ${contentLength} is not a non-negative safe integer`);
      }
      this.#remaining = contentLength;
      this.#state = contentLength === 0 ? S_DONE : S_DATA;
    } else if (kind === "chunked") {
      this.#state = S_SIZE_START;
    } else if (kind === "close") {
      this.#state = S_DATA;
    } else {
      this.#state = S_DONE;
    }
  }

  /** True once the whole body (with a chunked body's trailers) has been seen. */
  get done(): boolean {
    return this.#state === S_DONE;
  }

  /** Payload bytes seen so far: the body without chunk framing and trailers. */
  get payloadBytes(): number {
    return this.#payload;
  }

  /**
   * Consumes bytes `buf[offset, end)` that follow what was pushed before, never past the end of the body.
   * Returns how many bytes belong to the body and whether it ended, or an error (sticky: later pushes
   * return it again).
   */
  push(buf: Uint8Array, offset: number, end: number): FrameResult {
    const state = this.#state;
    if (state === S_DATA && !this.#chunked) {
      const avail = end - offset;
      if (this.#close) {
        this.#payload += avail;
        return { status: "ok", used: avail, done: false };
      }
      const used = avail < this.#remaining ? avail : this.#remaining;
      this.#remaining -= used;
      this.#payload += used;
      if (this.#remaining === 0) this.#state = S_DONE;
      return { status: "ok", used, done: this.#remaining === 0 };
    }
    if (state === S_DONE) return { status: "ok", used: 0, done: true };
    if (state === S_ERROR) return { status: "error", reason: this.#error };
    const i = this.#chunk(buf, offset, end);
    if (this.#state === S_ERROR) return { status: "error", reason: this.#error };
    return { status: "ok", used: i - offset, done: this.#state === S_DONE };
  }

  #fail(reason: string, i: number): number {
    this.#state = S_ERROR;
    this.#error = `Cannot parse chunked body: ${reason}`;
    return i;
  }

  /** Runs the chunked state machine over `buf[i, end)`; returns the index where it stopped. */
  #chunk(buf: Uint8Array, i: number, end: number): number {
    let state = this.#state;
    while (i < end) {
      if (state === S_DATA) {
        const avail = end - i;
        const take = avail < this.#remaining ? avail : this.#remaining;
        i += take;
        this.#remaining -= take;
        this.#payload += take;
        if (this.#remaining === 0) state = S_DATA_CR;
        continue;
      }
      const c = buf[i]!;
      if (state <= S_EXT_AFTER_QUOTED && ++this.#lineBytes > MAX_CHUNK_LINE_BYTES) {
        return this.#fail(`the chunk-size line exceeds ${MAX_CHUNK_LINE_BYTES} bytes`, i);
      }
      if (state >= S_TRAILER_LINE && state <= S_END_LF && ++this.#trailerBytes > MAX_TRAILER_BYTES) {
        return this.#fail(`the trailer section exceeds ${MAX_TRAILER_BYTES} bytes`, i);
      }
      switch (state) {
        case S_SIZE_START: {
          const d = HEX[c]!;
          if (d === 0) return this.#fail(c === SP || c === HTAB ? "whitespace before the chunk size" : "invalid chunk size", i);
          this.#remaining = d - 1;
          this.#digits = 1;
          state = S_SIZE;
          break;
        }
        case S_SIZE: {
          const d = HEX[c]!;
          if (d !== 0) {
            const size = this.#remaining * 16 + (d - 1);
            if (++this.#digits > 16 || size > Number.MAX_SAFE_INTEGER) {
              return this.#fail("chunk size too large (over 16 hex digits or 2^53-1)", i);
            }
            this.#remaining = size;
          } else if (c === CR) {
            state = S_SIZE_LF;
          } else if (c === SEMICOLON) {
            state = S_EXT_NAME_START;
          } else if (c === LF) {
            return this.#fail("bare LF after the chunk size", i);
          } else {
            return this.#fail(c === SP || c === HTAB ? "whitespace after the chunk size" : "invalid chunk size", i);
          }
          break;
        }
        case S_EXT_NAME_START:
          if (TOKEN[c] === 0) return this.#fail("invalid chunk extension name", i);
          state = S_EXT_NAME;
          break;
        case S_EXT_NAME:
          if (TOKEN[c] !== 0) break;
          if (c === EQUALS) state = S_EXT_VALUE_START;
          else if (c === SEMICOLON) state = S_EXT_NAME_START;
          else if (c === CR) state = S_SIZE_LF;
          else return this.#fail(c === LF ? "bare LF in the chunk-size line" : "invalid chunk extension", i);
          break;
        case S_EXT_VALUE_START:
          if (c === DQUOTE) state = S_EXT_QUOTED;
          else if (TOKEN[c] !== 0) state = S_EXT_TOKEN_VALUE;
          else return this.#fail("invalid chunk extension value", i);
          break;
        case S_EXT_TOKEN_VALUE:
          if (TOKEN[c] !== 0) break;
          if (c === SEMICOLON) state = S_EXT_NAME_START;
          else if (c === CR) state = S_SIZE_LF;
          else return this.#fail(c === LF ? "bare LF in the chunk-size line" : "invalid chunk extension value", i);
          break;
        case S_EXT_QUOTED:
          // qdtext = HTAB / SP / %x21 / %x23-5B / %x5D-7E / obs-text
          if (c === DQUOTE) state = S_EXT_AFTER_QUOTED;
          else if (c === BACKSLASH) state = S_EXT_QUOTED_PAIR;
          else if (FIELD_VALUE[c] === 0) return this.#fail("invalid character in a quoted chunk extension", i);
          break;
        case S_EXT_QUOTED_PAIR:
          if (FIELD_VALUE[c] === 0) return this.#fail("invalid quoted-pair in a chunk extension", i);
          state = S_EXT_QUOTED;
          break;
        case S_EXT_AFTER_QUOTED:
          if (c === SEMICOLON) state = S_EXT_NAME_START;
          else if (c === CR) state = S_SIZE_LF;
          else return this.#fail(c === LF ? "bare LF in the chunk-size line" : "invalid chunk extension", i);
          break;
        case S_SIZE_LF:
          if (c !== LF) return this.#fail("bare CR in the chunk-size line", i);
          this.#lineBytes = 0;
          state = this.#remaining === 0 ? S_TRAILER_LINE : S_DATA;
          break;
        case S_DATA_CR:
          if (c !== CR) return this.#fail(c === LF ? "bare LF after chunk data" : "chunk data not followed by CRLF", i);
          state = S_DATA_LF;
          break;
        case S_DATA_LF:
          if (c !== LF) return this.#fail("chunk data not followed by CRLF", i);
          state = S_SIZE_START;
          break;
        case S_TRAILER_LINE:
          if (c === CR) state = S_END_LF;
          else if (TOKEN[c] !== 0) state = S_TRAILER_NAME;
          else if (c === SP || c === HTAB) return this.#fail("obsolete line folding (obs-fold) in the trailer section", i);
          else if (c === LF) return this.#fail("bare LF in the trailer section", i);
          else if (c === COLON) return this.#fail("empty trailer field name", i);
          else return this.#fail("invalid character in a trailer field name", i);
          break;
        case S_TRAILER_NAME:
          if (TOKEN[c] !== 0) break;
          if (c === COLON) state = S_TRAILER_VALUE;
          else if (c === SP || c === HTAB) return this.#fail("whitespace between a trailer field name and the colon", i);
          else return this.#fail("invalid character in a trailer field name", i);
          break;
        case S_TRAILER_VALUE:
          if (FIELD_VALUE[c] !== 0) break;
          if (c === CR) state = S_TRAILER_LF;
          else return this.#fail(c === LF ? "bare LF in the trailer section" : "invalid character in a trailer field value", i);
          break;
        case S_TRAILER_LF:
          if (c !== LF) return this.#fail("bare CR in the trailer section", i);
          state = S_TRAILER_LINE;
          break;
        case S_END_LF:
          if (c !== LF) return this.#fail("bare CR at the end of the trailer section", i);
          this.#state = S_DONE;
          return i + 1;
      }
      i++;
    }
    this.#state = state;
    return i;
  }
}
