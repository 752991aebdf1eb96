/**
 * Encoders for HTTP/1.1 heads and chunk framing.
 *
 * @module
 */

import { TOKEN } from "./_tables.ts";

const encoder = new TextEncoder();

const STATUS_TEXT: Readonly<Record<number, string>> = {
  100: "Continue",
  101: "Switching Protocols",
  102: "Processing",
  103: "Early Hints",
  200: "OK",
  201: "Created",
  202: "Accepted",
  203: "Non-Authoritative Information",
  204: "No Content",
  205: "Reset Content",
  206: "Partial Content",
  207: "Multi-Status",
  208: "Already Reported",
  226: "IM Used",
  300: "Multiple Choices",
  301: "Moved Permanently",
  302: "Found",
  303: "See Other",
  304: "Not Modified",
  305: "Use Proxy",
  307: "Temporary Redirect",
  308: "Permanent Redirect",
  400: "Bad Request",
  401: "Unauthorized",
  402: "Payment Required",
  403: "Forbidden",
  404: "Not Found",
  405: "Method Not Allowed",
  406: "Not Acceptable",
  407: "Proxy Authentication Required",
  408: "Request Timeout",
  409: "Conflict",
  410: "Gone",
  411: "Length Required",
  412: "Precondition Failed",
  413: "Content Too Large",
  414: "URI Too Long",
  415: "Unsupported Media Type",
  416: "Range Not Satisfiable",
  417: "Expectation Failed",
  418: "I'm a teapot",
  421: "Misdirected Request",
  422: "Unprocessable Content",
  423: "Locked",
  424: "Failed Dependency",
  425: "Too Early",
  426: "Upgrade Required",
  428: "Precondition Required",
  429: "Too Many Requests",
  431: "Request Header Fields Too Large",
  451: "Unavailable For Legal Reasons",
  500: "Internal Server Error",
  501: "Not Implemented",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
  505: "HTTP Version Not Supported",
  506: "Variant Also Negotiates",
  507: "Insufficient Storage",
  508: "Loop Detected",
  510: "Not Extended",
  511: "Network Authentication Required",
};

/**
 * The reason phrase registered for a status code (RFC 9110 §15), or `""` for an unregistered code.
 *
 * @example Reason phrases
 * ```ts
 * import { statusText } from "./encode.ts";
 *
 * console.log(statusText(404), statusText(431)); // "Not Found" "Request Header Fields Too Large"
 * ```
 */
export function statusText(code: number): string {
  return STATUS_TEXT[code] ?? "";
}

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 127 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** Appends `name: value\r\n` lines to `head`, refusing anything that could split the message. */
function appendFields(head: string, headers: readonly string[]): string {
  if (headers.length % 2 !== 0) {
    throw new TypeError(`Cannot encode head: the header list has an odd length (${headers.length})`);
  }
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    const value = headers[i + 1]!;
    if (!isToken(name)) throw new TypeError(`Cannot encode head: invalid header name ${JSON.stringify(name)}`);
    if (value.indexOf("\n") >= 0 || value.indexOf("\r") >= 0 || value.indexOf("\0") >= 0) {
      throw new TypeError(`Cannot encode head: the value of ${name} contains CR, LF or NUL`);
    }
    head += name + ": " + value + "\r\n";
  }
  return head + "\r\n";
}

/** Encodes a string whose characters are all ≤ U+00FF as one byte each. */
function encodeLatin1(s: string): Uint8Array {
  const utf8 = encoder.encode(s);
  if (utf8.length === s.length) return utf8; // all ASCII: UTF-8 is the same bytes
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) {
      throw new TypeError(`Cannot encode head: character U+${c.toString(16).toUpperCase().padStart(4, "0")} is not latin1`);
    }
    out[i] = c;
  }
  return out;
}

/**
 * Encodes an HTTP/1.1 request head: request line, fields (names written as given, in order), empty line.
 * Strings are written as latin1, as the parsers decode them, so parsed values round-trip byte for byte.
 * Throws a `TypeError` for a method or header name that is not a token, a target with whitespace or
 * controls, or a value containing CR, LF or NUL (header injection).
 *
 * @example Encode an upstream request
 * ```ts
 * import { encodeRequestHead } from "./encode.ts";
 *
 * const bytes = encodeRequestHead("GET", "/a?b=1", ["host", "example.com", "x-forwarded-for", "10.0.0.1"]);
 * console.log(new TextDecoder().decode(bytes));
 * // "GET /a?b=1 HTTP/1.1\r\nhost: example.com\r\nx-forwarded-for: 10.0.0.1\r\n\r\n"
 * ```
 */
