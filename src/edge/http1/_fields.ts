/**
 * The header-section scanner shared by the request and response parsers, plus helpers interpreting a few
 * fields (private).
 *
 * {@linkcode scanFields} validates `field-line CRLF … CRLF` in one pass and records offsets in a
 * module-level scratch area, so a parse allocates nothing until it builds the result. Parsing is
 * synchronous, so one scratch area per thread is enough.
 *
 * @module
 */

import { KNOWN_NAMES, lookupName } from "./_names.ts";
import { COLON, CR, FIELD_VALUE, HTAB, latin1, LF, LOWER, SP, TOKEN } from "./_tables.ts";

/** More bytes are needed. */
export const FIELDS_INCOMPLETE = -1;
/** The section is malformed; {@linkcode scan}.reason says why. */
export const FIELDS_ERROR = -2;
/** More than `maxFields` fields. */
export const FIELDS_TOO_MANY = -3;

/** Per field: name start, name end, value start, value end (trimmed), known-name id or -1, has upper case. */
export const FIELD_STRIDE = 6;

/** Scratch written by {@linkcode scanFields}. */
export const scan = {
  count: 0,
  reason: "",
  f: new Int32Array(FIELD_STRIDE * 128),
};

function fail(reason: string): number {
  scan.reason = reason;
  return FIELDS_ERROR;
}

/**
 * Scans header fields from `buf[i]` up to `limit` until the empty line that ends the section.
 * Returns the index just past that final CRLF, or one of the negative `FIELDS_*` codes.
 */
export function scanFields(buf: Uint8Array, i: number, limit: number, maxFields: number): number {
  let f = scan.f;
  let count = 0;
  for (;;) {
    if (i >= limit) return FIELDS_INCOMPLETE;
    let c = buf[i]!;
    if (c === CR) {
      if (i + 1 >= limit) return FIELDS_INCOMPLETE;
      if (buf[i + 1] !== LF) return fail("Bare CR in the header section");
      scan.count = count;
      return i + 2;
    }
    if (c === LF) return fail("Bare LF in the header section");
    if (c === SP || c === HTAB) {
      return fail(
        count === 0
          ? "Whitespace between the start line and the first header field"
          : "Obsolete line folding (obs-fold) in the header section",
      );
    }
    if (count === maxFields) return FIELDS_TOO_MANY;
    // field-name = token, followed directly by ":" (RFC 9112 §5.1: no whitespace before the colon).
    const ns = i;
    let upper = 0;
    let t = TOKEN[c]!;
    while (t !== 0) {
      upper |= t;
      if (++i >= limit) return FIELDS_INCOMPLETE;
      c = buf[i]!;
      t = TOKEN[c]!;
    }
    if (c !== COLON) {
      if (c === SP || c === HTAB) return fail("Whitespace between a field name and the colon");
      if (c === CR || c === LF) return fail("Header field line without a colon");
      return fail("Invalid character in a field name");
    }
    if (i === ns) return fail("Empty field name");
    const ne = i++;
    while (i < limit && ((c = buf[i]!) === SP || c === HTAB)) i++;
    const vs = i;
    for (; i < limit; i++) if (FIELD_VALUE[buf[i]!] === 0) break;
    if (i >= limit) return FIELDS_INCOMPLETE;
    c = buf[i]!;
    if (c !== CR) {
      return fail(c === LF ? "Bare LF in the header section" : "Invalid character in a field value");
    }
    if (i + 1 >= limit) return FIELDS_INCOMPLETE;
    if (buf[i + 1] !== LF) return fail("Bare CR in the header section");
    let ve = i;
    while (ve > vs && ((c = buf[ve - 1]!) === SP || c === HTAB)) ve--;
    const o = count * FIELD_STRIDE;
    if (o + FIELD_STRIDE > f.length) {
      const grown = new Int32Array(f.length * 2);
      grown.set(f);
      scan.f = f = grown;
    }
    f[o] = ns;
    f[o + 1] = ne;
    f[o + 2] = vs;
    f[o + 3] = ve;
    f[o + 4] = lookupName(buf, ns, ne);
    f[o + 5] = upper & 2;
    count++;
    i += 2;
  }
}

/** `Connection` option flags. */
export const CONN_CLOSE = 1;
export const CONN_KEEP_ALIVE = 2;
export const CONN_UPGRADE = 4;
/** An option other than close, keep-alive and upgrade: a field the sender nominated as hop-by-hop. */
export const CONN_NOMINATES = 8;
/** The bits of {@linkcode connectionFlags}' answer that are flags. */
export const CONN_FLAGS = 15;
/** {@linkcode connectionFlags}' answer shifted right by this many bits is the number of options read. */
export const CONN_OPTIONS_SHIFT = 4;

/**
 * Reads the comma-separated `Connection` options in `buf[s, e)` (case-insensitive): the `CONN_*`
 * flags in the low bits ({@linkcode CONN_FLAGS}), the number of options above them
 * ({@linkcode CONN_OPTIONS_SHIFT}), so a caller can count them without a second pass.
 */
export function connectionFlags(buf: Uint8Array, s: number, e: number): number {
  let flags = 0;
  let options = 0;
  let i = s;
  while (i < e) {
    let c = buf[i]!;
    while (i < e && ((c = buf[i]!) === SP || c === HTAB || c === 0x2c)) i++;
    const ts = i;
    while (i < e && buf[i] !== 0x2c) i++;
    let te = i;
    while (te > ts && ((c = buf[te - 1]!) === SP || c === HTAB)) te--;
    const n = te - ts;
    if (n > 0) options++;
    if (n === 5 && isToken(buf, ts, "close")) flags |= CONN_CLOSE;
    else if (n === 10 && isToken(buf, ts, "keep-alive")) flags |= CONN_KEEP_ALIVE;
    else if (n === 7 && isToken(buf, ts, "upgrade")) flags |= CONN_UPGRADE;
    else if (n > 0) flags |= CONN_NOMINATES;
  }
  return flags + options * (1 << CONN_OPTIONS_SHIFT);
}

