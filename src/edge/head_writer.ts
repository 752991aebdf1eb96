/**
 * Builds outgoing HTTP/1.1 message heads byte by byte in one reusable buffer per worker thread, so
 * forwarding a request or a response allocates nothing: no string concatenation, no encoding pass,
 * no per-message `Uint8Array`. The caller writes `bytes.subarray(0, length)` (as a range, see
 * `TcpSocket.write`) before the next message starts; the socket copies whatever it must keep.
 *
 * Strings are written one byte per character (latin1), as HTTP/1.1 field values are octets; callers
 * pass strings the codec has already validated.
 *
 * @example
 * ```ts
 * const w = headWriter();
 * w.reset();
 * w.text("HTTP/1.1 200 OK\r\n");
 * w.field("content-length", "2");
 * w.crlf();
 * w.copy(body, 0, 2);
 * socket.write(w.bytes, 0, w.length);
 * ```
 * @module
 */

const HEX = "0123456789abcdef";
/** Random bytes drawn at once for request ids (16 per id). */
const RANDOM_POOL_BYTES = 4096;

export class HeadWriter {
  bytes: Uint8Array;
  length = 0;
  private random = new Uint8Array(RANDOM_POOL_BYTES);
  private randomAt = RANDOM_POOL_BYTES;

  constructor(initialBytes = 16 * 1024) {
    this.bytes = new Uint8Array(initialBytes);
  }

  reset(): void {
    this.length = 0;
  }

  /** Room for `n` more bytes (heads are bounded by the codec's limits; bodies by the chunk size). */
  private ensure(n: number): void {
    const need = this.length + n;
    if (need <= this.bytes.length) return;
    let size = this.bytes.length * 2;
    while (size < need) size *= 2;
    const grown = new Uint8Array(size);
    grown.set(this.bytes.subarray(0, this.length));
    this.bytes = grown;
  }

  /** `s` as latin1 bytes. */
  text(s: string): void {
    const n = s.length;
    this.ensure(n);
    const b = this.bytes;
    let at = this.length;
    for (let i = 0; i < n; i++) b[at++] = s.charCodeAt(i);
    this.length = at;
  }

  /** `name: value\r\n`. */
  field(name: string, value: string): void {
    this.text(name);
    this.ensure(2);
    this.bytes[this.length++] = 0x3a;
    this.bytes[this.length++] = 0x20;
    this.text(value);
    this.crlf();
  }

  /**
   * `name: value\r\n` copied from the bytes `src` a head was parsed from: the name `src[nameStart,
   * nameEnd)`, lower-cased when `lowerCase`, and the value `src[valueStart, valueEnd)` (see
   * `parsedFields` in http1/), so a forwarded field is never decoded to strings.
   */
  fieldFrom(src: Uint8Array, nameStart: number, nameEnd: number, lowerCase: boolean, valueStart: number, valueEnd: number): void {
    this.ensure(nameEnd - nameStart + valueEnd - valueStart + 4);
    const b = this.bytes;
    let at = this.length;
    if (lowerCase) {
      for (let i = nameStart; i < nameEnd; i++) {
        const c = src[i]!;
        b[at++] = c >= 0x41 && c <= 0x5a ? c + 0x20 : c;
      }
    } else {
      for (let i = nameStart; i < nameEnd; i++) b[at++] = src[i]!;
    }
    b[at++] = 0x3a;
    b[at++] = 0x20;
    for (let i = valueStart; i < valueEnd; i++) b[at++] = src[i]!;
    b[at++] = 0x0d;
    b[at++] = 0x0a;
    this.length = at;
  }

  crlf(): void {
    this.ensure(2);
    this.bytes[this.length++] = 0x0d;
    this.bytes[this.length++] = 0x0a;
  }

  /** A non-negative integer in decimal. */
  decimal(v: number): void {
    this.text(String(v));
  }

  /** `src[start, end)`; small ranges by a loop, as a view for `set` costs more than a few bytes. */
  copy(src: Uint8Array, start: number, end: number): void {
    const n = end - start;
    this.ensure(n);
    const b = this.bytes;
    if (n <= 64) {
      let at = this.length;
      for (let i = start; i < end; i++) b[at++] = src[i]!;
    } else {
      b.set(start === 0 && end === src.length ? src : src.subarray(start, end), this.length);
    }
    this.length += n;
  }

  /** A random (version 4) UUID, as Envoy generates for `x-request-id`. */
  uuid4(): void {
    if (this.randomAt + 16 > RANDOM_POOL_BYTES) {
      crypto.getRandomValues(this.random);
      this.randomAt = 0;
    }
    this.ensure(36);
    const r = this.random;
    const b = this.bytes;
    let at = this.length;
    for (let i = 0; i < 16; i++) {
      let v = r[this.randomAt + i]!;
      if (i === 6) v = (v & 0x0f) | 0x40;
      else if (i === 8) v = (v & 0x3f) | 0x80;
      if (i === 4 || i === 6 || i === 8 || i === 10) b[at++] = 0x2d;
      b[at++] = HEX.charCodeAt(v >> 4);
      b[at++] = HEX.charCodeAt(v & 15);
    }
    this.randomAt += 16;
    this.length = at;
  }
}

let shared: HeadWriter | null = null;

/** This thread's writer (message heads are built and written synchronously, one at a time). */
export function headWriter(): HeadWriter {
  return shared ??= new HeadWriter();
}
