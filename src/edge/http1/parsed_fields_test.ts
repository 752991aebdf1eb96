import { test } from "node:test";
import assert from "node:assert/strict";
import { parsedFields } from "./parsed_fields.ts";
import { parseRequestHead } from "./request_head.ts";
import { parseResponseHead } from "./response_head.ts";
import { bytes } from "./_test_helpers.ts";
import type { HeadLimits } from "./types.ts";

const LIMITS: HeadLimits = { maxHeadBytes: 8192, maxHeaders: 300 };
// Byte for character (TextDecoder's "latin1" is windows-1252, which remaps 0x80–0x9F).
const latin1 = (b: Uint8Array, s: number, e: number) => String.fromCharCode(...b.subarray(s, e));

/** The fields as `parsedFields` describes them: [name lower-cased, value] pairs, flattened. */
function fromOffsets(buf: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < parsedFields.count; i++) {
    const raw = latin1(buf, parsedFields.nameStart(i), parsedFields.nameEnd(i));
    assert.equal(parsedFields.nameHasUpperCase(i), raw !== raw.toLowerCase(), raw);
    const known = parsedFields.knownName(i);
    if (known !== null) assert.equal(known, raw.toLowerCase());
    out.push(raw.toLowerCase(), latin1(buf, parsedFields.valueStart(i), parsedFields.valueEnd(i)));
  }
  return out;
}

const HEADS = [
  "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\n\r\n",
  "HTTP/1.1 204 No Content\r\n\r\n",
  "HTTP/1.0 200\r\nX-Mixed-CASE:   padded value \t\r\nx-empty:\r\nConnection: keep-alive\r\n\r\n",
  "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\nX-Latin: caf\xe9 \x80\x9f\xff\r\nSet-Cookie: a=1\r\nset-cookie: b=2\r\n\r\n",
  `HTTP/1.1 200 OK\r\n${Array.from({ length: 200 }, (_, i) => `X-F${i}: v${i}\r\n`).join("")}\r\n`,
];

test("parsedFields describes the same fields as the decoded headers, and decodeFields: false frames alike", () => {
  for (const s of HEADS) {
    const buf = bytes(s);
    const decoded = parseResponseHead(buf, "GET", LIMITS);
    if (decoded.status !== "ok") assert.fail(`${JSON.stringify(s)}: ${JSON.stringify(decoded)}`);
    assert.deepEqual(fromOffsets(buf), decoded.head.headers, s);
    const raw = parseResponseHead(buf, "GET", LIMITS, { decodeFields: false });
    if (raw.status !== "ok") assert.fail(`${JSON.stringify(s)}: ${JSON.stringify(raw)}`);
    assert.deepEqual(raw.head, { ...decoded.head, headers: [] }, s);
    assert.deepEqual(fromOffsets(buf), decoded.head.headers, s);
  }
});

test("parsedFields follow the last parse, of a request as of a response", () => {
  const response = bytes("HTTP/1.1 200 OK\r\nServer: x\r\n\r\n");
  assert.equal(parseResponseHead(response, "GET", LIMITS, { decodeFields: false }).status, "ok");
  assert.deepEqual(fromOffsets(response), ["server", "x"]);
  const request = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-Two: 2\r\n\r\n");
  const r = parseRequestHead(request, LIMITS);
  assert.equal(r.status, "ok");
  assert.deepEqual(fromOffsets(request), ["host", "a", "x-two", "2"]);
});

test("decodeFields: false keeps every verdict, and names the bad Transfer-Encoding", () => {
  const bad = bytes("HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked, chunked\r\n\r\n");
  const r = parseResponseHead(bad, "GET", LIMITS, { decodeFields: false });
  assert.deepEqual(r, parseResponseHead(bad, "GET", LIMITS));
  assert.equal(r.status, "error");
  if (r.status === "error") assert.match(r.reason, /invalid Transfer-Encoding "chunked, chunked"/);
  for (const s of ["HTTP/1.1 200 OK\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n", "HTTP/1.1 200 OK\r\nA:\nb\r\n\r\n"]) {
    assert.deepEqual(parseResponseHead(bytes(s), "GET", LIMITS, { decodeFields: false }), parseResponseHead(bytes(s), "GET", LIMITS));
  }
});