/**
 * `Connection` options never taken as nominated fields: `close` names none; `keep-alive` and
 * `upgrade` are read as flags, and an upgrade's `Upgrade` field must reach the next hop; the framing
 * fields frame the body weft relays as it arrived, so dropping them made the next hop read that
 * body as another message (request smuggling, or a response running to the connection's end).
 */
const NEVER_NOMINATED: ReadonlySet<string> = new Set(["close", "keep-alive", "upgrade", "content-length", "transfer-encoding"]);

/**
 * The fields among the last scanned ones that a `Connection` field nominates (RFC 9110 §7.6.1):
 * hop-by-hop, not to forward. Lower-cased, each once, null when none. Only names the head's own
 * fields carry are listed, so the list is never longer than the head's fields and building it is
 * linear however many options `Connection` lists. Only called when {@linkcode connectionFlags}
 * saw {@linkcode CONN_NOMINATES}, so a message without such options never pays for it.
 */
export function nominatedFields(buf: Uint8Array, connectionId: number): string[] | null {
  const f = scan.f;
  const count = scan.count;
  const present = new Set<string>();
  for (let k = 0; k < count; k++) {
    const o = k * FIELD_STRIDE;
    const id = f[o + 4]!;
    if (id !== connectionId) present.add(id >= 0 ? KNOWN_NAMES[id]! : latin1(buf, f[o]!, f[o + 1]!).toLowerCase());
  }
  let names: string[] | null = null;
  for (let k = 0; k < count; k++) {
    const o = k * FIELD_STRIDE;
    if (f[o + 4] !== connectionId) continue;
    for (const option of latin1(buf, f[o + 2]!, f[o + 3]!).split(",")) {
      const name = option.trim().toLowerCase();
      // Deleting from `present` also lists a name nominated twice only once.
      if (NEVER_NOMINATED.has(name) || !present.delete(name)) continue;
      (names ??= []).push(name);
    }
  }
  return names;
}

/** Envoy's codec refuses a request whose `Connection` lists this many options or more. */
export const MAX_CONNECTION_OPTIONS = 10;

/**
 * The first option of the last scanned `Connection` fields that Envoy's codec refuses to see
 * nominated (`Utility::sanitizeConnectionHeader`): an `X-Forwarded-For` / `-Host` / `-Proto` field,
 * whose removal could hide who the client is, or a pseudo-header (`:…`); null when none.
 */
export function refusedNomination(buf: Uint8Array, connectionId: number): string | null {
  const f = scan.f;
  for (let k = 0; k < scan.count; k++) {
    const o = k * FIELD_STRIDE;
    if (f[o + 4] !== connectionId) continue;
    for (const option of latin1(buf, f[o + 2]!, f[o + 3]!).split(",")) {
      const name = option.trim().toLowerCase();
      if (name === "x-forwarded-for" || name === "x-forwarded-host" || name === "x-forwarded-proto" || name.charCodeAt(0) === COLON) {
        return name;
      }
    }
  }
  return null;
}

function isToken(buf: Uint8Array, s: number, lower: string): boolean {
  for (let k = 0; k < lower.length; k++) if (LOWER[buf[s + k]!] !== lower.charCodeAt(k)) return false;
  return true;
}

/** `Transfer-Encoding` is exactly `chunked`. */
export const TE_CHUNKED = 0;
/** Codings ending in `chunked` (e.g. `gzip, chunked`): chunked framing of an unsupported coding. */
export const TE_CHUNKED_AFTER_OTHERS = 1;
/** Well-formed, but `chunked` is not the final coding (e.g. `identity`, `chunked, gzip`). */
export const TE_NOT_CHUNKED_LAST = 2;
/** Malformed: empty elements, non-token names, `chunked` twice or with parameters. */
export const TE_INVALID = 3;

/** Classifies a trimmed `Transfer-Encoding` value (RFC 9112 §6.1, §7). Not on the hot path. */
export function classifyTransferEncoding(value: string): number {
  const parts = value.split(",");
  let chunkedAt = -1;
  for (let p = 0; p < parts.length; p++) {
    let part = parts[p]!;
    let a = 0;
    let b = part.length;
    while (a < b && isOws(part.charCodeAt(a))) a++;
    while (b > a && isOws(part.charCodeAt(b - 1))) b--;
    part = part.slice(a, b);
    const semi = part.indexOf(";");
    let name = semi < 0 ? part : part.slice(0, semi);
    let e = name.length;
    while (e > 0 && isOws(name.charCodeAt(e - 1))) e--;
    name = name.slice(0, e);
    if (name.length === 0) return TE_INVALID;
    for (let k = 0; k < name.length; k++) {
      const c = name.charCodeAt(k);
      if (c > 255 || TOKEN[c] === 0) return TE_INVALID;
    }
    if (name.toLowerCase() === "chunked") {
      if (chunkedAt >= 0 || semi >= 0) return TE_INVALID;
      chunkedAt = p;
    }
  }
  if (chunkedAt !== parts.length - 1) return TE_NOT_CHUNKED_LAST;
  return parts.length === 1 ? TE_CHUNKED : TE_CHUNKED_AFTER_OTHERS;
}

function isOws(c: number): boolean {
  return c === SP || c === HTAB;
}
