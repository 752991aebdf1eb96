import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSpiffeId, spiffeId } from "./identity.ts";

test("format and parse SPIFFE ids", () => {
  const id = { trustDomain: "cluster.local", namespace: "ns", serviceAccount: "sa" };
  assert.equal(spiffeId(id), "spiffe://cluster.local/ns/ns/sa/sa");
  assert.deepEqual(parseSpiffeId(spiffeId(id)), id);
  assert.equal(parseSpiffeId("spiffe://td/other"), undefined);
});
