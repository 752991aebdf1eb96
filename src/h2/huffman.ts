/**
 * The HPACK Huffman code (RFC 7541 §5.2, Appendix B) and a strict decoder for it.
 *
 * Decoding is a finite-state machine over nibbles, built once at module load from the code table:
 * each state is an internal node of the code tree, and each (state, nibble) entry gives the next
 * state, the symbol completed on the way (at most one, as the shortest code is 5 bits), and
 * whether the EOS symbol was hit. A string is valid only when it ends in a state whose path from
 * the last completed symbol is at most 7 bits, all ones (a prefix of EOS, §5.2).
 *
 * `HpackError` lives here rather than in hpack.ts so that hpack.ts can import this module without
 * an import cycle; hpack.ts re-exports it.
 *
 * @example
 * ```ts
 * const b = Uint8Array.of(0xa8, 0xeb, 0x10, 0x64, 0x9c, 0xbf);
 * huffmanDecode(b, 0, b.length); // "no-cache"
 * ```
 *
 * @module
 */

/** A malformed header block: an HTTP/2 COMPRESSION_ERROR, after which the connection is unusable. */
export class HpackError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "HpackError";
  }
}

/** The end-of-string symbol, which must never appear in a decoded string (§5.2). */
export const EOS = 256;

/**
 * Codes for symbols 0..256 (256 = EOS), right-aligned in `HUFFMAN_LENGTHS[sym]` bits. Taken from
 * golang.org/x/net `http2/hpack/tables.go` (`huffmanCodes`), plus EOS from Appendix B; the lengths
 * were cross-checked against nghttp2's `huff_sym_table`, and the tests check that the code is
 * canonical and complete (Kraft sum exactly 1).
 */
export const HUFFMAN_CODES: readonly number[] = [
  0x1ff8, 0x7fffd8, 0xfffffe2, 0xfffffe3, 0xfffffe4, 0xfffffe5, 0xfffffe6, 0xfffffe7,
  0xfffffe8, 0xffffea, 0x3ffffffc, 0xfffffe9, 0xfffffea, 0x3ffffffd, 0xfffffeb, 0xfffffec,
  0xfffffed, 0xfffffee, 0xfffffef, 0xffffff0, 0xffffff1, 0xffffff2, 0x3ffffffe, 0xffffff3,
  0xffffff4, 0xffffff5, 0xffffff6, 0xffffff7, 0xffffff8, 0xffffff9, 0xffffffa, 0xffffffb,
  0x14, 0x3f8, 0x3f9, 0xffa, 0x1ff9, 0x15, 0xf8, 0x7fa,
  0x3fa, 0x3fb, 0xf9, 0x7fb, 0xfa, 0x16, 0x17, 0x18,
  0x0, 0x1, 0x2, 0x19, 0x1a, 0x1b, 0x1c, 0x1d,
  0x1e, 0x1f, 0x5c, 0xfb, 0x7ffc, 0x20, 0xffb, 0x3fc,
  0x1ffa, 0x21, 0x5d, 0x5e, 0x5f, 0x60, 0x61, 0x62,
  0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a,
  0x6b, 0x6c, 0x6d, 0x6e, 0x6f, 0x70, 0x71, 0x72,
  0xfc, 0x73, 0xfd, 0x1ffb, 0x7fff0, 0x1ffc, 0x3ffc, 0x22,
  0x7ffd, 0x3, 0x23, 0x4, 0x24, 0x5, 0x25, 0x26,
  0x27, 0x6, 0x74, 0x75, 0x28, 0x29, 0x2a, 0x7,
  0x2b, 0x76, 0x2c, 0x8, 0x9, 0x2d, 0x77, 0x78,
  0x79, 0x7a, 0x7b, 0x7ffe, 0x7fc, 0x3ffd, 0x1ffd, 0xffffffc,
  0xfffe6, 0x3fffd2, 0xfffe7, 0xfffe8, 0x3fffd3, 0x3fffd4, 0x3fffd5, 0x7fffd9,
  0x3fffd6, 0x7fffda, 0x7fffdb, 0x7fffdc, 0x7fffdd, 0x7fffde, 0xffffeb, 0x7fffdf,
  0xffffec, 0xffffed, 0x3fffd7, 0x7fffe0, 0xffffee, 0x7fffe1, 0x7fffe2, 0x7fffe3,
  0x7fffe4, 0x1fffdc, 0x3fffd8, 0x7fffe5, 0x3fffd9, 0x7fffe6, 0x7fffe7, 0xffffef,
  0x3fffda, 0x1fffdd, 0xfffe9, 0x3fffdb, 0x3fffdc, 0x7fffe8, 0x7fffe9, 0x1fffde,
  0x7fffea, 0x3fffdd, 0x3fffde, 0xfffff0, 0x1fffdf, 0x3fffdf, 0x7fffeb, 0x7fffec,
  0x1fffe0, 0x1fffe1, 0x3fffe0, 0x1fffe2, 0x7fffed, 0x3fffe1, 0x7fffee, 0x7fffef,
  0xfffea, 0x3fffe2, 0x3fffe3, 0x3fffe4, 0x7ffff0, 0x3fffe5, 0x3fffe6, 0x7ffff1,
  0x3ffffe0, 0x3ffffe1, 0xfffeb, 0x7fff1, 0x3fffe7, 0x7ffff2, 0x3fffe8, 0x1ffffec,
  0x3ffffe2, 0x3ffffe3, 0x3ffffe4, 0x7ffffde, 0x7ffffdf, 0x3ffffe5, 0xfffff1, 0x1ffffed,
  0x7fff2, 0x1fffe3, 0x3ffffe6, 0x7ffffe0, 0x7ffffe1, 0x3ffffe7, 0x7ffffe2, 0xfffff2,
  0x1fffe4, 0x1fffe5, 0x3ffffe8, 0x3ffffe9, 0xffffffd, 0x7ffffe3, 0x7ffffe4, 0x7ffffe5,
  0xfffec, 0xfffff3, 0xfffed, 0x1fffe6, 0x3fffe9, 0x1fffe7, 0x1fffe8, 0x7ffff3,
  0x3fffea, 0x3fffeb, 0x1ffffee, 0x1ffffef, 0xfffff4, 0xfffff5, 0x3ffffea, 0x7ffff4,
  0x3ffffeb, 0x7ffffe6, 0x3ffffec, 0x3ffffed, 0x7ffffe7, 0x7ffffe8, 0x7ffffe9, 0x7ffffea,
  0x7ffffeb, 0xffffffe, 0x7ffffec, 0x7ffffed, 0x7ffffee, 0x7ffffef, 0x7fffff0, 0x3ffffee,
  0x3fffffff, // EOS
];

