/**
 * Request-smuggling and malformed-request vectors for weft's HTTP/1.1 codec, with the verdict weft
 * gives each one and what nginx and Envoy do with it.
 *
 * Shared by `smuggling_test.ts` (our verdicts) and `differential_test.ts` (our verdicts against Node's
 * llhttp). Inputs are latin1 strings: `\xNN` is the byte NN.
 *
 * Notes on other proxies: "(probe)" marks behaviour measured on this project's machines (see
 * /work/shared/notes/runtime-facts.md, "Strictness probes"); the rest comes from their changelogs,
 * sources, tests and issue threads and was not re-measured here, so treat it as documentation, not as
 * a test oracle (the oracle we do run is Node's llhttp, in differential_test.ts). "nginx" means
 * nginx ≥ 1.21.1 with default settings (ignore_invalid_headers on); "Envoy" means a recent Envoy with
 * default settings (Balsa parser, allow_chunked_length false, max_request_headers_kb 60,
 * max_headers_count 100).
 *
 * @module
 */

import { BodyFramer, parseRequestHead } from "../../src/edge/http1/mod.ts";
import type { HeadLimits, RequestHead } from "../../src/edge/http1/mod.ts";

/** weft's verdict on a request: accepted (whole message framed), rejected with a status, or incomplete. */
export type Expected = "accept" | 400 | 431 | 501 | 505;

export interface Vector {
  /** Unique, descriptive; the key of EXPECTED_DIFFERENCES in the differential test. */
  name: string;
  /** The bytes sent on a fresh connection (latin1). */
  input: string;
  expect: Expected;
  /** What nginx and Envoy do, and why weft decides as it does. */
  note: string;
  /** Extra assertions on an accepted head. */
  check?: (head: RequestHead, used: number) => void;
}

/** The limits used for every vector: Envoy's defaults. */
export const VECTOR_LIMITS: HeadLimits = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

export type Outcome =
  | { verdict: "accept"; head: RequestHead; bodyBytes: number; used: number }
  | { verdict: "reject"; code: number; reason: string }
  | { verdict: "incomplete" };

/** Encodes a latin1 string as bytes. */
export function latin1Bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * Runs weft's codec over the first message in `input` as the proxy does: parse the head, then frame
 * the body. A body framing error is a 400.
 */
export function runWeft(input: Uint8Array, limits: HeadLimits = VECTOR_LIMITS): Outcome {
  const r = parseRequestHead(input, limits);
  if (r.status === "incomplete") return { verdict: "incomplete" };
  if (r.status === "error") return { verdict: "reject", code: r.code, reason: r.reason };
  const head = r.head;
  const framer = new BodyFramer(head.bodyKind, head.contentLength);
  const framed = framer.push(input, head.headBytes, input.length);
  if (framed.status === "error") return { verdict: "reject", code: 400, reason: framed.reason };
  if (!framed.done) return { verdict: "incomplete" };
  return { verdict: "accept", head, bodyBytes: framer.payloadBytes, used: head.headBytes + framed.used };
}

const H = "Host: example.com\r\n";
const SMUGGLED = "GET /admin HTTP/1.1\r\nHost: example.com\r\n\r\n";

