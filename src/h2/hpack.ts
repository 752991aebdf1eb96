/**
 * HPACK (RFC 7541) header compression for HTTP/2: a strict decoder with the static and dynamic
 * tables, and a minimal encoder that needs no state.
 *
 * The decoder keeps one dynamic table per connection direction, so a single `HpackDecoder` must
 * see every header block the peer sends, in order. Any malformed block throws `HpackError`, which
 * the caller turns into a connection error of type COMPRESSION_ERROR (RFC 9113 §4.3). A header
 * list over `maxHeaderListSize` throws `HeaderListTooLargeError` (also an `HpackError`) only after
 * the whole block was processed, so the dynamic table is still in sync if the caller chooses to
 * reset just the stream instead.
 *
 * The encoder writes every field as a "literal header field without indexing" with raw strings,
 * so it never inserts into the peer's dynamic table and never has to signal a table size.
 *
 * Names and values are octet strings: they are decoded one byte to one char (latin1), and encoded
 * one char to one byte.
 *
 * @example
 * ```ts
 * const enc = new HpackEncoder();
 * const block = enc.encode([[":method", "CONNECT"], [":authority", "127.0.1.3:8080"]]);
 * const dec = new HpackDecoder({ maxHeaderListSize: 16 << 10 });
 * dec.decode(block); // [[":method", "CONNECT"], [":authority", "127.0.1.3:8080"]]
 * ```
 *
 * @module
 */

import { HpackError, huffmanDecode, latin1 } from "./huffman.ts";

export { HpackError };

/** A decoded header list in wire order; names are as received (HTTP/2 requires lowercase; the caller checks). */
export type HeaderList = [name: string, value: string][];

/** The decoded header list exceeded `maxHeaderListSize`; the block itself was well-formed and fully processed. */
export class HeaderListTooLargeError extends HpackError {
  constructor(readonly size: number, readonly limit: number) {
    super(`hpack: header list size exceeds ${limit} octets (name + value + 32 per field)`);
    this.name = "HeaderListTooLargeError";
  }
}

/** The static table, RFC 7541 Appendix A; index i is `STATIC_TABLE[i - 1]`. */
export const STATIC_TABLE: readonly (readonly [name: string, value: string])[] = [
  [":authority", ""],
  [":method", "GET"],
  [":method", "POST"],
  [":path", "/"],
  [":path", "/index.html"],
  [":scheme", "http"],
  [":scheme", "https"],
  [":status", "200"],
  [":status", "204"],
  [":status", "206"],
  [":status", "304"],
  [":status", "400"],
  [":status", "404"],
  [":status", "500"],
  ["accept-charset", ""],
  ["accept-encoding", "gzip, deflate"],
  ["accept-language", ""],
  ["accept-ranges", ""],
  ["accept", ""],
  ["access-control-allow-origin", ""],
  ["age", ""],
  ["allow", ""],
  ["authorization", ""],
  ["cache-control", ""],
  ["content-disposition", ""],
  ["content-encoding", ""],
  ["content-language", ""],
  ["content-length", ""],
  ["content-location", ""],
  ["content-range", ""],
  ["content-type", ""],
  ["cookie", ""],
  ["date", ""],
  ["etag", ""],
  ["expect", ""],
  ["expires", ""],
  ["from", ""],
  ["host", ""],
  ["if-match", ""],
  ["if-modified-since", ""],
  ["if-none-match", ""],
  ["if-range", ""],
  ["if-unmodified-since", ""],
  ["last-modified", ""],
  ["link", ""],
  ["location", ""],
  ["max-forwards", ""],
  ["proxy-authenticate", ""],
  ["proxy-authorization", ""],
  ["range", ""],
  ["referer", ""],
  ["refresh", ""],
  ["retry-after", ""],
  ["server", ""],
  ["set-cookie", ""],
  ["strict-transport-security", ""],
  ["transfer-encoding", ""],
  ["user-agent", ""],
  ["vary", ""],
  ["via", ""],
  ["www-authenticate", ""],
];
const STATIC_LEN = STATIC_TABLE.length;

/** Name → lowest static index with that name, for the encoder. */
const STATIC_NAME_INDEX = new Map<string, number>();
for (let i = STATIC_LEN; i >= 1; i--) STATIC_NAME_INDEX.set(STATIC_TABLE[i - 1]![0], i);

/** Per-entry overhead in table and header list sizes (RFC 7541 §4.1, RFC 9113 §6.5.2). */
const ENTRY_OVERHEAD = 32;
/** Largest integer the decoder accepts; anything larger is an attack or garbage. */
const MAX_INT = 0x7fffffff;
const EMPTY = new Uint8Array(0);

export interface HpackDecoderOptions {
  /** Our SETTINGS_HEADER_TABLE_SIZE: the largest dynamic table the peer may ask for. Default 4096. */
  maxTableSize?: number;
  /** Largest decoded header list, counted as name + value + 32 per field (RFC 9113 §6.5.2). Default 64 KiB. */
  maxHeaderListSize?: number;
}

