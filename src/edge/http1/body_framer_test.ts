import { test } from "node:test";
import assert from "node:assert/strict";
import { BodyFramer, MAX_CHUNK_LINE_BYTES, MAX_TRAILER_BYTES } from "./body_framer.ts";
import { bytes } from "./_test_helpers.ts";
import type { BodyKind } from "./types.ts";

interface Outcome {
  /** Bytes consumed in total. */
  used: number;
  done: boolean;
  error: string | null;
  payload: number;
}

/** Pushes `input` in pieces of `step` bytes (each push sees only the bytes not yet consumed). */
function feed(kind: BodyKind, input: Uint8Array, step: number, length = 0): Outcome {
  const framer = new BodyFramer(kind, length);
  let pos = 0;
  // Bytes are copied in as they are "received", so the framer cannot read bytes it has not been given.
  const window = new Uint8Array(input.length);
  while (pos < input.length) {
    const end = Math.min(input.length, pos + step);
    window.set(input.subarray(pos, end), pos);
    const r = framer.push(window, pos, end);
    if (r.status === "error") return { used: pos, done: false, error: r.reason, payload: framer.payloadBytes };
    assert.ok(r.used <= end - pos);
    assert.equal(r.done, framer.done);
    pos += r.used;
    if (r.done) break;
    // A framer that is not done must consume everything it was given.
    if (pos < end) assert.fail(`framer stopped at ${pos} before the end of its input ${end} without being done`);
  }
  return { used: pos, done: framer.done, error: null, payload: framer.payloadBytes };
}

/** Feeds whole, byte at a time and in a few odd sizes; all must agree. */
function frame(kind: BodyKind, s: string, length = 0): Outcome {
  const input = bytes(s);
  const whole = feed(kind, input, input.length || 1, length);
  for (const step of [1, 2, 3, 7, 64]) {
    assert.deepEqual(
      { ...feed(kind, input, step, length), used: 0 },
      { ...whole, used: 0 },
      `step ${step} disagrees for ${JSON.stringify(s.slice(0, 80))}`,
    );
    const stepped = feed(kind, input, step, length);
    if (whole.error === null) assert.equal(stepped.used, whole.used);
  }
  return whole;
}

function chunkedOk(s: string, payload: number, rest = ""): void {
  const out = frame("chunked", s + rest);
  assert.equal(out.error, null, `${JSON.stringify(s)}: ${out.error}`);
  assert.equal(out.done, true, JSON.stringify(s));
  assert.equal(out.used, s.length, JSON.stringify(s));
  assert.equal(out.payload, payload);
}

function chunkedRejects(s: string, reason?: RegExp): void {
  const out = frame("chunked", s);
  assert.notEqual(out.error, null, `expected an error for ${JSON.stringify(s.slice(0, 80))}`);
  if (reason) assert.match(out.error!, reason);
}

test("BodyFramer('length') consumes exactly the length and leaves pipelined bytes", () => {
  const out = frame("length", "helloGET /", 5);
  assert.deepEqual(out, { used: 5, done: true, error: null, payload: 5 });
  const partial = new BodyFramer("length", 10);
  assert.deepEqual(partial.push(bytes("abc"), 0, 3), { status: "ok", used: 3, done: false });
  assert.deepEqual(partial.push(bytes("xxdefghijklmn"), 2, 13), { status: "ok", used: 7, done: true });
  assert.deepEqual(partial.push(bytes("more"), 0, 4), { status: "ok", used: 0, done: true });
});

test("BodyFramer('length', 0) and BodyFramer('none') are done at once", () => {
  for (const framer of [new BodyFramer("length", 0), new BodyFramer("none")]) {
    assert.equal(framer.done, true);
    assert.deepEqual(framer.push(bytes("GET"), 0, 3), { status: "ok", used: 0, done: true });
  }
  assert.throws(() => new BodyFramer("length", -1), RangeError);
  assert.throws(() => new BodyFramer("length", 1.5), RangeError);
  assert.throws(() => new BodyFramer("length", 2 ** 53), RangeError);
});

test("BodyFramer('close') consumes everything and never ends", () => {
  const framer = new BodyFramer("close");
  assert.deepEqual(framer.push(bytes("abcdef"), 1, 6), { status: "ok", used: 5, done: false });
  assert.deepEqual(framer.push(bytes("0\r\n\r\n"), 0, 5), { status: "ok", used: 5, done: false });
  assert.equal(framer.done, false);
  assert.equal(framer.payloadBytes, 10);
});

test("BodyFramer('chunked') frames valid bodies at any split point", () => {
  chunkedOk("0\r\n\r\n", 0);
  chunkedOk("5\r\nhello\r\n0\r\n\r\n", 5, "GET / HTTP/1.1\r\n");
  chunkedOk("5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n", 11, "5\r\nxxxxx\r\n");
  chunkedOk("A\r\n0123456789\r\na\r\n0123456789\r\n0\r\n\r\n", 20);
  chunkedOk("00000005\r\nhello\r\n000\r\n\r\n", 5);
  chunkedOk("1;name\r\nx\r\n1;a=b;c=\"d e\"\r\ny\r\n0;last\r\n\r\n", 2);
  chunkedOk("1;q=\"a\\\"b\\\\c\"\r\nx\r\n0\r\n\r\n", 1);
  chunkedOk("1;q=\"\xe9\t\"\r\nx\r\n0\r\n\r\n", 1);
  chunkedOk("5\r\nhello\r\n0\r\nExpires: never\r\nX-Sum:  abc \r\nX-Empty:\r\n\r\n", 5, "tail");
  chunkedOk("2\r\n\r\n\r\n0\r\n\r\n", 2);
  const big = "x".repeat(5000);
  chunkedOk(`1388\r\n${big}\r\n0\r\n\r\n`, 5000);
});

