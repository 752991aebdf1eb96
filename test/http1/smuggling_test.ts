/**
 * Conformance suite: request-smuggling and malformed-request vectors (see vectors.ts for each one's
 * reasoning and what nginx and Envoy do) run through weft's codec, whole and one byte at a time.
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { latin1Bytes, type Outcome, runWeft, VECTORS } from "./vectors.ts";

function describe(o: Outcome): string {
  return o.verdict === "reject" ? `reject ${o.code} (${o.reason})` : o.verdict;
}

test("the conformance table has at least 30 uniquely named vectors", () => {
  assert.ok(VECTORS.length >= 30, `only ${VECTORS.length} vectors`);
  const names = new Set(VECTORS.map((v) => v.name));
  assert.equal(names.size, VECTORS.length, "vector names must be unique");
  for (const v of VECTORS) assert.ok(v.note.length > 0, `${v.name} has no note`);
});

for (const vector of VECTORS) {
  const label = vector.expect === "accept" ? "accept" : `reject ${vector.expect}`;
  test(`smuggling vector: ${vector.name} → ${label}`, () => {
    const input = latin1Bytes(vector.input);
    const whole = runWeft(input);
    if (vector.expect === "accept") {
      assert.equal(whole.verdict, "accept", `${vector.name}: got ${describe(whole)}`);
      if (whole.verdict === "accept") vector.check?.(whole.head, whole.used);
    } else {
      assert.equal(whole.verdict === "reject" && whole.code, vector.expect, `${vector.name}: got ${describe(whole)}`);
    }
    // A connection may deliver the bytes in any split: every prefix is either still incomplete or
    // already has the final verdict (an attacker cannot change it by splitting packets).
    // (Large inputs are sampled every 61 bytes to keep the suite fast.)
    let decided = false;
    const stride = input.length > 4096 ? 61 : 1;
    for (let n = 0; n < input.length; n += stride) {
      const partial = runWeft(input.slice(0, n));
      if (partial.verdict === "incomplete") {
        assert.equal(decided, false, `${vector.name}: incomplete again after a verdict, at ${n} bytes`);
        continue;
      }
      decided = true;
      if (whole.verdict === "reject") {
        assert.equal(describe(partial), describe(whole), `${vector.name}: prefix of ${n} bytes`);
      } else {
        // An accepted message is only accepted once all of it has arrived.
        assert.equal(partial.verdict, "accept", `${vector.name}: prefix of ${n} bytes gave ${describe(partial)}`);
        assert.ok(whole.verdict === "accept" && n >= whole.used, `${vector.name}: accepted after ${n} bytes`);
      }
    }
  });
}
