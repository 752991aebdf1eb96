/**
 * Turns a message head built as a string into bytes, one byte per character (latin1, as HTTP/1.1
 * field values are octets), into a buffer with room left for body bytes, so a head and the body
 * bytes that came with it leave in one write. Callers pass strings the codec has already validated.
 *
 * @example
 * ```ts
 * const out = headBytes("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\n", 2);
 * out.set(body, out.byteLength - 2);
 * ```
 * @module
 */

const encoder = new TextEncoder();

/** `head` as latin1 bytes, in a buffer `extra` bytes longer. */
export function headBytes(head: string, extra = 0): Uint8Array {
  const out = new Uint8Array(head.length + extra);
  // All-ASCII heads (nearly all) encode natively, UTF-8 and latin1 agreeing there. Every character
  // read in as one byte written means none was above U+007F.
  const { read, written } = encoder.encodeInto(head, out);
  if (read === head.length && written === head.length) return out;
  for (let i = 0; i < head.length; i++) out[i] = head.charCodeAt(i);
  return out;
}
