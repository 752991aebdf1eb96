import { test } from "node:test";
import assert from "node:assert/strict";
import type { CidrRange } from "../config/types.ts";
import { addressFromRight, decideForwarding, dropsEnvoyField, forwarding, teAcceptsTrailers } from "./forwarded.ts";

/** The networks Envoy trusted before 1.33, as its docs spell them out for internal_address_config. */
const PRIVATE: CidrRange[] = [
  { addressPrefix: "10.0.0.0", prefixLen: 8 },
  { addressPrefix: "192.168.0.0", prefixLen: 16 },
  { addressPrefix: "172.16.0.0", prefixLen: 12 },
  { addressPrefix: "127.0.0.1", prefixLen: 32 },
  { addressPrefix: "fd00::", prefixLen: 8 },
  { addressPrefix: "::1", prefixLen: 128 },
];

function decide(remote: string, xff: string | null, useRemoteAddress: boolean, hops: number, ranges: CidrRange[] = PRIVATE) {
  decideForwarding(remote, xff, useRemoteAddress, hops, ranges);
  return { ...forwarding };
}

// The six examples of Envoy's docs (configuration/http/http_conn_man/headers, x-forwarded-for),
// with the private networks configured as internal.
test("decideForwarding() follows Envoy's XFF examples 1 to 6", () => {
  const xff = "203.0.113.128, 203.0.113.10, 203.0.113.1";
  // 1: edge proxy, no trusted proxy in front: the peer is the client, XFF ignored.
  assert.deepEqual(decide("192.0.2.5", xff, true, 0), { clientAddress: "192.0.2.5", internal: false, edge: true });
  // 2: internal proxy behind example 1's edge: the last XFF address.
  assert.deepEqual(decide("10.11.12.13", `${xff}, 192.0.2.5`, false, 0), { clientAddress: "192.0.2.5", internal: false, edge: false });
  // 3: edge proxy behind two trusted proxies: the 2nd address from the right.
  assert.deepEqual(decide("192.0.2.5", xff, true, 2), { clientAddress: "203.0.113.10", internal: false, edge: true });
  // 4: internal proxy behind example 3's edge: the 3rd from the right (N+1).
  assert.deepEqual(decide("10.11.12.13", `${xff}, 192.0.2.5`, false, 2), { clientAddress: "203.0.113.10", internal: false, edge: false });
  // 5: internal client without XFF and no use_remote_address: never internal, no trusted address.
  assert.deepEqual(decide("10.20.30.40", null, false, 0), { clientAddress: "10.20.30.40", internal: false, edge: false });
  // 6: the same proxy, reached through another Envoy that set XFF to the internal client.
  assert.deepEqual(decide("10.20.30.50", "10.20.30.40", false, 0), { clientAddress: "10.20.30.40", internal: true, edge: false });
});

test("decideForwarding() with use_remote_address: internal only for an internal peer without XFF", () => {
  assert.deepEqual(decide("10.1.2.3", null, true, 0), { clientAddress: "10.1.2.3", internal: true, edge: false });
  assert.deepEqual(decide("10.1.2.3", "10.9.9.9", true, 0), { clientAddress: "10.1.2.3", internal: false, edge: true });
  // Fewer XFF addresses than trusted hops, or a broken one: back to the peer.
  assert.deepEqual(decide("192.0.2.5", "203.0.113.1", true, 2), { clientAddress: "192.0.2.5", internal: false, edge: true });
  assert.deepEqual(decide("192.0.2.5", "203.0.113.1, junk", true, 1), { clientAddress: "192.0.2.5", internal: false, edge: true });
  // Without use_remote_address, an XFF too short for the trusted hops gives no trusted address.
  assert.deepEqual(decide("10.0.0.1", "10.0.0.2", false, 1), { clientAddress: "10.0.0.1", internal: false, edge: false });
});