/** Code lengths in bits for symbols 0..256 (golang.org/x/net `huffmanCodeLen`, plus EOS = 30). */
export const HUFFMAN_LENGTHS: readonly number[] = [
  13, 23, 28, 28, 28, 28, 28, 28, 28, 24, 30, 28, 28, 30, 28, 28,
  28, 28, 28, 28, 28, 28, 30, 28, 28, 28, 28, 28, 28, 28, 28, 28,
  6, 10, 10, 12, 13, 6, 8, 11, 10, 10, 8, 11, 8, 6, 6, 6,
  5, 5, 5, 6, 6, 6, 6, 6, 6, 6, 7, 8, 15, 6, 12, 10,
  13, 6, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 7,
  7, 7, 7, 7, 7, 7, 7, 7, 8, 7, 8, 13, 19, 13, 14, 6,
  15, 5, 6, 5, 6, 5, 6, 6, 6, 5, 7, 7, 6, 6, 6, 5,
  6, 7, 6, 5, 5, 6, 7, 7, 7, 7, 7, 15, 11, 14, 13, 28,
  20, 22, 20, 20, 22, 22, 22, 23, 22, 23, 23, 23, 23, 23, 24, 23,
  24, 24, 22, 23, 24, 23, 23, 23, 23, 21, 22, 23, 22, 23, 23, 24,
  22, 21, 20, 22, 22, 23, 23, 21, 23, 22, 22, 24, 21, 22, 23, 23,
  21, 21, 22, 21, 23, 22, 23, 23, 20, 22, 22, 22, 23, 22, 22, 23,
  26, 26, 20, 19, 22, 23, 22, 25, 26, 26, 26, 27, 27, 26, 24, 25,
  19, 21, 26, 27, 27, 26, 27, 24, 21, 21, 26, 26, 28, 27, 27, 27,
  20, 24, 20, 21, 22, 21, 21, 23, 22, 22, 25, 25, 24, 24, 26, 23,
  26, 27, 26, 26, 27, 27, 27, 27, 27, 28, 27, 27, 27, 27, 27, 26,
  30, // EOS
];

// Decode-table entry layout: bits 0-7 next state, 8-15 emitted symbol, then flags.
const F_EMIT = 1 << 16;
const F_EOS = 1 << 17;
/** The state reached is a valid place to end: at most 7 bits into the code, all ones. */
const F_ACCEPT = 1 << 18;

/** `DECODE[state << 4 | nibble]`, see the module doc. */
const DECODE = new Uint32Array(256 * 16);
/** Per state, bits consumed since the last completed symbol, and whether they were all ones. */
const DEPTH = new Uint8Array(256);
const ONES = new Uint8Array(256);

buildDecoder();