export function encodeRequestHead(method: string, target: string, headers: readonly string[]): Uint8Array {
  if (!isToken(method)) throw new TypeError(`Cannot encode head: invalid method ${JSON.stringify(method)}`);
  for (let i = 0; i < target.length; i++) {
    const c = target.charCodeAt(i);
    if (c <= 0x20 || c === 0x7f) {
      throw new TypeError(`Cannot encode head: invalid request-target ${JSON.stringify(target)}`);
    }
  }
  if (target.length === 0) throw new TypeError("Cannot encode head: empty request-target");
  return encodeLatin1(appendFields(method + " " + target + " HTTP/1.1\r\n", headers));
}

/**
 * Encodes an HTTP/1.1 response head: status line, fields (names written as given, in order), empty line.
 * Throws a `TypeError` for a status outside 100–999, a reason with CR/LF/controls, an invalid header
 * name or a value containing CR, LF or NUL.
 *
 * @example Encode a local reply
 * ```ts
 * import { encodeResponseHead, statusText } from "./encode.ts";
 *
 * const bytes = encodeResponseHead(404, statusText(404), ["content-length", "0"]);
 * console.log(new TextDecoder().decode(bytes)); // "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\n\r\n"
 * ```
 */
export function encodeResponseHead(status: number, reason: string, headers: readonly string[]): Uint8Array {
  if (!Number.isInteger(status) || status < 100 || status > 999) {
    throw new TypeError(`Cannot encode head: invalid status ${status}`);
  }
  for (let i = 0; i < reason.length; i++) {
    const c = reason.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) {
      throw new TypeError(`Cannot encode head: invalid reason phrase ${JSON.stringify(reason)}`);
    }
  }
  return encodeLatin1(appendFields("HTTP/1.1 " + status + " " + reason + "\r\n", headers));
}

/** The CRLF that ends every chunk's data (shared: never write into it). */
export const CHUNK_END: Uint8Array = new Uint8Array([0x0d, 0x0a]);
/** The last chunk with an empty trailer section, `0\r\n\r\n` (shared: never write into it). */
export const LAST_CHUNK: Uint8Array = new Uint8Array([0x30, 0x0d, 0x0a, 0x0d, 0x0a]);

/**
 * Encodes the size line of a chunk of `size` bytes (`size` in hex, CRLF). The data and {@linkcode CHUNK_END}
 * follow it; a chunk of size 0 is the last chunk (use {@linkcode LAST_CHUNK}).
 *
 * @example Write a chunk without copying its data
 * ```ts
 * import { CHUNK_END, encodeChunkHeader } from "./encode.ts";
 *
 * const data = new TextEncoder().encode("hello");
 * const parts = [encodeChunkHeader(data.length), data, CHUNK_END]; // "5\r\n", "hello", "\r\n"
 * ```
 */
export function encodeChunkHeader(size: number): Uint8Array {
  if (!Number.isSafeInteger(size) || size < 0) {
    throw new RangeError(`Cannot encode chunk: size ${size} is not a non-negative safe integer`);
  }
  return encoder.encode(size.toString(16) + "\r\n");
}

/**
 * Encodes one whole chunk (size line, data, CRLF) in a new buffer; for an empty `data` it returns the
 * last chunk `0\r\n\r\n`.
 *
 * @example Encode a chunk
 * ```ts
 * import { encodeChunk } from "./encode.ts";
 *
 * const chunk = encodeChunk(new TextEncoder().encode("hello"));
 * console.log(new TextDecoder().decode(chunk)); // "5\r\nhello\r\n"
 * ```
 */
export function encodeChunk(data: Uint8Array): Uint8Array {
  if (data.length === 0) return LAST_CHUNK.slice();
  const header = encodeChunkHeader(data.length);
  const out = new Uint8Array(header.length + data.length + 2);
  out.set(header, 0);
  out.set(data, header.length);
  out[out.length - 2] = 0x0d;
  out[out.length - 1] = 0x0a;
  return out;
}
