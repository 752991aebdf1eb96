/**
 * Strict parser of HTTP/1.1 request heads (RFC 9112) for the downstream side of the proxy.
 *
 * @module
 */

import {
  classifyTransferEncoding,
  CONN_CLOSE,
  CONN_FLAGS,
  CONN_KEEP_ALIVE,
  CONN_NOMINATES,
  CONN_OPTIONS_SHIFT,
  CONN_UPGRADE,
  connectionFlags,
  FIELD_STRIDE,
  FIELDS_ERROR,
  FIELDS_INCOMPLETE,
  MAX_CONNECTION_OPTIONS,
  nominatedFields,
  refusedNomination,
  scan,
  scanFields,
  TE_CHUNKED,
  TE_CHUNKED_AFTER_OTHERS,
} from "./_fields.ts";
import {
  ID_CONNECTION,
  ID_CONTENT_LENGTH,
  ID_EXPECT,
  ID_FORWARDED_FOR,
  ID_HOST,
  ID_TRANSFER_ENCODING,
  ID_UPGRADE,
  KNOWN_NAMES,
} from "./_names.ts";
import {
  CR,
  equalsIgnoreCase,
  isValidAuthority,
  latin1,
  LF,
  parseDecimal,
  SP,
  TARGET,
  TOKEN,
} from "./_tables.ts";
import type { HeadLimits, HeadResult, RequestHead } from "./types.ts";

const INCOMPLETE: HeadResult<never> = Object.freeze({ status: "incomplete" });
const HTTP_SLASH = [0x48, 0x54, 0x54, 0x50, 0x2f]; // "HTTP/"
const QUESTION = 0x3f;
const SLASH = 0x2f;

type ErrorResult = Extract<HeadResult<never>, { status: "error" }>;

function error(code: ErrorResult["code"], reason: string): ErrorResult {
  return { status: "error", code, reason };
}

function bad(reason: string): ErrorResult {
  return { status: "error", code: 400, reason: `Cannot parse request head: ${reason}` };
}

/** The head is not complete within `limit` bytes: wait for more, or 431 once the limit is exceeded. */
function incomplete(buf: Uint8Array, maxHeadBytes: number): HeadResult<never> {
  return buf.length > maxHeadBytes
    ? error(431, `Cannot parse request head: it exceeds ${maxHeadBytes} bytes`)
    : INCOMPLETE;
}

/**
 * Parses the request head at the start of `buf`, which holds the bytes received so far for this message.
 *
 * Returns `incomplete` until the head's final CRLF CRLF has arrived, `ok` with the head (its `headBytes`
 * tell where the body starts), or `error` with the status to answer: 400 for anything malformed or
 * ambiguous (bare LF or CR, obs-fold, whitespace before a colon, invalid bytes, `Content-Length` together
 * with `Transfer-Encoding`, duplicate or non-decimal `Content-Length`, missing or repeated `Host`, …),
 * 431 when the head exceeds `limits.maxHeadBytes` or has more than `limits.maxHeaders` fields, 501 for a
 * transfer coding other than `chunked` applied before `chunked`, 505 for a well-formed version other than
 * HTTP/1.0 and HTTP/1.1. Errors are reported as soon as the offending bytes arrive.
 *
 * Decisions where RFC 9112 leaves a choice (the conformance table in test/http1/vectors.ts has one
 * vector for each, with what nginx and Envoy do):
 * - Empty lines (CRLF) before the request line are skipped (RFC 9112 §2.2 asks for at least one; llhttp
 *   and Envoy skip any number) and counted in `headBytes`; a bare LF or any other leading byte that
 *   cannot start a method is a 400.
 * - A method is any token, case-sensitive: `get` is accepted as a method distinct from `GET`; the origin
 *   decides whether it knows it.
 * - The request-target is visible ASCII without `#`; `http://` and `https://` absolute-form targets give
 *   `host` (the Host header is still required and must be valid), and an empty path reads as `/`.
 *   CONNECT needs `host:port` and may carry neither `Transfer-Encoding` nor a non-zero `Content-Length`.
 * - Host must be one valid RFC 3986 authority (no userinfo, port 1–5 digits ≤ 65535); empty is a 400.
 * - `Content-Length` is 1–15 digits (leading zeros allowed) and may appear once; `Content-Length: 0`
 *   gives `bodyKind` "length" with `contentLength` 0.
 * - `Transfer-Encoding` may appear once, never with `Content-Length` nor in HTTP/1.0, and must be
 *   `chunked` (case-insensitive, OWS trimmed); `chunked` preceded by other codings is 501, anything
 *   where `chunked` is not the final coding (`identity`, `chunked, gzip`) or malformed is 400.
 *
 * @example Parse a GET
 * ```ts
 * import { parseRequestHead } from "./request_head.ts";
 *
 * const bytes = new TextEncoder().encode("GET /a?b=1 HTTP/1.1\r\nHost: example.com\r\n\r\n");
 * const result = parseRequestHead(bytes, { maxHeadBytes: 60 * 1024, maxHeaders: 100 });
 * if (result.status === "ok") {
 *   console.log(result.head.path, result.head.query, result.head.host); // "/a" "?b=1" "example.com"
 * }
 * ```
 */
