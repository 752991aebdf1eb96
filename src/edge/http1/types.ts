/**
 * The contract of weft's strict HTTP/1.1 codec (RFC 9112). The proxy forwards bodies as raw bytes and
 * only tracks their framing, so the codec parses heads, frames bodies and encodes heads; it never
 * buffers a body.
 *
 * Header lists are flat arrays `[name0, value0, name1, value1, …]` with names lower-cased and values
 * trimmed of surrounding optional whitespace, in wire order (duplicates kept).
 *
 * @module
 */

/** Limits a request head is checked against; exceeding them is 431. */
export interface HeadLimits {
  /** Total bytes of the head including the request line and the final CRLF CRLF (Envoy: max_request_headers_kb). */
  maxHeadBytes: number;
  /** Number of header fields (Envoy: max_headers_count, default 100). */
  maxHeaders: number;
}

/** How the body of a message is delimited. `close` only exists for responses. */
export type BodyKind = "none" | "length" | "chunked" | "close";

export interface RequestHead {
  method: string;
  /** The request-target exactly as received. */
  target: string;
  /** Path of an origin-form or absolute-form target, without the query; "*" for asterisk-form; the authority for CONNECT. */
  path: string;
  /** The query including its leading "?", or "". */
  query: string;
  /** Minor version: 1 for HTTP/1.1, 0 for HTTP/1.0. */
  minor: 0 | 1;
  headers: string[];
  /** Authority: from an absolute-form target if present, else the Host header; null when absent (HTTP/1.0). */
  host: string | null;
  bodyKind: "none" | "length" | "chunked";
  /** Body length when bodyKind is "length", else 0. */
  contentLength: number;
  /** Whether the connection may be reused after this request (version + Connection tokens). */
  keepAlive: boolean;
  /** `Expect: 100-continue` was sent. */
  expectContinue: boolean;
  /** Value of `Upgrade` when `Connection` lists `upgrade`, else null. */
  upgrade: string | null;
  /**
   * The head's fields that `Connection` nominates, lower-cased: hop-by-hop, never forwarded (RFC
   * 9110 §7.6.1). Never `keep-alive` or `upgrade` (read as flags) nor the framing fields
   * `Content-Length` and `Transfer-Encoding` (they frame the body weft relays as it arrived). Null
   * when none, so the common message costs nothing.
   */
  connectionNominated: string[] | null;
  /** The `X-Forwarded-For` values joined with "," (empty ones skipped, as Envoy), or null when absent. */
  forwardedFor: string | null;
  /** Bytes the head occupied, including the final CRLF CRLF. */
  headBytes: number;
}

export interface ResponseHead {
  minor: 0 | 1;
  status: number;
  reason: string;
  headers: string[];
  bodyKind: BodyKind;
  contentLength: number;
  keepAlive: boolean;
  /** As on {@linkcode RequestHead}: the names `Connection` nominates, or null. */
  connectionNominated: string[] | null;
  headBytes: number;
}

/** Result of parsing a head from the start of a buffer. */
export type HeadResult<T> =
  | { status: "incomplete" }
  | { status: "error"; code: 400 | 413 | 431 | 501 | 505; reason: string }
  | { status: "ok"; head: T };

/** Result of feeding bytes to a {@linkcode BodyFramerLike}. */
export type FrameResult =
  /** `used` bytes from the offset belong to this body; `done` once the body (and trailers) ended. */
  | { status: "ok"; used: number; done: boolean }
  | { status: "error"; reason: string };

/** Tracks where a body ends while its bytes are forwarded untouched. */
export interface BodyFramerLike {
  /** Consume bytes `buf[offset, end)`; never more than needed to end the body. */
  push(buf: Uint8Array, offset: number, end: number): FrameResult;
  /** True once the whole body has been seen. */
  readonly done: boolean;
}
