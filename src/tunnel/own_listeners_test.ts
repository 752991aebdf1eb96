import { test } from "node:test";
import assert from "node:assert/strict";
import { canonicalIp, parseListenerAddress, reachesOwnListener, sameIpAddress } from "./own_listeners.ts";

test("canonicalIp: one spelling per address, undefined for what is not an IP literal", () => {
  assert.equal(canonicalIp("127.0.0.2"), "127.0.0.2");
  assert.equal(canonicalIp("::ffff:127.0.0.2"), "127.0.0.2");
  assert.equal(canonicalIp("0:0:0:0:0:ffff:7f00:2"), "127.0.0.2");
  assert.equal(canonicalIp("0:0:0:0:0:0:0:1"), "::1");
  assert.equal(canonicalIp("FD00:0::1"), "fd00::1");
  for (const notIp of ["127.1", "127.000.000.001", "localhost", "1.2.3.4:5", "evil\n2001-01-01T00:00:00"]) {
    assert.equal(canonicalIp(notIp), undefined, notIp);
  }
});

test("sameIpAddress: one family's spellings are equal; an IPv4-mapped IPv6 address is not the IPv4 address (ztunnel's IpAddr)", () => {
  assert.ok(sameIpAddress("127.0.1.3", "127.0.1.3"));
  assert.ok(sameIpAddress("FD00:0::1", "fd00::1"));
  assert.ok(sameIpAddress("::ffff:127.0.1.3", "0:0:0:0:0:ffff:7f00:103"));
  assert.ok(!sameIpAddress("::ffff:127.0.1.3", "127.0.1.3"));
  assert.ok(!sameIpAddress("127.0.1.3", "::ffff:7f00:103"));
  assert.ok(!sameIpAddress("127.0.1.3", "127.0.1.5"));
  assert.ok(!sameIpAddress("127.000.001.003", "127.0.1.3"), "not an IP literal");
  assert.ok(!sameIpAddress("localhost", "localhost"));
});

test("reachesOwnListener: the same address in any spelling, and unspecified binds through any local address", () => {
  const own = [parseListenerAddress("127.0.0.1:15000"), parseListenerAddress("127.0.0.2:15080"), parseListenerAddress("0.0.0.0:15020"), parseListenerAddress("[::]:15021")];
  const interfaces = () => ["10.1.2.3", "fe80::1"];
  const reaches = (ip: string, port: number) => reachesOwnListener(ip, port, own, interfaces);
  assert.ok(reaches("127.0.0.1", 15000));
  assert.ok(reaches("::ffff:127.0.0.1", 15000));
  assert.ok(reaches("0.0.0.0", 15000), "0.0.0.0 as a destination is this host");
  assert.ok(reaches("::", 15080));
  assert.ok(!reaches("127.0.0.2", 15000), "another address, same port");
  assert.ok(!reaches("127.0.0.1", 15001));
  assert.ok(reaches("127.0.0.2", 15080));
  // 0.0.0.0: every local IPv4 address (all of 127/8, the interfaces'), not a remote one, not IPv6.
  assert.ok(reaches("127.9.9.9", 15020));
  assert.ok(reaches("10.1.2.3", 15020));
  assert.ok(!reaches("10.1.2.4", 15020));
  assert.ok(!reaches("::1", 15020));
  // ::: IPv4 and IPv6 local addresses.
  assert.ok(reaches("127.0.0.5", 15021));
  assert.ok(reaches("::1", 15021));
  assert.ok(reaches("fe80::1", 15021));
  assert.ok(!reaches("fd00::9", 15021));
  // A name is not an address (the caller resolves names to workloads or refuses them).
  assert.ok(!reaches("localhost", 15000));
});

test("reachesOwnListener reads the interfaces only for an unspecified bind on that port", () => {
  let reads = 0;
  const interfaces = () => {
    reads++;
    return [];
  };
  reachesOwnListener("127.0.1.3", 8080, [{ host: "0.0.0.0", port: 15020 }, { host: "127.0.0.2", port: 8080 }], interfaces);
  assert.equal(reads, 0);
  reachesOwnListener("192.0.2.1", 15020, [{ host: "0.0.0.0", port: 15020 }], interfaces);
  assert.equal(reads, 1);
});