test("BodyFramer('chunked') accepts a size up to 2^53-1 and 16 hex digits", () => {
  for (const size of ["1fffffffffffff", "001fffffffffffff", "0000000000000004"]) {
    const framer = new BodyFramer("chunked");
    const r = framer.push(bytes(`${size}\r\nabc`), 0, size.length + 5);
    assert.deepEqual(r, { status: "ok", used: size.length + 5, done: false }, size);
  }
});

test("BodyFramer('chunked') rejects malformed chunk-size lines", () => {
  chunkedRejects("ffffffffffffffffff\r\n", /chunk size too large/);
  chunkedRejects("20000000000000\r\n", /chunk size too large/);
  chunkedRejects("00000000000000001\r\nx\r\n0\r\n\r\n", /chunk size too large/);
  chunkedRejects("0x5\r\nhello\r\n0\r\n\r\n", /invalid chunk size/);
  chunkedRejects("-1\r\n", /invalid chunk size/);
  chunkedRejects("+5\r\nhello\r\n0\r\n\r\n", /invalid chunk size/);
  chunkedRejects("\r\n", /invalid chunk size/);
  chunkedRejects(";a\r\n", /invalid chunk size/);
  chunkedRejects(" 5\r\nhello\r\n0\r\n\r\n", /whitespace before/);
  chunkedRejects("5 \r\nhello\r\n0\r\n\r\n", /whitespace after/);
  chunkedRejects("5 ;a\r\nhello\r\n0\r\n\r\n", /whitespace after/);
  chunkedRejects("5\t\r\nhello\r\n0\r\n\r\n", /whitespace after/);
  chunkedRejects("5\nhello\r\n0\r\n\r\n", /bare LF/);
  chunkedRejects("5\rhello\r\n0\r\n\r\n", /bare CR/);
  chunkedRejects("0\n\r\n", /bare LF/);
  chunkedRejects("5;\r\nhello\r\n0\r\n\r\n", /extension/);
  chunkedRejects("5; a\r\nhello\r\n0\r\n\r\n", /extension/);
  chunkedRejects("5;a=\r\nhello\r\n0\r\n\r\n", /extension/);
  chunkedRejects("5;a =b\r\nhello\r\n0\r\n\r\n", /extension/);
  chunkedRejects("5;a=b c\r\nhello\r\n0\r\n\r\n", /extension/);
  chunkedRejects("5;a=\"b\r\nhello\r\n0\r\n\r\n", /quoted/);
  chunkedRejects("5;a=\"b\"c\r\nhello\r\n0\r\n\r\n", /extension/);
  chunkedRejects("5;a=\"\\\x01\"\r\nhello\r\n0\r\n\r\n", /quoted-pair/);
  chunkedRejects("5;a\nhello\r\n0\r\n\r\n", /bare LF/);
  chunkedRejects("5g\r\nhello\r\n0\r\n\r\n", /invalid chunk size/);
  chunkedRejects(`1;a=${"b".repeat(MAX_CHUNK_LINE_BYTES)}\r\nx\r\n0\r\n\r\n`, /exceeds/);
});

test("BodyFramer('chunked') requires CRLF after chunk data", () => {
  chunkedRejects("5\r\nhelloX\r\n0\r\n\r\n", /not followed by CRLF/);
  chunkedRejects("5\r\nhello\n0\r\n\r\n", /bare LF after chunk data/);
  chunkedRejects("5\r\nhello\rX0\r\n\r\n", /not followed by CRLF/);
  chunkedRejects("5\r\nhello world\r\n0\r\n\r\n", /not followed by CRLF/);
  chunkedRejects("5\r\nhello0\r\n\r\n", /not followed by CRLF/);
});

test("BodyFramer('chunked') validates trailer fields like header fields", () => {
  chunkedRejects("0\r\nX-A: 1\r\n folded\r\n\r\n", /obs-fold/);
  chunkedRejects("0\r\n X-A: 1\r\n\r\n", /obs-fold/);
  chunkedRejects("0\r\nX-A : 1\r\n\r\n", /colon/);
  chunkedRejects("0\r\n: 1\r\n\r\n", /empty trailer field name/);
  chunkedRejects("0\r\nX(A): 1\r\n\r\n", /trailer field name/);
  chunkedRejects("0\r\nX-A\r\n\r\n", /trailer field name/);
  chunkedRejects("0\r\nX-A: a\x00b\r\n\r\n", /trailer field value/);
  chunkedRejects("0\r\nX-A: a\x7f\r\n\r\n", /trailer field value/);
  chunkedRejects("0\r\nX-A: 1\n\r\n", /bare LF/);
  chunkedRejects("0\r\nX-A: 1\r\n\n", /bare LF/);
  chunkedRejects("0\r\nX-A: 1\rX\r\n\r\n", /bare CR/);
  chunkedRejects("0\r\n\rX", /bare CR/);
  const line = `X-Pad: ${"p".repeat(1000)}\r\n`;
  chunkedOk(`0\r\n${line.repeat(Math.floor(MAX_TRAILER_BYTES / line.length))}\r\n`, 0);
  chunkedRejects(`0\r\n${line.repeat(Math.ceil(MAX_TRAILER_BYTES / line.length) + 1)}\r\n`, /trailer section exceeds/);
});

test("BodyFramer errors are sticky", () => {
  const framer = new BodyFramer("chunked");
  const first = framer.push(bytes("zz"), 0, 2);
  assert.equal(first.status, "error");
  assert.deepEqual(framer.push(bytes("0\r\n\r\n"), 0, 5), first);
  assert.equal(framer.done, false);
});
