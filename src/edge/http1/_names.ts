/**
 * Interned lower-case names of common header fields (private).
 *
 * After scanning a field name the parser calls {@linkcode lookupName}, which hashes the length and three
 * lower-cased bytes (first, middle, last), probes a small open-addressed table and compares the bytes, so
 * it finds the interned string without slicing or lower-casing; its index doubles as an id for the
 * fields the codec interprets. `toLowerCase()` on a fresh slice costs 40–60 ns per name on Deno and Bun,
 * and hashing every name byte cost more than the probe saved.
 *
 * @module
 */

import { LOWER } from "./_tables.ts";

/** Ids of the fields the codec interprets: their index in {@linkcode KNOWN_NAMES}. */
export const ID_HOST = 0;
export const ID_CONTENT_LENGTH = 1;
export const ID_TRANSFER_ENCODING = 2;
export const ID_CONNECTION = 3;
export const ID_EXPECT = 4;
export const ID_UPGRADE = 5;
/** Not interpreted by the codec, but collected for the proxy (it decides the trusted client address). */
export const ID_FORWARDED_FOR = 6;

/** Lower-case names, the ones with ids first (their order matches the ids above). */
export const KNOWN_NAMES: readonly string[] = [
  "host",
  "content-length",
  "transfer-encoding",
  "connection",
  "expect",
  "upgrade",
  "x-forwarded-for",
  "te",
  "trailer",
  "keep-alive",
  "proxy-connection",
  "user-agent",
  "accept",
  "accept-encoding",
  "accept-language",
  "accept-charset",
  "accept-ranges",
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "content-type",
  "content-encoding",
  "content-language",
  "content-disposition",
  "content-range",
  "content-location",
  "content-security-policy",
  "cache-control",
  "pragma",
  "referer",
  "origin",
  "if-modified-since",
  "if-none-match",
  "if-match",
  "if-range",
  "if-unmodified-since",
  "range",
  "date",
  "server",
  "location",
  "etag",
  "last-modified",
  "expires",
  "age",
  "vary",
  "via",
  "forwarded",
  "x-forwarded-proto",
  "x-forwarded-host",
  "x-forwarded-port",
  "x-real-ip",
  "x-request-id",
  "x-requested-with",
  "x-envoy-original-path",
  "x-envoy-upstream-service-time",
  "x-amzn-trace-id",
  "traceparent",
  "tracestate",
  "baggage",
  "x-b3-traceid",
  "x-b3-spanid",
  "x-b3-parentspanid",
  "x-b3-sampled",
  "b3",
  "dnt",
  "priority",
  "upgrade-insecure-requests",
  "sec-fetch-site",
  "sec-fetch-mode",
  "sec-fetch-dest",
  "sec-fetch-user",
  "sec-ch-ua",
  "sec-ch-ua-mobile",
  "sec-ch-ua-platform",
  "sec-websocket-key",
  "sec-websocket-version",
  "sec-websocket-extensions",
  "sec-websocket-protocol",
  "sec-websocket-accept",
  "access-control-allow-origin",
  "access-control-allow-credentials",
  "access-control-allow-headers",
  "access-control-allow-methods",
  "access-control-expose-headers",
  "access-control-max-age",
  "access-control-request-headers",
  "access-control-request-method",
  "strict-transport-security",
  "www-authenticate",
  "proxy-authenticate",
  "x-content-type-options",
  "x-frame-options",
  "x-xss-protection",
  "referrer-policy",
  "permissions-policy",
  "alt-svc",
  "link",
  "retry-after",
  "server-timing",
  "timing-allow-origin",
  "early-data",
  "x-csrf-token",
  "grpc-timeout",
  "grpc-encoding",
  "grpc-accept-encoding",
  "grpc-status",
  "grpc-message",
];

const TABLE_BITS = 10;
const TABLE_MASK = (1 << TABLE_BITS) - 1;
/** Open-addressed table of `index + 1` into KNOWN_NAMES (0 = empty slot). */
const TABLE = new Int16Array(1 << TABLE_BITS);

function slotOf(len: number, first: number, middle: number, last: number): number {
  const h = Math.imul(len, 0x9e3779b1) ^ Math.imul(first, 0x85ebca6b) ^ Math.imul(middle, 0xc2b2ae35) ^
    Math.imul(last, 0x27d4eb2f);
  return (h ^ (h >>> 15)) & TABLE_MASK;
}

for (let k = 0; k < KNOWN_NAMES.length; k++) {
  const name = KNOWN_NAMES[k]!;
  const n = name.length;
  let slot = slotOf(n, name.charCodeAt(0), name.charCodeAt(n >> 1), name.charCodeAt(n - 1));
  while (TABLE[slot] !== 0) slot = (slot + 1) & TABLE_MASK;
  TABLE[slot] = k + 1;
}

/**
 * Finds the known name equal, ignoring ASCII case, to the non-empty `buf[start, end)`. Returns its index
 * in {@linkcode KNOWN_NAMES}, or -1.
 */
export function lookupName(buf: Uint8Array, start: number, end: number): number {
  const len = end - start;
  let slot = slotOf(len, LOWER[buf[start]!]!, LOWER[buf[start + (len >> 1)]!]!, LOWER[buf[end - 1]!]!);
  for (;;) {
    const entry = TABLE[slot]!;
    if (entry === 0) return -1;
    const name = KNOWN_NAMES[entry - 1]!;
    if (name.length === len) {
      let i = 0;
      while (i < len && LOWER[buf[start + i]!] === name.charCodeAt(i)) i++;
      if (i === len) return entry - 1;
    }
    slot = (slot + 1) & TABLE_MASK;
  }
}
