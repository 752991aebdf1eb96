/**
 * weft's strict HTTP/1.1 codec (RFC 9112): parses request and response heads, frames bodies while
 * their bytes are forwarded untouched, and encodes heads and chunks.
 *
 * Strict means the parsers refuse, rather than repair, everything that two HTTP implementations could
 * read differently (the root of request smuggling): bare LF or CR, obs-fold, whitespace before a colon,
 * `Content-Length` with `Transfer-Encoding`, repeated framing headers, any transfer coding but a lone
 * `chunked`, loose chunk-size lines. `test/http1/smuggling_test.ts` lists the verdicts, and
 * `test/http1/differential_test.ts` compares them with Node's `llhttp`; the choices left open by the
 * RFC are listed on {@linkcode parseRequestHead}.
 *
 * Cost (bench/http1_parse.ts): about 0.8–1.2 µs to parse a 300-byte GET head on Deno 2.9 and Bun 1.4,
 * one validating pass over the bytes, one native latin1 decode of the head, then substrings; common
 * field names are interned instead of sliced and lower-cased.
 *
 * @example Parse a request, frame its body, find the next pipelined request
 * ```ts
 * import { BodyFramer, parseRequestHead } from "./mod.ts";
 *
 * const bytes = new TextEncoder().encode(
 *   "POST /upload HTTP/1.1\r\nHost: example.com\r\nContent-Length: 5\r\n\r\nhelloGET / HTTP/1.1\r\n",
 * );
 * const result = parseRequestHead(bytes, { maxHeadBytes: 60 * 1024, maxHeaders: 100 });
 * if (result.status === "ok") {
 *   const { head } = result;
 *   const framer = new BodyFramer(head.bodyKind, head.contentLength);
 *   const framed = framer.push(bytes, head.headBytes, bytes.length);
 *   if (framed.status === "ok" && framed.done) {
 *     const next = head.headBytes + framed.used; // start of the pipelined GET
 *     console.log(next);
 *   }
 * }
 * ```
 *
 * @module
 */

export type {
  BodyFramerLike,
  BodyKind,
  FrameResult,
  HeadLimits,
  HeadResult,
  RequestHead,
  ResponseHead,
} from "./types.ts";
export { parseRequestHead } from "./request_head.ts";
export { parseResponseHead, type ResponseHeadOptions } from "./response_head.ts";
export { parsedFields } from "./parsed_fields.ts";
export { BodyFramer, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES } from "./body_framer.ts";
export {
  CHUNK_END,
  encodeChunk,
  encodeChunkHeader,
  encodeRequestHead,
  encodeResponseHead,
  LAST_CHUNK,
  statusText,
} from "./encode.ts";
