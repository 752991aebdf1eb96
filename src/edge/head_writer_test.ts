import { test } from "node:test";
import assert from "node:assert/strict";
import { HeadWriter } from "./head_writer.ts";

const text = (w: HeadWriter) => new TextDecoder("latin1").decode(w.bytes.subarray(0, w.length));

test("writes a head: text, fields, decimals, body bytes", () => {
  const w = new HeadWriter(8);
  w.text("HTTP/1.1 ");
  w.decimal(200);
  w.text(" OK");
  w.crlf();
  w.field("content-length", "2");
  w.field("x-latin1", "caf\u00e9");
  w.crlf();
  w.copy(new TextEncoder().encode("xhiy"), 1, 3);
  assert.equal(text(w), "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nx-latin1: caf\u00e9\r\n\r\nhi");
  assert.equal(w.bytes[w.length - 3], 0x0a);
  // latin1: one byte per character, é is 0xe9 (not UTF-8's two bytes)
  assert.ok(w.bytes.subarray(0, w.length).includes(0xe9));
  w.reset();
  w.text("again");
  assert.equal(text(w), "again");
});

test("fieldFrom copies a parsed field's bytes, lower-casing the name only when asked", () => {
  const src = new Uint8Array([..."X-Mixed-Case: caf\u00e9 v"].map((c) => c.charCodeAt(0)));
  const w = new HeadWriter(4);
  w.fieldFrom(src, 0, 12, true, 14, 20);
  w.fieldFrom(src, 0, 12, false, 14, 14);
  assert.equal(text(w), "x-mixed-case: caf\u00e9 v\r\nX-Mixed-Case: \r\n");
  assert.equal(w.bytes[17], 0xe9);
});

test("grows past its initial size and keeps what was written, for small and large copies", () => {
  const w = new HeadWriter(16);
  const big = new Uint8Array(100_000).map((_, i) => i & 0xff);
  w.text("head:");
  w.copy(big, 0, big.length);
  w.copy(big, 10, 20);
  assert.equal(w.length, 5 + 100_000 + 10);
  assert.equal(text(w).slice(0, 5), "head:");
  assert.deepEqual(w.bytes.subarray(5, 5 + 100_000), big);
  assert.deepEqual(w.bytes.subarray(5 + 100_000, w.length), big.subarray(10, 20));
});

test("uuid4 writes distinct version-4 UUIDs, also across random pool refills", () => {
  const w = new HeadWriter();
  const seen = new Set<string>();
  for (let i = 0; i < 600; i++) {
    w.reset();
    w.uuid4();
    const id = text(w);
    assert.match(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    seen.add(id);
  }
  assert.equal(seen.size, 600);
});