/** Decodes the header blocks of one direction of one HTTP/2 connection. */
export class HpackDecoder {
  readonly maxTableSize: number;
  readonly maxHeaderListSize: number;
  /** The table size in force: starts at `maxTableSize`, lowered or raised by size updates. */
  #capacity: number;
  #size = 0;
  // The dynamic table as a ring: #newest is the slot of dynamic index 1, older entries precede
  // it. Every entry takes at least 32 octets, so maxTableSize / 32 slots always suffice.
  #names: string[];
  #values: string[];
  #newest = 0;
  #count = 0;
  // The block being decoded, and the read position in it.
  #buf: Uint8Array = EMPTY;
  #pos = 0;

  constructor(opts: HpackDecoderOptions = {}) {
    this.maxTableSize = opts.maxTableSize ?? 4096;
    this.maxHeaderListSize = opts.maxHeaderListSize ?? 64 << 10;
    if (!(this.maxTableSize >= 0 && this.maxTableSize <= MAX_INT)) throw new RangeError("hpack: bad maxTableSize");
    this.#capacity = this.maxTableSize;
    const slots = Math.max(1, Math.floor(this.maxTableSize / ENTRY_OVERHEAD));
    this.#names = new Array<string>(slots).fill("");
    this.#values = new Array<string>(slots).fill("");
  }

  /** Current dynamic table size in octets (sum of name + value + 32 per entry). */
  get dynamicTableSize(): number {
    return this.#size;
  }

  /** Current dynamic table size limit, as last set by a size update (initially `maxTableSize`). */
  get dynamicTableCapacity(): number {
    return this.#capacity;
  }

  /** The dynamic table, newest first (HPACK index 62 first); for tests and diagnostics. */
  dynamicTableEntries(): HeaderList {
    const out: HeaderList = [];
    for (let i = 1; i <= this.#count; i++) {
      const slot = this.#slot(i);
      out.push([this.#names[slot]!, this.#values[slot]!]);
    }
    return out;
  }

  /** Decodes one complete header block (HEADERS + CONTINUATION payloads already joined). Throws HpackError. */
  decode(block: Uint8Array): HeaderList {
    this.#buf = block;
    this.#pos = 0;
    try {
      return this.#decode();
    } finally {
      this.#buf = EMPTY; // do not keep the caller's buffer alive
    }
  }

  #decode(): HeaderList {
    const buf = this.#buf;
    const end = buf.length;
    const out: HeaderList = [];
    const limit = this.maxHeaderListSize;
    let listSize = 0;
    let fieldSeen = false;
    while (this.#pos < end) {
      const b = buf[this.#pos]!;
      let name: string;
      let value: string;
      if (b & 0x80) {
        // Indexed header field (§6.1).
        const index = this.#int(7);
        if (index <= STATIC_LEN) {
          if (index === 0) throw new HpackError("hpack: index 0");
          [name, value] = STATIC_TABLE[index - 1]!;
        } else {
          const slot = this.#dynamicSlot(index);
          name = this.#names[slot]!;
          value = this.#values[slot]!;
        }
      } else if ((b & 0xe0) === 0x20) {
        // Dynamic table size update (§6.3): only before the first field of a block (§4.2).
        if (fieldSeen) throw new HpackError("hpack: dynamic table size update after a header field");
        const size = this.#int(5);
        if (size > this.maxTableSize) {
          throw new HpackError(`hpack: dynamic table size update to ${size} exceeds our limit of ${this.maxTableSize}`);
        }
        this.#capacity = size;
        this.#evictTo(size);
        continue;
      } else {
        // Literal header field: with incremental indexing (01, §6.2.1), or without indexing (0000,
        // §6.2.2) or never indexed (0001, §6.2.3), which decode the same way.
        const indexing = (b & 0xc0) === 0x40;
        const index = this.#int(indexing ? 6 : 4);
        if (index === 0) name = this.#string();
        else if (index <= STATIC_LEN) name = STATIC_TABLE[index - 1]![0];
        else name = this.#names[this.#dynamicSlot(index)]!;
        value = this.#string();
        if (indexing) this.#add(name, value);
      }
      fieldSeen = true;
      listSize += name.length + value.length + ENTRY_OVERHEAD;
      // Over the limit, keep decoding to keep the dynamic table in sync, but stop collecting.
      if (listSize <= limit) out.push([name, value]);
    }
    if (listSize > limit) throw new HeaderListTooLargeError(listSize, limit);
    return out;
  }

  /** Reads an integer with an n-bit prefix (§5.1) at the read position. */
  #int(n: number): number {
    const buf = this.#buf;
    let pos = this.#pos;
    if (pos >= buf.length) throw new HpackError("hpack: truncated integer");
    const mask = (1 << n) - 1;
    let v = buf[pos++]! & mask;
    if (v === mask) {
      let shift = 0;
      let b: number;
      do {
        if (pos >= buf.length) throw new HpackError("hpack: truncated integer");
        // Five continuation octets carry 35 bits, enough for MAX_INT; more is padding or abuse.
        if (shift > 28) throw new HpackError("hpack: integer encoding too long");
        b = buf[pos++]!;
        v += (b & 0x7f) * 2 ** shift; // not <<: that is 32-bit signed
        if (v > MAX_INT) throw new HpackError("hpack: integer overflow");
        shift += 7;
      } while (b & 0x80);
    }
    this.#pos = pos;
    return v;
  }

  /** Reads a string literal (§5.2) at the read position. */
  #string(): string {
    const buf = this.#buf;
    if (this.#pos >= buf.length) throw new HpackError("hpack: truncated string length");
    const huffman = buf[this.#pos]! & 0x80;
    const len = this.#int(7);
    const start = this.#pos;
    if (len > buf.length - start) throw new HpackError("hpack: string runs past the end of the block");
    this.#pos = start + len;
    return huffman ? huffmanDecode(buf, start, start + len) : latin1(buf, start, start + len);
  }

  /** Ring slot of dynamic-table index i (1 = newest). */
  #slot(i: number): number {
    const slots = this.#names.length;
    return (this.#newest - (i - 1) + slots) % slots;
  }

  /** Ring slot of an HPACK index known to be past the static table; throws when out of range. */
  #dynamicSlot(index: number): number {
    const i = index - STATIC_LEN;
    if (i > this.#count) {
      throw new HpackError(`hpack: index ${index} is beyond the table (${STATIC_LEN} static + ${this.#count} dynamic)`);
    }
    return this.#slot(i);
  }

  /** Inserts an entry, evicting the oldest as needed (§4.4). */
  #add(name: string, value: string): void {
    const size = name.length + value.length + ENTRY_OVERHEAD;
    if (size > this.#capacity) {
      // Not an error: an entry larger than the table empties it (§4.4).
      this.#evictTo(0);
      return;
    }
    this.#evictTo(this.#capacity - size);
    const slots = this.#names.length;
    this.#newest = (this.#newest + 1) % slots;
    this.#names[this.#newest] = name;
    this.#values[this.#newest] = value;
    this.#count++;
    this.#size += size;
  }

