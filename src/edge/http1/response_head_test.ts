import { test } from "node:test";
import assert from "node:assert/strict";
import { parseResponseHead } from "./response_head.ts";
import { bytes, parseByteAtATime } from "./_test_helpers.ts";
import type { HeadLimits, HeadResult, ResponseHead } from "./types.ts";

const LIMITS: HeadLimits = { maxHeadBytes: 8192, maxHeaders: 50 };

function parse(s: string, method = "GET", limits: HeadLimits = LIMITS): HeadResult<ResponseHead> {
  return parseByteAtATime(bytes(s), (b) => parseResponseHead(b, method, limits));
}

function ok(s: string, method = "GET"): ResponseHead {
  const r = parse(s, method);
  if (r.status !== "ok") assert.fail(`expected ok for ${JSON.stringify(s)}, got ${JSON.stringify(r)}`);
  return r.head;
}

function rejects(s: string, code = 400, reason?: RegExp, method = "GET", limits: HeadLimits = LIMITS): void {
  const r = parse(s, method, limits);
  if (r.status !== "error") assert.fail(`expected error for ${JSON.stringify(s)}, got ${JSON.stringify(r)}`);
  assert.equal(r.code, code, r.reason);
  if (reason) assert.match(r.reason, reason);
}

const res = (lines: string[]) => lines.join("\r\n") + "\r\n\r\n";

test("parseResponseHead() fills every field of a 200 with Content-Length", () => {
  const s = res(["HTTP/1.1 200 OK", "Content-Type: text/plain", "Content-Length: 5"]);
  assert.deepEqual(ok(s), {
    minor: 1,
    status: 200,
    reason: "OK",
    headers: ["content-type", "text/plain", "content-length", "5"],
    bodyKind: "length",
    contentLength: 5,
    keepAlive: true,
    connectionNominated: null,
    headBytes: s.length,
  });
});

test("parseResponseHead() frames bodies per RFC 9112 §6.3", () => {
  const kind = (lines: string[], method = "GET") => {
    const h = ok(res(lines), method);
    return [h.bodyKind, h.contentLength, h.keepAlive];
  };
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"]), ["chunked", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Transfer-Encoding: gzip, chunked"]), ["chunked", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Transfer-Encoding: gzip"]), ["close", 0, false]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked, gzip"]), ["close", 0, false]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Content-Length: 0"]), ["length", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK"]), ["close", 0, false]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Content-Length: 10"], "HEAD"), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked"], "HEAD"), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 204 No Content"]), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 304 Not Modified", "Content-Length: 10"]), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 100 Continue"]), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 103 Early Hints", "Link: </a>; rel=preload"]), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 101 Switching Protocols", "Connection: Upgrade", "Upgrade: websocket"]), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 200 Connection established"], "CONNECT"), ["none", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 407 Proxy Authentication Required", "Content-Length: 0"], "CONNECT"), ["length", 0, true]);
  assert.deepEqual(kind(["HTTP/1.1 500 Oops"], "CONNECT"), ["close", 0, false]);
});

test("parseResponseHead() computes keepAlive from the version and Connection", () => {
  const keep = (lines: string[]) => ok(res(lines)).keepAlive;
  assert.equal(keep(["HTTP/1.1 200 OK", "Content-Length: 0", "Connection: close"]), false);
  assert.equal(keep(["HTTP/1.0 200 OK", "Content-Length: 0"]), false);
  assert.equal(keep(["HTTP/1.0 200 OK", "Content-Length: 0", "Connection: Keep-Alive"]), true);
  assert.equal(keep(["HTTP/1.0 200 OK", "Connection: Keep-Alive"]), false);
  assert.equal(ok(res(["HTTP/1.0 200 OK", "Content-Length: 0"])).minor, 0);
});

test("parseResponseHead() lists the fields Connection nominates, also without decoding fields", () => {
  assert.equal(ok("HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n").connectionNominated, null);
  const text = "HTTP/1.1 200 OK\r\nConnection: X-Secret, close\r\nX-Secret: 1\r\nContent-Length: 0\r\n\r\n";
  assert.deepEqual(ok(text).connectionNominated, ["x-secret"]);
  const r = parseResponseHead(bytes(text), "GET", LIMITS, { decodeFields: false });
  assert.ok(r.status === "ok");
  assert.deepEqual(r.head.connectionNominated, ["x-secret"]);
});

test("parseResponseHead() keeps the framing fields and lists only nominated fields the head has", () => {
  // A nominated Content-Length dropped while the body is relayed left the client without framing.
  const text = "HTTP/1.1 200 OK\r\nConnection: content-length, Transfer-Encoding, upgrade, x-gone\r\nContent-Length: 2\r\n\r\n";
  assert.equal(ok(text).connectionNominated, null);
  const many = Array.from({ length: 20_000 }, (_, i) => `x${i}`).join(",");
  const r = parseResponseHead(bytes(`HTTP/1.1 200 OK\r\nConnection: ${many}\r\nX7: 1\r\nContent-Length: 0\r\n\r\n`), "GET", { maxHeadBytes: 256 * 1024, maxHeaders: 50 });
  assert.ok(r.status === "ok");
  assert.deepEqual(r.head.connectionNominated, ["x7"]);
});

