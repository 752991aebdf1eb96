import { test } from "node:test";
import assert from "node:assert/strict";
import type { CidrRange } from "../config/types.ts";
import { inCidrRanges } from "./cidr.ts";

/** The networks Envoy trusted as internal before 1.33, as its docs spell them out. */
const PRIVATE: CidrRange[] = [
  { addressPrefix: "10.0.0.0", prefixLen: 8 },
  { addressPrefix: "192.168.0.0", prefixLen: 16 },
  { addressPrefix: "172.16.0.0", prefixLen: 12 },
  { addressPrefix: "127.0.0.1", prefixLen: 32 },
  { addressPrefix: "fd00::", prefixLen: 8 },
  { addressPrefix: "::1", prefixLen: 128 },
];

test("inCidrRanges() matches CIDR ranges, by family", () => {
  for (const a of ["127.0.0.1", "10.0.0.1", "10.255.255.255", "192.168.0.0", "172.16.0.0", "172.30.2.1", "172.31.255.255", "fd00::", "fdff::", "fd01::1", "::1", "FD12:3456::1"]) {
    assert.equal(inCidrRanges(a, PRIVATE), true, a);
  }
  for (const a of ["192.167.0.0", "172.32.0.0", "172.15.0.1", "11.0.0.1", "127.0.0.2", "203.0.113.1", "fe80::1", "fc00::", "2001:db8::1", "::2", "::ffff:10.0.0.1", "junk"]) {
    assert.equal(inCidrRanges(a, PRIVATE), false, a);
  }
  assert.equal(inCidrRanges("10.0.0.1", []), false);
  // Prefix lengths off octet and group boundaries, 0 (the whole family) and the full length.
  assert.equal(inCidrRanges("198.51.100.130", [{ addressPrefix: "198.51.100.128", prefixLen: 25 }]), true);
  assert.equal(inCidrRanges("198.51.100.127", [{ addressPrefix: "198.51.100.128", prefixLen: 25 }]), false);
  assert.equal(inCidrRanges("203.0.113.9", [{ addressPrefix: "0.0.0.0", prefixLen: 0 }]), true);
  assert.equal(inCidrRanges("2001:db8::1", [{ addressPrefix: "0.0.0.0", prefixLen: 0 }]), false);
  assert.equal(inCidrRanges("2001:db8::1", [{ addressPrefix: "::", prefixLen: 0 }]), true);
  assert.equal(inCidrRanges("2001:db8:8000::1", [{ addressPrefix: "2001:db8:8000::", prefixLen: 33 }]), true);
  assert.equal(inCidrRanges("2001:db8:7fff::1", [{ addressPrefix: "2001:db8:8000::", prefixLen: 33 }]), false);
  assert.equal(inCidrRanges("2001:db8::1", [{ addressPrefix: "2001:db8::1", prefixLen: 128 }]), true);
  assert.equal(inCidrRanges("2001:db8::2", [{ addressPrefix: "2001:db8::1", prefixLen: 128 }]), false);
  // An IPv4-mapped address is IPv6: it matches an IPv6 range only, as in Envoy.
  assert.equal(inCidrRanges("::ffff:10.0.0.1", [{ addressPrefix: "::ffff:0:0", prefixLen: 96 }]), true);
  assert.equal(inCidrRanges("1:2:3:4:5:6:7:8", [{ addressPrefix: "1:2:3:4:5:6:7:8", prefixLen: 128 }]), true);
  assert.equal(inCidrRanges("1:2:3:4:5:6:7:8:9", [{ addressPrefix: "::", prefixLen: 0 }]), false);
});