  /** Evicts the oldest entries until the table size is at most `target` (§4.3). */
  #evictTo(target: number): void {
    while (this.#size > target) {
      const slot = this.#slot(this.#count);
      this.#size -= this.#names[slot]!.length + this.#values[slot]!.length + ENTRY_OVERHEAD;
      this.#names[slot] = this.#values[slot] = ""; // release the strings
      this.#count--;
    }
  }
}

/** Octets needed for integer v with an n-bit prefix. */
function intLength(v: number, n: number): number {
  const mask = (1 << n) - 1;
  if (v < mask) return 1;
  let len = 2;
  for (v -= mask; v >= 128; v = Math.floor(v / 128)) len++;
  return len;
}

/** Writes integer v with an n-bit prefix whose first octet carries `high`; returns the new offset. */
function writeInt(out: Uint8Array, p: number, high: number, n: number, v: number): number {
  const mask = (1 << n) - 1;
  if (v < mask) {
    out[p++] = high | v;
    return p;
  }
  out[p++] = high | mask;
  for (v -= mask; v >= 128; v = Math.floor(v / 128)) out[p++] = (v % 128) | 0x80;
  out[p++] = v;
  return p;
}

/** Writes a raw (H = 0) string literal; returns the new offset. */
function writeString(out: Uint8Array, p: number, s: string): number {
  p = writeInt(out, p, 0, 7, s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) {
      throw new TypeError(`hpack: header ${JSON.stringify(s)} has a char above 0xff at ${i}; fields are octets`);
    }
    out[p++] = c;
  }
  return p;
}

/** Stateless encoder: see the module doc. Names should already be lowercase, as HTTP/2 requires. */
export class HpackEncoder {
  /**
   * Encodes fields as "literal header field without indexing" (RFC 7541 6.2.2), using a static-table
   * name index when the name is in the static table, else a literal name; strings raw (H=0), never
   * Huffman; never touches a dynamic table, so it never needs a table size update. Throws
   * `TypeError` for a char code above 0xff.
   */
  encode(fields: HeaderList): Uint8Array {
    let size = 0;
    for (const [name, value] of fields) {
      const index = STATIC_NAME_INDEX.get(name);
      size += index === undefined ? 1 + intLength(name.length, 7) + name.length : intLength(index, 4);
      size += intLength(value.length, 7) + value.length;
    }
    const out = new Uint8Array(size);
    let p = 0;
    for (const [name, value] of fields) {
      const index = STATIC_NAME_INDEX.get(name);
      if (index === undefined) {
        out[p++] = 0x00;
        p = writeString(out, p, name);
      } else {
        p = writeInt(out, p, 0x00, 4, index);
      }
      p = writeString(out, p, value);
    }
    return out;
  }
}
