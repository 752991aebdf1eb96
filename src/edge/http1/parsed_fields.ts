/**
 * The header fields of the head this thread parsed last, as offsets into the bytes it was parsed
 * from. A proxy forwards fields from them byte for byte, without decoding each name and value to a
 * string and encoding it back (`parseResponseHead(…, { decodeFields: false })`).
 *
 * Read them right after a parse returns `ok`, before any other parse on this thread: every parse
 * overwrites them, even one that fails or needs more bytes. Parsing is synchronous, so nothing can
 * come in between.
 * Values are trimmed of surrounding whitespace; every byte was validated by the parse.
 *
 * @example Forward a response head's fields, lower-cased, without `Connection`
 * ```ts
 * import { parsedFields, parseResponseHead } from "./mod.ts";
 *
 * const bytes = new TextEncoder().encode("HTTP/1.1 200 OK\r\nX-Id: 7\r\nConnection: close\r\n\r\n");
 * const r = parseResponseHead(bytes, "GET", { maxHeadBytes: 8192, maxHeaders: 100 }, { decodeFields: false });
 * if (r.status === "ok") {
 *   for (let i = 0; i < parsedFields.count; i++) {
 *     if (parsedFields.knownName(i) === "connection") continue;
 *     const name = new TextDecoder().decode(bytes.subarray(parsedFields.nameStart(i), parsedFields.nameEnd(i)));
 *     console.log(name, parsedFields.nameHasUpperCase(i)); // "X-Id" true
 *   }
 * }
 * ```
 *
 * @module
 */

import { FIELD_STRIDE, scan } from "./_fields.ts";
import { KNOWN_NAMES } from "./_names.ts";
import { latin1 } from "./_tables.ts";

/** Offsets of the fields of the last parsed head (see the module doc for how long they hold). */
export const parsedFields = {
  /** How many fields the head had. */
  get count(): number {
    return scan.count;
  },
  /** Where field `i`'s name starts. */
  nameStart(i: number): number {
    return scan.f[i * FIELD_STRIDE]!;
  },
  /** Where field `i`'s name ends (the colon). */
  nameEnd(i: number): number {
    return scan.f[i * FIELD_STRIDE + 1]!;
  },
  /** Where field `i`'s value starts, after leading whitespace. */
  valueStart(i: number): number {
    return scan.f[i * FIELD_STRIDE + 2]!;
  },
  /** Where field `i`'s value ends, before trailing whitespace. */
  valueEnd(i: number): number {
    return scan.f[i * FIELD_STRIDE + 3]!;
  },
  /** Whether field `i`'s name has upper-case letters. */
  nameHasUpperCase(i: number): boolean {
    return scan.f[i * FIELD_STRIDE + 5] !== 0;
  },
  /**
   * Field `i`'s name, lower-cased, when it is one of the codec's interned common names (the framing
   * and hop-by-hop fields among them), else null; found without decoding anything.
   */
  knownName(i: number): string | null {
    const id = scan.f[i * FIELD_STRIDE + 4]!;
    return id >= 0 ? KNOWN_NAMES[id]! : null;
  },
  /** Field `i`'s name, lower-cased, decoded from `bytes` (the head's bytes) when it is not a known one. */
  name(i: number, bytes: Uint8Array): string {
    const o = i * FIELD_STRIDE;
    const id = scan.f[o + 4]!;
    return id >= 0 ? KNOWN_NAMES[id]! : latin1(bytes, scan.f[o]!, scan.f[o + 1]!).toLowerCase();
  },
};
