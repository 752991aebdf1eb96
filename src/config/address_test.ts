import { test } from "node:test";
import assert from "node:assert/strict";
import { formatHostPort } from "./address.ts";

test("formatHostPort brackets IPv6 literals only", () => {
  assert.equal(formatHostPort("127.0.0.1", 80), "127.0.0.1:80");
  assert.equal(formatHostPort("localhost", 9901), "localhost:9901");
  assert.equal(formatHostPort("::1", 0), "[::1]:0");
  assert.equal(formatHostPort("::ffff:10.0.0.1", 15008), "[::ffff:10.0.0.1]:15008");
});
