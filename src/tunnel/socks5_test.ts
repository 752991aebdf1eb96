import { test } from "node:test";
import assert from "node:assert/strict";
import { CMD_CONNECT, parseGreeting, parseRequest, REP, reply, Socks5Error } from "./socks5.ts";

test("greeting: partial, complete, bad version", () => {
  assert.equal(parseGreeting(Uint8Array.of(5)), undefined);
  assert.equal(parseGreeting(Uint8Array.of(5, 2, 0)), undefined);
  assert.deepEqual(parseGreeting(Uint8Array.of(5, 2, 0, 2, 99)), { methods: [0, 2], consumed: 4 });
  assert.throws(() => parseGreeting(Uint8Array.of(4, 1, 0)), Socks5Error);
});

test("request: IPv4 CONNECT", () => {
  const b = Uint8Array.of(5, 1, 0, 1, 127, 0, 1, 3, 0x1f, 0x90);
  assert.equal(parseRequest(b.subarray(0, 9)), undefined);
  assert.deepEqual(parseRequest(b), { command: CMD_CONNECT, host: "127.0.1.3", addressType: "ipv4", port: 8080, consumed: 10 });
});

test("request: domain name and IPv6", () => {
  const name = new TextEncoder().encode("example.com");
  const b = Uint8Array.of(5, 1, 0, 3, name.length, ...name, 0, 80, 0xaa);
  assert.deepEqual(parseRequest(b), { command: 1, host: "example.com", addressType: "domain", port: 80, consumed: 18 });
  const v6 = Uint8Array.of(5, 1, 0, 4, 0xfd, 0, ...Array(13).fill(0), 1, 1, 0xbb);
  assert.deepEqual(parseRequest(v6), { command: 1, host: "fd00:0:0:0:0:0:0:1", addressType: "ipv6", port: 443, consumed: 22 });
});

test("request: unsupported address type and empty name", () => {
  assert.throws(() => parseRequest(Uint8Array.of(5, 1, 0, 9, 0, 0)), (e: Socks5Error) => e.rep === REP.ADDRESS_TYPE_NOT_SUPPORTED);
  assert.throws(() => parseRequest(Uint8Array.of(5, 1, 0, 3, 0, 0, 80)), Socks5Error);
});

test("reply encodes the code", () => {
  assert.deepEqual(Array.from(reply(REP.NOT_ALLOWED)), [5, 2, 0, 1, 0, 0, 0, 0, 0, 0]);
});