function buildDecoder(): void {
  // The code tree: child[node * 2 + bit] is an internal node id (> 0), a leaf ~symbol (< 0), or 0
  // for "not yet created" (the root, node 0, is never anyone's child).
  const child = new Int32Array(256 * 2);
  let nodes = 1;
  for (let sym = 0; sym <= EOS; sym++) {
    const len = HUFFMAN_LENGTHS[sym]!;
    const code = HUFFMAN_CODES[sym]!;
    let node = 0;
    for (let i = len - 1; i >= 0; i--) {
      const slot = node * 2 + ((code >>> i) & 1);
      const next = child[slot]!;
      if (next < 0) throw new Error(`huffman table: code of ${sym} has a prefix that is a code`);
      if (i === 0) {
        if (next !== 0) throw new Error(`huffman table: code of ${sym} is a prefix of another`);
        child[slot] = ~sym;
      } else if (next === 0) {
        if (nodes === 256) throw new Error("huffman table: more than 256 internal nodes");
        child[slot] = node = nodes++;
      } else {
        node = next;
      }
    }
  }
  // A complete prefix code over 257 symbols has exactly 256 internal nodes and no empty slot.
  if (nodes !== 256 || child.includes(0)) throw new Error("huffman table: code is not complete");
  const walk = (node: number, depth: number, ones: number): void => {
    DEPTH[node] = depth;
    ONES[node] = ones;
    for (let bit = 0; bit < 2; bit++) {
      const c = child[node * 2 + bit]!;
      if (c > 0) walk(c, depth + 1, ones & bit);
    }
  };
  walk(0, 0, 1);

  for (let state = 0; state < 256; state++) {
    for (let nibble = 0; nibble < 16; nibble++) {
      let node = state;
      let entry = 0;
      for (let i = 3; i >= 0; i--) {
        const c = child[node * 2 + ((nibble >>> i) & 1)]!;
        if (c >= 0) {
          node = c;
          continue;
        }
        const sym = ~c;
        if (sym === EOS) {
          entry |= F_EOS;
          break;
        }
        if (entry & F_EMIT) throw new Error("huffman table: two symbols in one nibble");
        entry |= F_EMIT | (sym << 8);
        node = 0;
      }
      if (ONES[node] && DEPTH[node]! <= 7) entry |= F_ACCEPT;
      DECODE[state * 16 + nibble] = entry | node;
    }
  }
}

/** Reused output buffer; grown on demand (a header string decodes to at most 8/5 of its bytes). */
let scratch = new Uint8Array(256);

/**
 * Decodes the Huffman-coded octets `bytes[start, end)` to a string, one char per octet (latin1).
 * Throws `HpackError` when the EOS symbol appears, or the padding is longer than 7 bits or is not
 * the most significant bits of EOS (all ones), as RFC 7541 §5.2 requires.
 */
export function huffmanDecode(bytes: Uint8Array, start: number, end: number): string {
  const max = Math.ceil(((end - start) * 8) / 5);
  if (scratch.length < max) scratch = new Uint8Array(Math.max(max, scratch.length * 2));
  const out = scratch;
  let n = 0;
  let state = 0;
  let entry = F_ACCEPT; // the empty string is valid
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    entry = DECODE[(state << 4) | (b >>> 4)]!;
    if (entry & F_EOS) throw new HpackError("huffman: EOS symbol in string");
    if (entry & F_EMIT) out[n++] = entry >>> 8;
    state = entry & 0xff;
    entry = DECODE[(state << 4) | (b & 0xf)]!;
    if (entry & F_EOS) throw new HpackError("huffman: EOS symbol in string");
    if (entry & F_EMIT) out[n++] = entry >>> 8;
    state = entry & 0xff;
  }
  if (!(entry & F_ACCEPT)) {
    throw new HpackError(
      ONES[state]
        ? `huffman: padding of ${DEPTH[state]} bits is longer than 7`
        : "huffman: padding is not a prefix of EOS (all ones)",
    );
  }
  return latin1(out, 0, n);
}

/**
 * Octets `bytes[start, end)` as a string of char codes 0..255. Not `TextDecoder("latin1")`: the
 * Encoding Standard maps that label to windows-1252, which remaps 0x80..0x9f.
 */
export function latin1(bytes: Uint8Array, start: number, end: number): string {
  if (end - start <= 64) {
    let s = "";
    for (let i = start; i < end; i++) s += String.fromCharCode(bytes[i]!);
    return s;
  }
  let s = "";
  // Chunked so that long strings stay well under engines' argument-count limits.
  for (let i = start; i < end; i += 8192) {
    const chunk = bytes.subarray(i, Math.min(end, i + 8192));
    s += String.fromCharCode.apply(null, chunk as unknown as number[]);
  }
  return s;
}