export function parseRequestHead(buf: Uint8Array, limits: HeadLimits): HeadResult<RequestHead> {
  const maxHeadBytes = limits.maxHeadBytes;
  const limit = buf.length < maxHeadBytes ? buf.length : maxHeadBytes;
  let i = 0;
  // Empty lines before the request line are skipped, as llhttp and Envoy do (RFC 9112 §2.2 asks
  // for at least one); they count in the head's size limit.
  while (i < limit && buf[i] === CR) {
    if (i + 1 >= limit) return incomplete(buf, maxHeadBytes);
    if (buf[i + 1] !== LF) return bad("bare CR before the request line");
    i += 2;
  }

  // method SP
  const ms = i;
  let c = 0;
  while (i < limit && TOKEN[(c = buf[i]!)] !== 0) i++;
  if (i >= limit) return incomplete(buf, maxHeadBytes);
  if (i === ms) {
    return bad(c === LF ? "bare LF before the request line" : "the request line does not start with a method");
  }
  if (c !== SP) return bad("invalid character in the method or after it");
  const me = i++;

  // request-target SP
  const ts = i;
  let q = -1;
  while (i < limit && TARGET[(c = buf[i]!)] !== 0) {
    if (c === QUESTION && q < 0) q = i;
    i++;
  }
  if (i >= limit) return incomplete(buf, maxHeadBytes);
  if (i === ts) return bad(c === SP ? "more than one space after the method" : "empty or invalid request-target");
  if (c !== SP) {
    return bad(
      c === CR || c === LF
        ? "the request line has no HTTP version (HTTP/0.9 is not supported)"
        : "invalid character in the request-target",
    );
  }
  const te = i++;

  // HTTP-version CRLF: "HTTP/" DIGIT "." DIGIT CR LF
  const vs = i;
  const avail = limit - vs < 10 ? limit - vs : 10;
  for (let k = 0; k < avail; k++) {
    const b = buf[vs + k]!;
    if (k < 5) {
      if (b !== HTTP_SLASH[k]) return bad("invalid HTTP version");
    } else if (k === 5 || k === 7) {
      if (b < 0x30 || b > 0x39) return bad("invalid HTTP version");
    } else if (k === 6) {
      if (b !== 0x2e) return bad("invalid HTTP version");
    } else if (k === 8) {
      if (b === LF) return bad("bare LF after the request line");
      if (b !== CR) return bad(b === SP ? "trailing whitespace in the request line" : "invalid HTTP version");
    } else if (b !== LF) return bad("bare CR after the request line");
  }
  if (avail < 10) return incomplete(buf, maxHeadBytes);
  const major = buf[vs + 5]! - 0x30;
  const minorDigit = buf[vs + 7]! - 0x30;
  if (major !== 1 || minorDigit > 1) {
    return error(505, `Cannot parse request head: HTTP/${major}.${minorDigit} is not supported`);
  }
  const minor = minorDigit as 0 | 1;

  const end = scanFields(buf, vs + 10, limit, limits.maxHeaders);
  if (end < 0) {
    if (end === FIELDS_INCOMPLETE) return incomplete(buf, maxHeadBytes);
    if (end === FIELDS_ERROR) return bad(scan.reason[0]!.toLowerCase() + scan.reason.slice(1));
    return error(431, `Cannot parse request head: it has more than ${limits.maxHeaders} header fields`);
  }

  // Everything below works on the validated head.
  const str = latin1(buf, 0, end);
  const method = str.slice(ms, me);
  const target = str.slice(ts, te);
  const count = scan.count;
  const f = scan.f;
  const headers: string[] = new Array(count * 2);
  let hostCount = 0;
  let hostHeader: string | null = null;
  let hostStart = 0;
  let hostEnd = 0;
  let clCount = 0;
  let contentLength = 0;
  let teCount = 0;
  let teValue = "";
  let teStart = 0;
  let teEnd = 0;
  let conn = 0;
  let connOptions = 0;
  let expectContinue = false;
  let upgradeValue: string | null = null;
  let forwardedFor: string | null = null;
  for (let k = 0; k < count; k++) {
    const o = k * FIELD_STRIDE;
    const vStart = f[o + 2]!;
    const vEnd = f[o + 3]!;
    const id = f[o + 4]!;
    const value = vStart === vEnd ? "" : str.slice(vStart, vEnd);
    if (id >= 0) {
      headers[2 * k] = KNOWN_NAMES[id]!;
      if (id <= ID_FORWARDED_FOR) {
        if (id === ID_HOST) {
          hostCount++;
          hostHeader = value;
          hostStart = vStart;
          hostEnd = vEnd;
        } else if (id === ID_CONTENT_LENGTH) {
          clCount++;
          contentLength = parseDecimal(buf, vStart, vEnd);
        } else if (id === ID_TRANSFER_ENCODING) {
          teCount++;
          teValue = value;
          teStart = vStart;
          teEnd = vEnd;
        } else if (id === ID_CONNECTION) {
          const options = connectionFlags(buf, vStart, vEnd);
          conn |= options & CONN_FLAGS;
          connOptions += options >>> CONN_OPTIONS_SHIFT;
        } else if (id === ID_EXPECT) {
          if (equalsIgnoreCase(buf, vStart, vEnd, "100-continue")) expectContinue = true;
        } else if (id === ID_UPGRADE) {
          upgradeValue = upgradeValue === null ? value : `${upgradeValue}, ${value}`;
        } else {
          // Joined as Envoy's header map joins repeats: ",", an empty value adds nothing.
          if (forwardedFor === null || forwardedFor === "") forwardedFor = value;
          else if (value !== "") forwardedFor = `${forwardedFor},${value}`;
        }
      }
    } else {
      const name = str.slice(f[o]!, f[o + 1]!);
      headers[2 * k] = f[o + 5] !== 0 ? name.toLowerCase() : name;
    }
    headers[2 * k + 1] = value;
  }

  // Request target forms (RFC 9112 §3.2).
  let path: string;
  let query = "";
  let host: string | null = null;
  const first = buf[ts]!;
  if (method === "CONNECT") {
    if (!isValidAuthority(buf, ts, te, true)) return bad("CONNECT needs an authority-form target (host:port)");
    path = target;
  } else if (first === SLASH) {
    if (q < 0) {
      path = target;
    } else {
      path = str.slice(ts, q);
      query = str.slice(q, te);
    }
  } else if (te - ts === 1 && first === 0x2a /* * */) {
    if (method !== "OPTIONS") return bad("the asterisk-form target is only allowed with OPTIONS");
    path = "*";
  } else {
    const schemeEnd = te - ts > 7 && equalsIgnoreCase(buf, ts, ts + 7, "http://")
      ? ts + 7
      : te - ts > 8 && equalsIgnoreCase(buf, ts, ts + 8, "https://")
      ? ts + 8
      : -1;
    if (schemeEnd < 0) return bad("invalid request-target (not origin-, absolute-, authority- or asterisk-form)");
    let ae = schemeEnd;
    while (ae < te && buf[ae] !== SLASH && buf[ae] !== QUESTION) ae++;
    if (!isValidAuthority(buf, schemeEnd, ae, false)) return bad("invalid authority in the absolute-form target");
    host = str.slice(schemeEnd, ae);
    const pathEnd = q < 0 ? te : q;
    path = ae < pathEnd ? str.slice(ae, pathEnd) : "/";
    if (q >= 0) query = str.slice(q, te);
  }

  // Host (RFC 9112 §3.2): exactly one in HTTP/1.1, at most one in HTTP/1.0, always a valid authority.
  if (hostCount > 1) return bad("more than one Host header field");
  if (hostHeader !== null) {
    if (!isValidAuthority(buf, hostStart, hostEnd, false)) return bad("the Host header field is not a valid authority");
    if (host === null) host = hostHeader;
  } else if (minor === 1) {
    return bad("HTTP/1.1 request without a Host header field");
  }

  // Framing (RFC 9112 §6.1–6.3).
  let bodyKind: RequestHead["bodyKind"] = "none";
  if (clCount > 1) return bad("more than one Content-Length header field");
  if (clCount === 1) {
    if (contentLength < 0) return bad("Content-Length is not 1 to 15 decimal digits");
    bodyKind = "length";
  }
  if (teCount > 0) {
    if (teCount > 1) return bad("more than one Transfer-Encoding header field");
    if (minor === 0) return bad("Transfer-Encoding in an HTTP/1.0 request");
    if (clCount > 0) return bad("both Content-Length and Transfer-Encoding");
    if (!equalsIgnoreCase(buf, teStart, teEnd, "chunked")) {
      const coding = classifyTransferEncoding(teValue);
      if (coding === TE_CHUNKED_AFTER_OTHERS) {
        return error(501, `Cannot parse request head: unsupported Transfer-Encoding "${teValue}"`);
      }
      if (coding !== TE_CHUNKED) return bad(`Transfer-Encoding "${teValue}" does not end in chunked`);
    }
    bodyKind = "chunked";
  }
  // A CONNECT request has no content (RFC 9110 §9.3.6): bytes after its head are tunnel data, so
  // framing headers would make a front-end and a back-end disagree on where the tunnel starts.
  if (method === "CONNECT" && (teCount > 0 || contentLength > 0)) {
    return bad("CONNECT request with Content-Length or Transfer-Encoding");
  }
  if (method === "CONNECT") bodyKind = "none";

  // Envoy's codec refuses a Connection that lists ten options or more, or nominates an
  // X-Forwarded-* field or a pseudo-header; it leaves an upgrade's (but h2c's) alone.
  if (connOptions >= MAX_CONNECTION_OPTIONS || (conn & CONN_NOMINATES) !== 0) {
    const upgrading = minor === 1 && (conn & CONN_UPGRADE) !== 0 && upgradeValue !== null && upgradeValue.toLowerCase() !== "h2c";
    if (!upgrading) {
      if (connOptions >= MAX_CONNECTION_OPTIONS) return bad(`Connection lists ${connOptions} options (at most ${MAX_CONNECTION_OPTIONS - 1})`);
      const refused = refusedNomination(buf, ID_CONNECTION);
      if (refused !== null) return bad(`Connection nominates ${refused}`);
    }
  }

  const keepAlive = minor === 1 ? (conn & CONN_CLOSE) === 0 : (conn & (CONN_KEEP_ALIVE | CONN_CLOSE)) === CONN_KEEP_ALIVE;
  return {
    status: "ok",
    head: {
      method,
      target,
      path,
      query,
      minor,
      headers,
      host,
      bodyKind,
      contentLength: bodyKind === "length" ? contentLength : 0,
      keepAlive,
      expectContinue: expectContinue && minor === 1,
      upgrade: minor === 1 && (conn & CONN_UPGRADE) !== 0 ? upgradeValue : null,
      connectionNominated: (conn & CONN_NOMINATES) !== 0 ? nominatedFields(buf, ID_CONNECTION) : null,
      forwardedFor,
      headBytes: end,
    },
  };
}
