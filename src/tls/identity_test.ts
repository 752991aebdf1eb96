import { test } from "node:test";
import assert from "node:assert/strict";
import { peerIdentity, spiffeUrisFromSubjectAltName, subjectAltNames, uriSans } from "./identity.ts";

test("lists every SAN with its type, and the URI and SPIFFE ones apart", () => {
  const san = "DNS:example.com, URI:spiffe://cluster.local/ns/a/sa/b, IP Address:127.0.0.1, URI:https://x.test/";
  assert.deepEqual(subjectAltNames(san), [
    { type: "DNS", value: "example.com" },
    { type: "URI", value: "spiffe://cluster.local/ns/a/sa/b" },
    { type: "IP Address", value: "127.0.0.1" },
    { type: "URI", value: "https://x.test/" },
  ]);
  assert.deepEqual(uriSans(san), ["spiffe://cluster.local/ns/a/sa/b", "https://x.test/"]);
  assert.deepEqual(spiffeUrisFromSubjectAltName(san), ["spiffe://cluster.local/ns/a/sa/b"]);
  assert.deepEqual(subjectAltNames(undefined), []);
});

test("trusts only authorized peers", () => {
  const san = "DNS:example.com, URI:spiffe://cluster.local/ns/a/sa/b";
  const sock = (authorized: boolean) => ({ authorized, getPeerCertificate: () => ({ subjectaltname: san }) });
  assert.equal(peerIdentity(sock(true)), "spiffe://cluster.local/ns/a/sa/b");
  assert.equal(peerIdentity(sock(false)), undefined);
});