test("parseResponseHead() accepts an empty reason with or without its space, and obs-text", () => {
  assert.equal(ok(res(["HTTP/1.1 200 ", "Content-Length: 0"])).reason, "");
  assert.equal(ok(res(["HTTP/1.1 200", "Content-Length: 0"])).reason, "");
  assert.equal(ok(res(["HTTP/1.1 404 Not\tFound \xe9", "Content-Length: 0"])).reason, "Not\tFound \xe9");
  assert.equal(ok(res(["HTTP/1.1 599 X", "Content-Length: 0"])).status, 599);
});

test("parseResponseHead() rejects malformed status lines", () => {
  rejects(res(["HTTP/1.1 20 OK"]), 400, /three digits/);
  rejects(res(["HTTP/1.1 2000 OK"]), 400);
  rejects(res(["HTTP/1.1 099 X"]), 400, /outside/);
  rejects(res(["HTTP/1.1 600 X"]), 400, /outside/);
  rejects(res(["HTTP/2.0 200 OK"]), 400, /not supported/);
  rejects(res(["HTTP/2 200 OK"]), 400);
  rejects(res(["HTTP/1.1  200 OK"]), 400);
  rejects(res(["http/1.1 200 OK"]), 400);
  rejects(res(["HTTP/1.1 200 O\x00K"]), 400);
  rejects(res(["HTTP/1.1 200 O\x7fK"]), 400);
  rejects("HTTP/1.1 200 OK\nContent-Length: 0\r\n\r\n", 400, /bare LF/);
  rejects("HTTP/1.1 200 OK\rContent-Length: 0\r\n\r\n", 400, /bare CR/);
  rejects("HTTP/1.1 200\n\r\n", 400, /bare LF/);
  rejects("\r\nHTTP/1.1 200 OK\r\n\r\n", 400);
  rejects(res(["HTTP/1.1\t200 OK"]), 400);
});

test("parseResponseHead() rejects ambiguous framing and malformed fields", () => {
  rejects(res(["HTTP/1.1 200 OK", "Content-Length: 5", "Transfer-Encoding: chunked"]), 400, /both/);
  rejects(res(["HTTP/1.1 200 OK", "Content-Length: 5", "Content-Length: 5"]), 400, /more than one Content-Length/);
  rejects(res(["HTTP/1.1 200 OK", "Content-Length: 5, 5"]), 400, /Content-Length/);
  rejects(res(["HTTP/1.1 200 OK", "Content-Length: -1"]), 400, /Content-Length/);
  rejects(res(["HTTP/1.1 304 Not Modified", "Content-Length: x"]), 400, /Content-Length/);
  rejects(res(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"]), 400, /more than one Transfer-Encoding/);
  rejects(res(["HTTP/1.1 200 OK", "Transfer-Encoding: chunked, chunked"]), 400, /invalid Transfer-Encoding/);
  rejects(res(["HTTP/1.1 200 OK", "Transfer-Encoding: "]), 400);
  rejects(res(["HTTP/1.0 200 OK", "Transfer-Encoding: chunked"]), 400, /HTTP\/1\.0/);
  rejects(res(["HTTP/1.1 200 OK", "Content-Length: 1", " folded"]), 400, /obs-fold/);
  rejects(res(["HTTP/1.1 200 OK", "Content-Length : 1"]), 400);
  rejects(res(["HTTP/1.1 200 OK", "X-A: \x01"]), 400);
});

test("parseResponseHead() enforces the limits with 431", () => {
  const s = res(["HTTP/1.1 200 OK", "X-A: " + "x".repeat(200)]);
  rejects(s, 431, /exceeds/, "GET", { maxHeadBytes: 100, maxHeaders: 10 });
  rejects(res(["HTTP/1.1 200 OK", "A: 1", "B: 2", "C: 3"]), 431, /more than 2/, "GET", { maxHeadBytes: 1000, maxHeaders: 2 });
  assert.equal(parseResponseHead(bytes("HTTP/1.1 200 OK\r\n"), "GET", LIMITS).status, "incomplete");
  assert.equal(parseResponseHead(bytes("HTTP/1."), "GET", LIMITS).status, "incomplete");
  assert.equal(parseResponseHead(bytes(""), "GET", LIMITS).status, "incomplete");
});

test("parseResponseHead() leaves the body and later bytes to the caller", () => {
  const head = "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n";
  const r = parseResponseHead(bytes(head + "hiHTTP/1.1 200 OK\r\n"), "GET", LIMITS);
  assert.equal(r.status === "ok" && r.head.headBytes, head.length);
});
