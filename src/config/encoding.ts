/**
 * Decodes a configuration file's bytes as YAML 1.2 says a processor must (§5.2): UTF-8, with or
 * without a byte order mark, and UTF-16 LE or BE with one or, without one, told apart by where the
 * first character's zero byte is (a YAML stream without a byte order mark starts with an ASCII
 * character, so "a\0" is UTF-16 LE and "\0a" UTF-16 BE). Anything else (bytes that are not UTF-8,
 * UTF-32) is refused with where the problem is, so both runtimes read a file the same way instead
 * of each guessing (one replaced bad bytes with U+FFFD, the other decoded differently).
 *
 * @module
 */

/** The decoded text, or why the bytes cannot be read (with a 1-based position when there is one). */
export type DecodedText = { ok: true; text: string } | { ok: false; message: string; line?: number; column?: number };

/**
 * Decodes configuration file bytes by their byte order mark.
 *
 * @example
 * ```ts
 * import { decodeConfigBytes } from "./encoding.ts";
 *
 * decodeConfigBytes(new Uint8Array([0xff, 0xfe, 0x61, 0x00])); // { ok: true, text: "a" }
 * decodeConfigBytes(new Uint8Array([0x61, 0xe9])); // { ok: false, message: "the file is not valid UTF-8 (byte 0xe9); …", line: 1, column: 2 }
 * ```
 */
export function decodeConfigBytes(bytes: Uint8Array): DecodedText {
  const [b0, b1, b2, b3] = bytes;
  if ((b0 === 0x00 && b1 === 0x00 && b2 === 0xfe && b3 === 0xff) || (b0 === 0xff && b1 === 0xfe && b2 === 0x00 && b3 === 0x00)) {
    return { ok: false, message: "the file is UTF-32, which weft does not read yet; save it as UTF-8" };
  }
  if ((b0 === 0x00 && b1 === 0x00 && b2 === 0x00 && b3 !== undefined) || (b0 !== 0x00 && b1 === 0x00 && b2 === 0x00 && b3 === 0x00)) {
    return { ok: false, message: "the file is UTF-32, which weft does not read yet; save it as UTF-8" };
  }
  const bom = (b0 === 0xff && b1 === 0xfe) || (b0 === 0xfe && b1 === 0xff);
  const zeroFirst = b0 === 0x00 && b1 !== undefined && b1 !== 0x00, zeroSecond = b0 !== 0x00 && b0 !== undefined && b1 === 0x00;
  if (bom || zeroFirst || zeroSecond) {
    const what = bom ? "starts with a UTF-16 byte order mark" : "looks like UTF-16 (a zero byte in its first character)";
    if (bytes.length % 2 !== 0) return { ok: false, message: `the file ${what} but has an odd number of bytes` };
    const encoding = b0 === 0xff || zeroSecond ? "utf-16le" : "utf-16be";
    try {
      return { ok: true, text: new TextDecoder(encoding, { fatal: true }).decode(bytes) };
    } catch {
      return { ok: false, message: `the file is not valid ${encoding.toUpperCase()} (an unpaired surrogate)` };
    }
  }
  const bad = firstInvalidUtf8(bytes);
  if (bad >= 0) {
    const before = new TextDecoder().decode(bytes.subarray(0, bad));
    const lineStart = before.lastIndexOf("\n") + 1;
    return {
      ok: false,
      message: `the file is not valid UTF-8 (byte 0x${bytes[bad]!.toString(16).padStart(2, "0")}); save it as UTF-8, or as UTF-16 with a byte order mark`,
      line: before.split("\n").length,
      column: [...before.slice(lineStart)].length + 1,
    };
  }
  // TextDecoder drops a UTF-8 byte order mark by default.
  return { ok: true, text: new TextDecoder("utf-8").decode(bytes) };
}

/** The offset of the first byte that does not belong to a well-formed UTF-8 sequence, or -1. */
function firstInvalidUtf8(bytes: Uint8Array): number {
  let i = 0;
  while (i < bytes.length) {
    const b = bytes[i]!;
    if (b < 0x80) {
      i++;
      continue;
    }
    // Lead byte: length and the allowed range of the second byte (no overlongs, no surrogates, ≤ U+10FFFF).
    let n: number, lo = 0x80, hi = 0xbf;
    if (b >= 0xc2 && b <= 0xdf) n = 1;
    else if (b >= 0xe0 && b <= 0xef) [n, lo, hi] = [2, b === 0xe0 ? 0xa0 : 0x80, b === 0xed ? 0x9f : 0xbf];
    else if (b >= 0xf0 && b <= 0xf4) [n, lo, hi] = [3, b === 0xf0 ? 0x90 : 0x80, b === 0xf4 ? 0x8f : 0xbf];
    else return i;
    for (let k = 1; k <= n; k++) {
      const c = bytes[i + k];
      if (c === undefined || c < (k === 1 ? lo : 0x80) || c > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n + 1;
  }
  return -1;
}
