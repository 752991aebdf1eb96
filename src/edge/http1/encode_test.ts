import { test } from "node:test";
import assert from "node:assert/strict";
import {
  CHUNK_END,
  encodeChunk,
  encodeChunkHeader,
  encodeRequestHead,
  encodeResponseHead,
  LAST_CHUNK,
  statusText,
} from "./encode.ts";
import { parseRequestHead } from "./request_head.ts";
import { parseResponseHead } from "./response_head.ts";
import { BodyFramer } from "./body_framer.ts";
import { bytes } from "./_test_helpers.ts";

const LIMITS = { maxHeadBytes: 8192, maxHeaders: 100 };

function latin1(b: Uint8Array): string {
  return String.fromCharCode(...b);
}

test("encodeRequestHead() writes an HTTP/1.1 request head with names as given", () => {
  const out = encodeRequestHead("POST", "/a?b=1", ["Host", "example.com", "x-custom", "v 1", "Content-Length", "3"]);
  assert.equal(latin1(out), "POST /a?b=1 HTTP/1.1\r\nHost: example.com\r\nx-custom: v 1\r\nContent-Length: 3\r\n\r\n");
  assert.equal(latin1(encodeRequestHead("GET", "*", [])), "GET * HTTP/1.1\r\n\r\n");
});

test("encodeResponseHead() writes an HTTP/1.1 status line and fields", () => {
  assert.equal(latin1(encodeResponseHead(200, "OK", ["content-length", "0"])), "HTTP/1.1 200 OK\r\ncontent-length: 0\r\n\r\n");
  assert.equal(latin1(encodeResponseHead(599, "", [])), "HTTP/1.1 599 \r\n\r\n");
});

test("encode*Head() round-trips parsed heads byte for byte, latin1 included", () => {
  const wire = "GET /p?q HTTP/1.1\r\nhost: a\r\nx-bin: \x80\xe9\xff\r\nx-tab: a\tb\r\n\r\n";
  const r = parseRequestHead(bytes(wire), LIMITS);
  assert.equal(r.status, "ok");
  if (r.status !== "ok") return;
  assert.deepEqual(encodeRequestHead(r.head.method, r.head.target, r.head.headers), bytes(wire));

  const resWire = "HTTP/1.1 404 Not Found \xe9\r\nset-cookie: a=1\r\nset-cookie: b=2\r\n\r\n";
  const s = parseResponseHead(bytes(resWire), "GET", LIMITS);
  assert.equal(s.status, "ok");
  if (s.status !== "ok") return;
  assert.deepEqual(encodeResponseHead(s.head.status, s.head.reason, s.head.headers), bytes(resWire));
});

test("encode*Head() refuses input that would split or corrupt the message", () => {
  assert.throws(() => encodeRequestHead("GET", "/", ["x", "a\r\nInjected: 1"]), /CR, LF or NUL/);
  assert.throws(() => encodeRequestHead("GET", "/", ["x", "a\nb"]), /CR, LF or NUL/);
  assert.throws(() => encodeRequestHead("GET", "/", ["x", "a\0b"]), /CR, LF or NUL/);
  assert.throws(() => encodeRequestHead("GET", "/", ["x y", "1"]), /header name/);
  assert.throws(() => encodeRequestHead("GET", "/", ["", "1"]), /header name/);
  assert.throws(() => encodeRequestHead("GET", "/", ["x:", "1"]), /header name/);
  assert.throws(() => encodeRequestHead("GET", "/", ["x"]), /odd length/);
  assert.throws(() => encodeRequestHead("GE T", "/", []), /method/);
  assert.throws(() => encodeRequestHead("GET", "/a b", []), /request-target/);
  assert.throws(() => encodeRequestHead("GET", "/a\r\n", []), /request-target/);
  assert.throws(() => encodeRequestHead("GET", "", []), /empty request-target/);
  assert.throws(() => encodeRequestHead("GET", "/", ["x", "\u20ac"]), /U\+20AC is not latin1/);
  assert.throws(() => encodeResponseHead(99, "x", []), /invalid status/);
  assert.throws(() => encodeResponseHead(200.5, "x", []), /invalid status/);
  assert.throws(() => encodeResponseHead(200, "OK\r\nX: 1", []), /reason phrase/);
});

test("statusText() knows the registered codes", () => {
  assert.equal(statusText(200), "OK");
  assert.equal(statusText(413), "Content Too Large");
  assert.equal(statusText(431), "Request Header Fields Too Large");
  assert.equal(statusText(502), "Bad Gateway");
  assert.equal(statusText(505), "HTTP Version Not Supported");
  assert.equal(statusText(299), "");
});

test("encodeChunk helpers produce chunks BodyFramer accepts", () => {
  assert.equal(latin1(encodeChunkHeader(0)), "0\r\n");
  assert.equal(latin1(encodeChunkHeader(255)), "ff\r\n");
  assert.equal(latin1(encodeChunk(bytes("hello"))), "5\r\nhello\r\n");
  assert.equal(latin1(encodeChunk(new Uint8Array(0))), "0\r\n\r\n");
  assert.equal(latin1(CHUNK_END), "\r\n");
  assert.equal(latin1(LAST_CHUNK), "0\r\n\r\n");
  assert.throws(() => encodeChunkHeader(-1), RangeError);
  assert.throws(() => encodeChunkHeader(2 ** 53), RangeError);

  const body = [encodeChunk(bytes("a".repeat(300))), encodeChunkHeader(2), bytes("hi"), CHUNK_END, LAST_CHUNK];
  const all = new Uint8Array(body.reduce((n, b) => n + b.length, 0));
  let at = 0;
  for (const b of body) {
    all.set(b, at);
    at += b.length;
  }
  const framer = new BodyFramer("chunked");
  assert.deepEqual(framer.push(all, 0, all.length), { status: "ok", used: all.length, done: true });
  assert.equal(framer.payloadBytes, 302);
});