export const VECTORS: Vector[] = [
  // ── Baselines ────────────────────────────────────────────────────────────────────────────────────
  {
    name: "baseline GET",
    input: `GET /index.html?x=1 HTTP/1.1\r\n${H}User-Agent: probe\r\n\r\n`,
    expect: "accept",
    note: "Everyone accepts.",
  },
  {
    name: "baseline chunked POST with trailer",
    input: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6;ext=1\r\n world\r\n0\r\nX-Checksum: 1\r\n\r\n`,
    expect: "accept",
    note: "Everyone accepts; extensions and trailers are valid.",
    check: (head) => {
      if (head.bodyKind !== "chunked") throw new Error("Expected a chunked body");
    },
  },
  {
    name: "CL body followed by a pipelined request",
    input: `POST /a HTTP/1.1\r\n${H}Content-Length: 5\r\n\r\nhello${SMUGGLED}`,
    expect: "accept",
    note: "The body ends after 5 bytes; the GET /admin that follows is a separate request, never body.",
    check: (head, used) => {
      if (used !== head.headBytes + 5) throw new Error(`Expected the body to end at ${head.headBytes + 5}, got ${used}`);
    },
  },

  // ── Content-Length and Transfer-Encoding together ────────────────────────────────────────────────
  {
    name: "CL.TE: Content-Length then Transfer-Encoding",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 6\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nG`,
    expect: 400,
    note: "nginx 400 (since 1.21.1); Envoy 400 unless allow_chunked_length. RFC 9112 §6.3 allows processing TE and closing; rejecting removes the ambiguity.",
  },
  {
    name: "TE.CL: Transfer-Encoding then Content-Length",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n5c\r\nGPOST / HTTP/1.1\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "CL.TE with an unsupported coding",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 3\r\nTransfer-Encoding: identity, chunked\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "nginx and Envoy answer 501 (they check the coding first); weft checks CL+TE first, 400.",
  },

  // ── Content-Length ───────────────────────────────────────────────────────────────────────────────
  {
    name: "duplicate Content-Length, same value",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`,
    expect: 400,
    note: "nginx 400 (duplicate header line); Envoy 400 (Balsa rejects even identical duplicates). RFC allows collapsing; weft is strict.",
  },
  {
    name: "duplicate Content-Length, different values",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`,
    expect: 400,
    note: "nginx 400; Envoy 400; RFC 9112 §6.3 requires rejecting.",
  },
  {
    name: "Content-Length list '5, 5'",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 5, 5\r\n\r\nhello`,
    expect: 400,
    note: "nginx 400 (not a number); Envoy 400. RFC allows the identical list; weft takes the strict option.",
  },
  {
    name: "Content-Length with plus sign",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: +5\r\n\r\nhello`,
    expect: 400,
    note: "nginx 400; Envoy 400. Some integer parsers accept '+5'; 1*DIGIT does not.",
  },
  {
    name: "Content-Length negative",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: -1\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "Content-Length with inner space",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 1 0\r\n\r\n0123456789`,
    expect: 400,
    note: "nginx 400; Envoy 400. A parser skipping spaces would read 10.",
  },
  {
    name: "Content-Length hex",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 0x5\r\n\r\nhello`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "Content-Length empty",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: \r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "Content-Length 16 digits",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 1000000000000000\r\n\r\n`,
    expect: 400,
    note: "nginx parses it and answers 413 (client_max_body_size); Envoy parses up to 2^64. weft caps at 15 digits so the value is exact; beyond any sane body size.",
  },
  {
    name: "Content-Length with leading zeros",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: 005\r\n\r\nhello`,
    expect: "accept",
    note: "Valid 1*DIGIT; nginx and Envoy accept.",
    check: (head) => {
      if (head.contentLength !== 5) throw new Error(`Expected 5, got ${head.contentLength}`);
    },
  },
  {
    name: "Content-Length with surrounding whitespace",
    input: `POST / HTTP/1.1\r\n${H}Content-Length: \t5 \r\n\r\nhello`,
    expect: "accept",
    note: "OWS around a field value is not part of it (RFC 9110 §5.5); nginx and Envoy accept.",
  },

  // ── Transfer-Encoding ────────────────────────────────────────────────────────────────────────────
  {
    name: "TE 'chunked, identity'",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked, identity\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §6.3: chunked not final in a request → 400. nginx 501 (only 'chunked' is known); Envoy 501.",
  },
  {
    name: "TE 'identity'",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: identity\r\n\r\n`,
    expect: 400,
    note: "'identity' is no longer a registered coding; chunked is not final → 400. nginx 501; Envoy 501.",
  },
  {
    name: "TE 'gzip, chunked'",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: gzip, chunked\r\n\r\n0\r\n\r\n`,
    expect: 501,
    note: "Well-formed but unsupported coding: 501 (RFC 9112 §6.1). nginx 501; Envoy 501; Deno.serve accepts (probe).",
  },
  {
    name: "TE 'xchunked'",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: xchunked\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "A substring match would see 'chunked'. nginx 501; Envoy 501.",
  },
  {
    name: "TE ' chunked' with leading space",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:  chunked\r\n\r\n0\r\n\r\n`,
    expect: "accept",
    note: "Leading OWS is not part of the value; nginx and Envoy accept.",
  },
  {
    name: "TE with leading tab",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n`,
    expect: "accept",
    note: "HTAB is OWS; nginx and Envoy accept.",
  },
  {
    name: "TE 'Chunked' mixed case",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: Chunked\r\n\r\n0\r\n\r\n`,
    expect: "accept",
    note: "Coding names are case-insensitive (RFC 9112 §7); nginx and Envoy accept.",
  },
  {
    name: "TE with vertical tab",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "VT is a control byte, not OWS; a parser trimming isspace() would see 'chunked'. nginx 501; Envoy 400.",
  },
  {
    name: "TE header repeated",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "Combined it is 'chunked, chunked' (chunked twice, RFC 9112 §7). nginx 400 (duplicate); Envoy 400.",
  },
  {
    name: "TE chunked then TE identity",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTransfer-Encoding: identity\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "Parsers reading only the first or the last line disagree. nginx 400 (duplicate); Envoy 501.",
  },
  {
    name: "space before colon in Transfer-Encoding",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding : chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §5.1: MUST reject. nginx 400 (since 1.21.1); Envoy 400.",
  },
  {
    name: "tab before colon in Transfer-Encoding",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding\t: chunked\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "Same as a space. nginx 400; Envoy 400.",
  },
  {
    name: "obs-fold Transfer-Encoding",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding:\r\n chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §5.2 allows rejecting obs-fold; a front-end unfolding it sees chunked, a back-end ignoring it sees CL. nginx 400; Envoy 400.",
  },
  {
    name: "obs-fold in an ordinary header",
    input: `GET / HTTP/1.1\r\n${H}X-Long: part1\r\n part2\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "Transfer-Encoding in HTTP/1.0",
    input: `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §6.1: faulty framing. nginx 400 (since 1.21.1); Envoy 400.",
  },

  // ── Line endings and control bytes ───────────────────────────────────────────────────────────────
  {
    name: "bare LF line endings in the head",
    input: `GET / HTTP/1.1\nHost: example.com\n\n`,
    expect: 400,
    note: "RFC 9112 §2.2 allows a recipient to accept it; weft does not. nginx accepts (probe); Deno.serve accepts (probe); Envoy accepts LF line ends.",
  },
  {
    name: "bare LF ending one header line",
    input: `GET / HTTP/1.1\r\n${H}X-A: 1\nTransfer-Encoding: chunked\r\n\r\n`,
    expect: 400,
    note: "A parser splitting only on CRLF sees one header 'X-A: 1\\nTransfer-Encoding: chunked'. nginx accepts; Envoy accepts.",
  },
  {
    name: "bare CR in a header line",
    input: `GET / HTTP/1.1\r\n${H}X-A: 1\rTransfer-Encoding: chunked\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §2.2: MUST reject or replace with SP. nginx 400; Envoy 400.",
  },
  {
    name: "NUL in a header value",
    input: `GET / HTTP/1.1\r\n${H}X-A: a\x00b\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400. Terminates C strings early.",
  },
  {
    name: "DEL in a header value",
    input: `GET / HTTP/1.1\r\n${H}X-A: a\x7fb\r\n\r\n`,
    expect: 400,
    note: "Not field-vchar. nginx accepts (probe); Bun.serve accepts (probe); Envoy 400.",
  },
  {
    name: "ESC in a header value",
    input: `GET / HTTP/1.1\r\n${H}X-A: \x1b[31mred\r\n\r\n`,
    expect: 400,
    note: "Control bytes reach logs and terminals. nginx accepts; Envoy 400.",
  },
  {
    name: "obs-text in a header value",
    input: `GET / HTTP/1.1\r\n${H}X-Name: caf\xe9\r\n\r\n`,
    expect: "accept",
    note: "obs-text is allowed in values (RFC 9110 §5.5) and decoded as latin1; nginx and Envoy accept.",
  },

  // ── Field names ──────────────────────────────────────────────────────────────────────────────────
  {
    name: "invalid token character in a name 'X(A)'",
    input: `GET / HTTP/1.1\r\n${H}X(A): 1\r\n\r\n`,
    expect: 400,
    note: "nginx drops the line and accepts (probe; ignore_invalid_headers); Envoy 400.",
  },
  {
    name: "empty field name",
    input: `GET / HTTP/1.1\r\n${H}: empty\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "header line without a colon",
    input: `GET / HTTP/1.1\r\n${H}NoColonHere\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "whitespace before the first header",
    input: `GET / HTTP/1.1\r\n Host: example.com\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §2.2: reject or ignore the line; ignoring would hide Host. nginx 400; Envoy 400.",
  },

  // ── Request line ─────────────────────────────────────────────────────────────────────────────────
  {
    name: "request line with tabs",
    input: `GET\t/\tHTTP/1.1\r\n${H}\r\n`,
    expect: 400,
    note: "nginx 400 (since 1.21.1, control characters in the request line); Envoy 400.",
  },
  {
    name: "request line with two spaces",
    input: `GET  / HTTP/1.1\r\n${H}\r\n`,
    expect: 400,
    note: "RFC 9112 §3 allows lenient whitespace parsing; weft does not. nginx accepts; Envoy 400.",
  },
  {
    name: "space inside the target",
    input: `GET /a b HTTP/1.1\r\n${H}\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "HTTP/0.9 request line",
    input: `GET /\r\n\r\n`,
    expect: 400,
    note: "nginx answers it as HTTP/0.9 (body without head); Envoy 400. weft never speaks HTTP/0.9.",
  },
  {
    name: "HTTP/2.0 in an HTTP/1 request line",
    input: `GET / HTTP/2.0\r\n${H}\r\n`,
    expect: 505,
    note: "nginx 505; Envoy's codec treats any version but 1.1 as HTTP/1.0. weft: 505 for well-formed unknown versions.",
  },
  {
    name: "HTTP/1.2",
    input: `GET / HTTP/1.2\r\n${H}\r\n`,
    expect: 505,
    note: "nginx accepts it as HTTP/1.1; Envoy treats it as HTTP/1.0. weft only speaks 1.0 and 1.1.",
  },
  {
    name: "malformed version 'HTTP/1.1.1'",
    input: `GET / HTTP/1.1.1\r\n${H}\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "lower-case method 'get'",
    input: `get / HTTP/1.1\r\n${H}\r\n`,
    expect: "accept",
    note: "Methods are case-sensitive tokens and 'get' is a valid, different, method (RFC 9110 §9.1); the proxy forwards it and the origin decides. nginx 400 (upper-case letters only); Envoy accepts.",
    check: (head) => {
      if (head.method !== "get") throw new Error(`Expected method 'get', got '${head.method}'`);
    },
  },
  {
    name: "unknown method token",
    input: `PURGE /cache HTTP/1.1\r\n${H}\r\n`,
    expect: "accept",
    note: "Any token is a method; nginx accepts; Envoy accepts.",
  },
  {
    name: "one CRLF before the request line",
    input: `\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    expect: "accept",
    note: "RFC 9112 §2.2: SHOULD ignore at least one empty line (old clients add CRLF after a POST body). nginx accepts; Envoy accepts.",
  },
  {
    name: "two CRLFs before the request line",
    input: `\r\n\r\nGET / HTTP/1.1\r\n${H}\r\n`,
    expect: "accept",
    note: "weft skips any number of empty lines within the head limit, as llhttp does. nginx accepts any number; Envoy accepts.",
  },
  {
    name: "Connection nominating Content-Length",
    input: `POST / HTTP/1.1\r\n${H}Connection: content-length\r\nContent-Length: 4\r\n\r\nGET `,
    expect: "accept",
    note:
      "The body is framed by Content-Length and weft relays it as received, so the field is kept: dropping it as nominated made the upstream read the body as the next request. Envoy removes it but re-frames the body (chunked); nginx accepts.",
    check: (head) => {
      if (head.connectionNominated !== null) throw new Error(`Expected nothing nominated, got ${head.connectionNominated}`);
      if (head.bodyKind !== "length" || head.contentLength !== 4) throw new Error("Expected a 4-byte body");
    },
  },
  {
    name: "Connection nominating X-Forwarded-For",
    input: `GET / HTTP/1.1\r\n${H}Connection: X-Forwarded-For\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n`,
    expect: 400,
    note: "Its removal could hide who the client is: Envoy 400 (also for -Host, -Proto and pseudo-headers, Utility::sanitizeConnectionHeader); nginx accepts.",
  },
  {
    name: "Connection with ten options",
    input: `GET / HTTP/1.1\r\n${H}Connection: a,b,c,d,e,f,g,h,i,j\r\n\r\n`,
    expect: 400,
    note: "Envoy 400 from ten options on (Utility::sanitizeConnectionHeader); nginx accepts.",
  },
  {
    name: "non-ASCII byte in the target",
    input: `GET /caf\xe9 HTTP/1.1\r\n${H}\r\n`,
    expect: 400,
    note: "Not allowed unencoded in a URI. nginx accepts; Envoy 400.",
  },
  {
    name: "fragment in the target",
    input: `GET /a#frag HTTP/1.1\r\n${H}\r\n`,
    expect: 400,
    note: "A fragment is never sent (RFC 9112 §3.2). nginx accepts; Envoy 400 (http_reject_path_with_fragment).",
  },
  {
    name: "NUL in the target",
    input: `GET /a\x00b HTTP/1.1\r\n${H}\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },

  // ── Host and absolute-form ──────────────────────────────────────────────────────────────────────
  {
    name: "missing Host in HTTP/1.1",
    input: `GET / HTTP/1.1\r\nUser-Agent: probe\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §3.2: MUST respond 400. nginx 400; Envoy 400.",
  },
  {
    name: "double Host",
    input: `GET / HTTP/1.1\r\nHost: a.example\r\nHost: b.example\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §3.2: MUST respond 400. nginx 400 (duplicate host); Envoy 400.",
  },
  {
    name: "Host with userinfo",
    input: `GET / HTTP/1.1\r\nHost: user@a.example\r\n\r\n`,
    expect: 400,
    note: "Not an authority a client may send. nginx 400; Envoy 400.",
  },
  {
    name: "Host with a space",
    input: `GET / HTTP/1.1\r\nHost: a.example b.example\r\n\r\n`,
    expect: 400,
    note: "nginx 400 (since 1.21.1); Envoy 400.",
  },
  {
    name: "empty Host",
    input: `GET / HTTP/1.1\r\nHost: \r\n\r\n`,
    expect: 400,
    note: "Allowed by RFC 9110 §7.2 only when the target has no authority; a proxy cannot route it. nginx 400; Envoy 400.",
  },
  {
    name: "absolute-form with a different Host",
    input: `GET http://internal.example/x HTTP/1.1\r\nHost: public.example\r\n\r\n`,
    expect: "accept",
    note: "RFC 9112 §3.2.2: the target's authority wins and the Host header is ignored; weft routes on internal.example. nginx and Envoy do the same.",
    check: (head) => {
      if (head.host !== "internal.example") throw new Error(`Expected host internal.example, got ${head.host}`);
    },
  },
  {
    name: "absolute-form with userinfo",
    input: `GET http://user:pw@a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n`,
    expect: 400,
    note: "RFC 9110 §4.2.4: treat userinfo as an error. nginx 400; Envoy 400.",
  },
  {
    name: "absolute-form with an unknown scheme",
    input: `GET gopher://a.example/ HTTP/1.1\r\nHost: a.example\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "CONNECT without a port",
    input: `CONNECT a.example HTTP/1.1\r\nHost: a.example\r\n\r\n`,
    expect: 400,
    note: "authority-form needs a port (RFC 9112 §3.2.3). nginx 400 (CONNECT unsupported); Envoy 400.",
  },

  // ── Chunked framing ──────────────────────────────────────────────────────────────────────────────
  {
    name: "bare LF after the chunk size",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "nginx accepts LF; Envoy 400.",
  },
  {
    name: "bare LF after chunk data",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhello\n0\r\n\r\n`,
    expect: 400,
    note: "nginx accepts LF; Envoy 400.",
  },
  {
    name: "chunk size overflow ffffffffffffffffff",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\nffffffffffffffffff\r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "An overflowing size wraps to something small in some parsers. nginx 400; Envoy 400.",
  },
  {
    name: "chunk size 2^53",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n20000000000000\r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "Beyond exact doubles; weft's limit. nginx accepts the size (off_t) then reads; Envoy accepts the size.",
  },
  {
    name: "chunk size with 0x prefix",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "strtol(…, 16) accepts '0x'. nginx 400; Envoy 400.",
  },
  {
    name: "chunk size with a trailing space",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 \r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "Not in the grammar. nginx accepts (treats it as the start of an extension); Envoy 400.",
  },
  {
    name: "chunk size with a leading space",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n 5\r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "chunk extension with whitespace before ';'",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5 ;a=b\r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "RFC 9112 §7.1.1 BWS: recipients should accept it; nobody sends it and parsers disagree, so weft refuses. nginx accepts; Envoy 400.",
  },
  {
    name: "missing CRLF after chunk data",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n5\r\nhelloXX0\r\n\r\n`,
    expect: 400,
    note: "Parsers that skip the two bytes without checking read 'X0' as the next line. nginx 400; Envoy 400.",
  },
  {
    name: "chunk data longer than its size",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n3\r\nhello\r\n0\r\n\r\n`,
    expect: 400,
    note: "nginx 400; Envoy 400.",
  },
  {
    name: "obs-fold in a trailer",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX-T: 1\r\n 2\r\n\r\n`,
    expect: 400,
    note: "Trailers are field lines (RFC 9112 §7.1.2). nginx discards trailers; Envoy 400.",
  },
  {
    name: "invalid trailer name",
    input: `POST / HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n0\r\nX T: 1\r\n\r\n`,
    expect: 400,
    note: "nginx discards trailers; Envoy 400.",
  },

  // ── Limits ───────────────────────────────────────────────────────────────────────────────────────
  {
    name: "header section over 60 KiB",
    input: `GET / HTTP/1.1\r\n${H}X-Big: ${"a".repeat(62 * 1024)}\r\n\r\n`,
    expect: 431,
    note: "nginx 400 'Request Header Or Cookie Too Large' (large_client_header_buffers 8k); Envoy 431.",
  },
  {
    name: "101 header fields",
    input: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 100 }, (_, i) => `X-H${i}: ${i}\r\n`).join("")}\r\n`,
    expect: 431,
    note: "nginx has no count limit (accepts); Envoy 431 (max_headers_count 100).",
  },
];
