import { test } from "node:test";
import assert from "node:assert/strict";
import { ConnectError, errorResponse, parseConnectHead } from "./http_connect.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("parses a CONNECT head and reports bytes consumed", () => {
  const head = "CONNECT 127.0.1.3:8080 HTTP/1.1\r\nHost: 127.0.1.3:8080\r\nProxy-Connection: keep-alive\r\n\r\n";
  const r = parseConnectHead(enc(head + "extra"));
  assert.deepEqual(r, {
    host: "127.0.1.3",
    port: 8080,
    headers: { host: "127.0.1.3:8080", "proxy-connection": "keep-alive" },
    consumed: head.length,
  });
  assert.equal(parseConnectHead(enc(head.slice(0, -2))), undefined);
});

test("hostnames and bracketed IPv6", () => {
  assert.equal(parseConnectHead(enc("CONNECT example.com:443 HTTP/1.1\r\n\r\n"))!.host, "example.com");
  assert.equal(parseConnectHead(enc("CONNECT [fd00::1]:443 HTTP/1.1\r\n\r\n"))!.host, "fd00::1");
});

test("rejects other methods, bad targets, bad headers, oversized heads", () => {
  assert.throws(() => parseConnectHead(enc("GET / HTTP/1.1\r\n\r\n")), (e: ConnectError) => e.status === 405);
  assert.throws(() => parseConnectHead(enc("CONNECT example.com HTTP/1.1\r\n\r\n")), ConnectError);
  assert.throws(() => parseConnectHead(enc("CONNECT a:99999 HTTP/1.1\r\n\r\n")), ConnectError);
  assert.throws(() => parseConnectHead(enc("CONNECT a:1 HTTP/1.1\r\nX(A): b\r\n\r\n")), ConnectError);
  assert.throws(() => parseConnectHead(enc("CONNECT a:1 HTTP/1.1\r\nX: a\nb\r\n\r\n")), ConnectError);
  assert.throws(() => parseConnectHead(enc("CONNECT a:1 HTTP/1.1\r\nX: " + "a".repeat(9000))), (e: ConnectError) => e.status === 431);
});

test("error responses carry each status's own reason phrase; a 405 says which method is allowed", () => {
  const statusLine = (status: number) => errorResponse(status).split("\r\n")[0];
  assert.equal(statusLine(400), "HTTP/1.1 400 Bad Request");
  assert.equal(statusLine(403), "HTTP/1.1 403 Forbidden");
  assert.equal(statusLine(405), "HTTP/1.1 405 Method Not Allowed");
  assert.equal(statusLine(431), "HTTP/1.1 431 Request Header Fields Too Large");
  assert.equal(statusLine(502), "HTTP/1.1 502 Bad Gateway");
  assert.equal(statusLine(503), "HTTP/1.1 503 Service Unavailable");
  assert.match(errorResponse(405), /\r\nallow: CONNECT\r\n/);
  assert.doesNotMatch(errorResponse(400), /allow:/);
});