test("addressFromRight() skips entries from the right and needs an IP address", () => {
  assert.equal(addressFromRight("1.1.1.1, 2.2.2.2,3.3.3.3", 0), "3.3.3.3");
  assert.equal(addressFromRight("1.1.1.1, 2.2.2.2,3.3.3.3", 1), "2.2.2.2");
  assert.equal(addressFromRight("1.1.1.1, 2.2.2.2,3.3.3.3", 2), "1.1.1.1");
  assert.equal(addressFromRight("1.1.1.1, 2.2.2.2,3.3.3.3", 3), null);
  assert.equal(addressFromRight(" 2001:db8::1 ", 0), "2001:db8::1");
  assert.equal(addressFromRight("unknown", 0), null);
  assert.equal(addressFromRight("1.1.1.1,", 0), null);
  // Only optional whitespace (SP, HTAB) is trimmed, as Envoy's StringUtil::trim: a NBSP (0xA0, obs-text)
  // around an address makes it no address.
  assert.equal(addressFromRight("\t10.0.0.1 ", 0), "10.0.0.1");
  assert.equal(addressFromRight("\xa010.0.0.1", 0), null);
  assert.equal(addressFromRight("10.0.0.1\xa0, 1.1.1.1", 1), null);
});

test("decideForwarding() trusts no address without internal ranges (Envoy 1.33+, CVE-2024-45806)", () => {
  // Example 6 and an edge proxy's loopback peer: internal only when configured.
  assert.deepEqual(decide("10.20.30.50", "10.20.30.40", false, 0, []), { clientAddress: "10.20.30.40", internal: false, edge: false });
  assert.deepEqual(decide("127.0.0.1", null, true, 0, []), { clientAddress: "127.0.0.1", internal: false, edge: true });
  assert.deepEqual(decide("::1", null, true, 0, []), { clientAddress: "::1", internal: false, edge: true });
  // A range that does not hold the client trusts nothing else.
  const only = [{ addressPrefix: "192.0.2.0", prefixLen: 24 }];
  assert.equal(decide("10.0.0.1", null, true, 0, only).internal, false);
  assert.equal(decide("192.0.2.77", null, true, 0, only).internal, true);
});

test("teAcceptsTrailers() looks for the trailers token in every TE field", () => {
  assert.equal(teAcceptsTrailers(["host", "a", "te", "trailers, gzip"]), true);
  assert.equal(teAcceptsTrailers(["te", "gzip", "x", "trailers", "te", " Trailers\t"]), true);
  assert.equal(teAcceptsTrailers(["te", "gzip, trailersx", "x-te", "trailers"]), false);
  assert.equal(teAcceptsTrailers(["te", "trailers;q=1"]), false);
  assert.equal(teAcceptsTrailers([]), false);
});

test("dropsEnvoyField() strips what Envoy's sanitizing strips, by origin", () => {
  decideForwarding("203.0.113.9", null, true, 0, PRIVATE); // external, at the edge
  for (const f of ["x-envoy-internal", "x-envoy-expected-rq-timeout-ms", "x-envoy-retry-on", "x-envoy-external-address", "x-envoy-downstream-service-node"]) {
    assert.equal(dropsEnvoyField(f), true, f);
  }
  assert.equal(dropsEnvoyField("x-envoy-something-else"), false);
  decideForwarding("10.0.0.1", "203.0.113.9", false, 0, PRIVATE); // external, not at the edge
  assert.equal(dropsEnvoyField("x-envoy-retry-on"), true);
  assert.equal(dropsEnvoyField("x-envoy-external-address"), false);
  assert.equal(dropsEnvoyField("x-envoy-downstream-service-node"), false);
  decideForwarding("10.0.0.1", null, true, 0, PRIVATE); // internal
  assert.equal(dropsEnvoyField("x-envoy-internal"), true);
  assert.equal(dropsEnvoyField("x-envoy-retry-on"), false);
  assert.equal(dropsEnvoyField("x-envoy-expected-rq-timeout-ms"), false);
});
