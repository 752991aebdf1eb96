/**
 * Helpers shared by the codec's unit tests (private; not exported from mod.ts).
 *
 * @module
 */

import type { HeadResult } from "./types.ts";

/** Encodes a string as latin1 (one byte per character), so tests can write any byte with `\xNN`. */
export function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError(`Cannot encode test input: U+${c.toString(16)} is not latin1`);
    out[i] = c;
  }
  return out;
}

/** Describes a head result by status and code only, for comparisons across split points. */
function verdictOf<T>(r: HeadResult<T>): string {
  return r.status === "error" ? `error ${r.code}` : r.status;
}

/**
 * Feeds every prefix of `input` to `parse` (as a connection receiving one byte at a time would) and
 * checks the prefixes agree with the whole: `incomplete` until the verdict is known, then the same
 * verdict for every longer prefix. Returns the result for the whole input.
 */
export function parseByteAtATime<T>(input: Uint8Array, parse: (buf: Uint8Array) => HeadResult<T>): HeadResult<T> {
  const whole = parse(input);
  const expected = verdictOf(whole);
  let decided = -1;
  for (let n = 0; n <= input.length; n++) {
    // A copy, so a parser reading past the prefix would see nothing.
    const r = parse(input.slice(0, n));
    const v = verdictOf(r);
    if (decided < 0) {
      if (v === "incomplete") continue;
      decided = n;
    }
    if (v !== expected) {
      throw new Error(
        `Cannot agree on a verdict: the first ${n} bytes give "${v}" but all ${input.length} give "${expected}"`,
      );
    }
  }
  if (whole.status === "ok") {
    // The verdict must be reached exactly when the head is complete.
    const headBytes = (whole.head as { headBytes: number }).headBytes;
    if (decided !== headBytes) {
      throw new Error(`Cannot agree on the head end: ok after ${decided} bytes, headBytes ${headBytes}`);
    }
  }
  return whole;
}
