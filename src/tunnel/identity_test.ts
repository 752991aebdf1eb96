import { test } from "node:test";
import assert from "node:assert/strict";
import { parseSpiffeId, peerIdentity, spiffeId, spiffeUrisFromSubjectAltName } from "./identity.ts";

test("format and parse SPIFFE ids", () => {
  const id = { trustDomain: "cluster.local", namespace: "ns", serviceAccount: "sa" };
  assert.equal(spiffeId(id), "spiffe://cluster.local/ns/ns/sa/sa");
  assert.deepEqual(parseSpiffeId(spiffeId(id)), id);
  assert.equal(parseSpiffeId("spiffe://td/other"), undefined);
});

test("reads URI SANs and trusts only authorized peers", () => {
  const san = "DNS:example.com, URI:spiffe://cluster.local/ns/a/sa/b";
  assert.deepEqual(spiffeUrisFromSubjectAltName(san), ["spiffe://cluster.local/ns/a/sa/b"]);
  const sock = (authorized: boolean) => ({ authorized, getPeerCertificate: () => ({ subjectaltname: san }) });
  assert.equal(peerIdentity(sock(true)), "spiffe://cluster.local/ns/a/sa/b");
  assert.equal(peerIdentity(sock(false)), undefined);
});
