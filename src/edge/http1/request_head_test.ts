import { test } from "node:test";
import assert from "node:assert/strict";
import { parseRequestHead } from "./request_head.ts";
import { KNOWN_NAMES } from "./_names.ts";
import { isValidAuthority } from "./_tables.ts";
import { bytes, parseByteAtATime } from "./_test_helpers.ts";
import type { HeadLimits, HeadResult, RequestHead } from "./types.ts";

const LIMITS: HeadLimits = { maxHeadBytes: 8192, maxHeaders: 50 };

function parse(s: string, limits: HeadLimits = LIMITS): HeadResult<RequestHead> {
  return parseByteAtATime(bytes(s), (b) => parseRequestHead(b, limits));
}

function ok(s: string, limits: HeadLimits = LIMITS): RequestHead {
  const r = parse(s, limits);
  if (r.status !== "ok") assert.fail(`expected ok for ${JSON.stringify(s)}, got ${JSON.stringify(r)}`);
  return r.head;
}

function rejects(s: string, code: number, reason?: RegExp, limits: HeadLimits = LIMITS): void {
  const r = parse(s, limits);
  if (r.status !== "error") assert.fail(`expected error ${code} for ${JSON.stringify(s)}, got ${JSON.stringify(r)}`);
  assert.equal(r.code, code, `${JSON.stringify(s)}: ${r.reason}`);
  if (reason) assert.match(r.reason, reason);
}

const req = (lines: string[]) => lines.join("\r\n") + "\r\n\r\n";

test("parseRequestHead() fills every field of a simple GET", () => {
  const s = "GET /a/b?c=1&d HTTP/1.1\r\nHost: example.com\r\nUser-Agent: t/1\r\nX-Pad:  padded \t\r\nEmpty:\r\n\r\n";
  const head = ok(s);
  assert.deepEqual(head, {
    method: "GET",
    target: "/a/b?c=1&d",
    path: "/a/b",
    query: "?c=1&d",
    minor: 1,
    headers: ["host", "example.com", "user-agent", "t/1", "x-pad", "padded", "empty", ""],
    host: "example.com",
    bodyKind: "none",
    contentLength: 0,
    keepAlive: true,
    expectContinue: false,
    upgrade: null,
    connectionNominated: null,
    forwardedFor: null,
    headBytes: s.length,
  });
});

test("parseRequestHead() stops at the end of the head and leaves pipelined bytes", () => {
  const head1 = "GET /1 HTTP/1.1\r\nHost: a\r\n\r\n";
  const r = parseRequestHead(bytes(head1 + "GET /2 HTTP/1.1\r\nHost: a\r\n\r\n"), LIMITS);
  assert.equal(r.status, "ok");
  if (r.status === "ok") {
    assert.equal(r.head.headBytes, head1.length);
    assert.equal(r.head.path, "/1");
  }
});

test("parseRequestHead() returns incomplete for every strict prefix of a valid head", () => {
  const s = "POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\n\r\n";
  for (let n = 0; n < s.length; n++) {
    assert.deepEqual(parseRequestHead(bytes(s.slice(0, n)), LIMITS), { status: "incomplete" }, `prefix ${n}`);
  }
});

test("parseRequestHead() keeps header order and duplicates, lower-cases names, trims OWS", () => {
  const head = ok(req(["GET / HTTP/1.1", "Host: a", "X-A: 1", "x-a:2", "X-Mixed-CASE-Name: \t v \t", "Cookie: a=1", "COOKIE: b=2"]));
  assert.deepEqual(head.headers, ["host", "a", "x-a", "1", "x-a", "2", "x-mixed-case-name", "v", "cookie", "a=1", "cookie", "b=2"]);
});

test("parseRequestHead() interns every known field name whatever its case", () => {
  for (const name of KNOWN_NAMES) {
    const mixed = name.split("").map((ch, i) => (i % 2 === 0 ? ch.toUpperCase() : ch)).join("");
    const extra = name === "host" || name === "content-length" || name === "transfer-encoding" ? "X-" + mixed : mixed;
    const head = ok(req(["GET / HTTP/1.1", "Host: a", `${extra}: v`]));
    assert.equal(head.headers[2], extra.toLowerCase());
  }
});

test("parseRequestHead() decodes values as latin1, byte for byte", () => {
  const head = ok("GET / HTTP/1.1\r\nHost: a\r\nX-Bin: \x80\x9f\xa0\xe9\xff\r\n\r\n");
  const value = head.headers[3]!;
  assert.deepEqual([...value].map((ch) => ch.charCodeAt(0)), [0x80, 0x9f, 0xa0, 0xe9, 0xff]);
});

test("parseRequestHead() skips empty lines before the request line (RFC 9112 §2.2), as llhttp does", () => {
  const head = ok("\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(head.method, "GET");
  assert.equal(head.headBytes, 29);
  const three = ok("\r\n\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\n\r\n");
  assert.equal(three.method, "GET");
  assert.equal(three.headBytes, 33);
  // Only CRLF pairs: a bare LF or CR stays an error.
  rejects("\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, /bare LF/);
  rejects("\r\n\nGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, /bare LF/);
  rejects(" GET / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("\rGET / HTTP/1.1\r\nHost: a\r\n\r\n", 400, /bare CR/);
  // Empty lines count toward the head limit: endless CRLFs end in 431, not an endless wait.
  const crlfs = new TextEncoder().encode("\r\n".repeat(600));
  const r = parseRequestHead(crlfs, { maxHeadBytes: 1024, maxHeaders: 100 });
  assert.equal(r.status, "error");
  assert.equal(r.status === "error" && r.code, 431);
});

test("parseRequestHead() lists the fields Connection nominates and collects X-Forwarded-For", () => {
  const plain = ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n\r\n");
  assert.equal(plain.connectionNominated, null);
  assert.equal(plain.forwardedFor, null);
  const head = ok(
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, HTTP2-Settings\r\nX-Forwarded-For: 1.2.3.4\r\n" +
      "connection: close ,X-Hop, x-absent\r\nx-forwarded-for: 5.6.7.8, 9.9.9.9\r\nUpgrade: h2c\r\nHTTP2-Settings: AA\r\nX-Hop: 1\r\n\r\n",
  );
  // Upgrade is read as a flag (an upgrade forwards it); a nominated field the head lacks is not listed.
  assert.deepEqual(head.connectionNominated, ["http2-settings", "x-hop"]);
  assert.equal(head.keepAlive, false);
  // Joined as Envoy joins repeated fields: with a bare ",".
  assert.equal(head.forwardedFor, "1.2.3.4,5.6.7.8, 9.9.9.9");
  assert.deepEqual(head.headers.filter((_, i) => i % 2 === 0), [
    "host",
    "connection",
    "x-forwarded-for",
    "connection",
    "x-forwarded-for",
    "upgrade",
    "http2-settings",
    "x-hop",
  ]);
});

test("parseRequestHead() never lists the framing fields as nominated: weft relays the bytes they frame", () => {
  // Dropping a nominated Content-Length or Transfer-Encoding while the body is relayed as received
  // made the upstream read the body as the next request (smuggling).
  const cl = ok("POST / HTTP/1.1\r\nHost: a\r\nConnection: Content-Length, transfer-encoding, X-A\r\nX-A: 1\r\nContent-Length: 2\r\n\r\n");
  assert.deepEqual(cl.connectionNominated, ["x-a"]);
  assert.equal(cl.bodyKind, "length");
  const te = ok("POST / HTTP/1.1\r\nHost: a\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n");
  assert.equal(te.connectionNominated, null);
});

test("parseRequestHead() refuses what Envoy's codec refuses in Connection (sanitizeConnectionHeader)", () => {
  // Nominating an X-Forwarded-* field could hide who the client is; a pseudo-header is never a field.
  for (const option of ["X-Forwarded-For", "x-forwarded-host", "X-FORWARDED-PROTO", ":authority"]) {
    rejects(`GET / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, ${option}\r\n\r\n`, 400, /Connection/);
  }
  // Ten options or more, across every Connection field, whatever they are.
  rejects("GET / HTTP/1.1\r\nHost: a\r\nConnection: a,b,c,d,e,f,g,h,i,j,k,l,m\r\n\r\n", 400, /Connection/);
  rejects(`GET / HTTP/1.1\r\nHost: a\r\nConnection: ${"keep-alive,".repeat(5)}\r\nConnection: ${"close, ".repeat(5)}\r\n\r\n`, 400, /Connection/);
  assert.equal(ok(`GET / HTTP/1.1\r\nHost: a\r\nConnection: ${"keep-alive, ".repeat(9)}\r\n\r\n`).keepAlive, true);
  assert.deepEqual(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: x-forwarded-for-not, x\r\nX: 1\r\n\r\n").connectionNominated, ["x"]);
  // Envoy leaves a (non-h2c) upgrade request's Connection alone.
  assert.equal(ok("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, x-forwarded-for\r\nUpgrade: websocket\r\n\r\n").upgrade, "websocket");
  rejects("GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, x-forwarded-for\r\nUpgrade: h2c\r\n\r\n", 400, /Connection/);
});

test("parseRequestHead() lists only nominated fields the head has, in linear time however many options", () => {
  // 15,000 distinct options took ~0.5 s of the worker's time per head when every one was kept (and
  // deduplicated by a linear search); the list now holds at most the head's own fields.
  const options: string[] = [];
  for (let i = 0; options.length < 15_000; i++) options.push(`o${i.toString(36)}`);
  const text = `GET / HTTP/1.1\r\nHost: a\r\nConnection: upgrade, ${options.join(",")}, o1\r\nUpgrade: websocket\r\nO1: x\r\n\r\n`;
  const r = parseRequestHead(bytes(text), { maxHeadBytes: 256 * 1024, maxHeaders: 50 });
  assert.ok(r.status === "ok", JSON.stringify(r.status === "error" && r.reason));
  assert.deepEqual(r.head.connectionNominated, ["o1"]);
});

test("parseRequestHead() validates the request line", () => {
  rejects("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", 400, /more than one space/);
  rejects("GET /  HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", 400, /trailing whitespace/);
  rejects("GET\t/ HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /\tHTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /\r\n\r\n", 400, /HTTP\/0\.9/);
  rejects("GET / \r\nHost: a\r\n\r\n", 400);
  rejects("GE(T / HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /caf\xe9 HTTP/1.1\r\nHost: a\r\n\r\n", 400, /request-target/);
  rejects("GET /a#frag HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /a\x7f HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET /a\x00 HTTP/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.1\nHost: a\r\n\r\n", 400, /bare LF/);
  rejects("GET / HTTP/1.1\rHost: a\r\n\r\n", 400, /bare CR/);
  // Methods are case-sensitive tokens: any token is a method.
  assert.equal(ok(req(["get / HTTP/1.1", "Host: a"])).method, "get");
  assert.equal(ok(req(["M-SEARCH * HTTP/1.1", "Host: a"]).replace("M-SEARCH *", "M-SEARCH /")).method, "M-SEARCH");
});

test("parseRequestHead() accepts HTTP/1.0 and HTTP/1.1, answers 505 to other well-formed versions", () => {
  assert.equal(ok("GET / HTTP/1.0\r\n\r\n").minor, 0);
  assert.equal(ok("GET / HTTP/1.0\r\n\r\n").host, null);
  rejects("GET / HTTP/2.0\r\nHost: a\r\n\r\n", 505);
  rejects("GET / HTTP/1.2\r\nHost: a\r\n\r\n", 505);
  rejects("GET / HTTP/0.9\r\n\r\n", 505);
  rejects("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", 505);
  rejects("GET / HTTP/1.10\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/11\r\nHost: a\r\n\r\n", 400);
  rejects("GET / http/1.1\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTP/1.x\r\nHost: a\r\n\r\n", 400);
  rejects("GET / HTTPS/1.1\r\nHost: a\r\n\r\n", 400);
});

test("parseRequestHead() reports an error as soon as the offending byte arrives", () => {
  assert.equal(parseRequestHead(bytes("GET / HTTP/1.1\nHo"), LIMITS).status, "error");
  assert.equal(parseRequestHead(bytes("GET / XTTP"), LIMITS).status, "error");
  assert.equal(parseRequestHead(bytes("GET / HTTP/1.1\r\nHost : a"), LIMITS).status, "error");
  assert.equal(parseRequestHead(bytes("GET / HTTP/1.1\r\nHost: a\r\n folded"), LIMITS).status, "error");
});

test("parseRequestHead() splits origin-form, absolute-form, authority-form and asterisk-form targets", () => {
  let h = ok(req(["GET /p HTTP/1.1", "Host: a"]));
  assert.deepEqual([h.path, h.query, h.host], ["/p", "", "a"]);
  h = ok(req(["GET /?x=%20&y HTTP/1.1", "Host: a"]));
  assert.deepEqual([h.path, h.query], ["/", "?x=%20&y"]);
  h = ok(req(["GET /p?a?b HTTP/1.1", "Host: a"]));
  assert.deepEqual([h.path, h.query], ["/p", "?a?b"]);

  h = ok(req(["GET http://upstream.example:8080/p/q?r=1 HTTP/1.1", "Host: other.example"]));
  assert.deepEqual([h.target, h.path, h.query, h.host], ["http://upstream.example:8080/p/q?r=1", "/p/q", "?r=1", "upstream.example:8080"]);
  h = ok(req(["GET HTTPS://U.example HTTP/1.1", "Host: u.example"]));
  assert.deepEqual([h.path, h.query, h.host], ["/", "", "U.example"]);
  h = ok(req(["GET http://u.example?x HTTP/1.1", "Host: u.example"]));
  assert.deepEqual([h.path, h.query, h.host], ["/", "?x", "u.example"]);
  h = ok(req(["GET http://[::1]:80/ HTTP/1.1", "Host: x"]));
  assert.equal(h.host, "[::1]:80");
  rejects(req(["GET http://user@u.example/ HTTP/1.1", "Host: u.example"]), 400, /authority/);
  rejects(req(["GET http:///p HTTP/1.1", "Host: u.example"]), 400);
  rejects(req(["GET ftp://u.example/ HTTP/1.1", "Host: u.example"]), 400);
  rejects(req(["GET u.example/ HTTP/1.1", "Host: u.example"]), 400);
  rejects(req(["GET http:// HTTP/1.1", "Host: u.example"]), 400);
  // Host is still required and validated with an absolute-form target.
  rejects("GET http://u.example/ HTTP/1.1\r\n\r\n", 400, /Host/);

  h = ok(req(["CONNECT db.internal:5432 HTTP/1.1", "Host: db.internal:5432"]));
  assert.deepEqual([h.method, h.path, h.query, h.host, h.bodyKind], ["CONNECT", "db.internal:5432", "", "db.internal:5432", "none"]);
  rejects(req(["CONNECT db.internal HTTP/1.1", "Host: db.internal"]), 400, /CONNECT/);
  rejects(req(["CONNECT / HTTP/1.1", "Host: db.internal"]), 400, /CONNECT/);
  rejects(req(["CONNECT http://db.internal:1/ HTTP/1.1", "Host: db.internal"]), 400, /CONNECT/);

  h = ok(req(["OPTIONS * HTTP/1.1", "Host: a"]));
  assert.deepEqual([h.path, h.query], ["*", ""]);
  rejects(req(["GET * HTTP/1.1", "Host: a"]), 400, /asterisk/);
  rejects(req(["OPTIONS *x HTTP/1.1", "Host: a"]), 400);
});

test("parseRequestHead() requires exactly one valid Host in HTTP/1.1", () => {
  rejects("GET / HTTP/1.1\r\n\r\n", 400, /without a Host/);
  rejects(req(["GET / HTTP/1.1", "Host: a", "Host: a"]), 400, /more than one Host/);
  rejects(req(["GET / HTTP/1.0", "Host: a", "Host: b"]), 400, /more than one Host/);
  for (const good of ["a", "example.com:443", "[::1]", "[2001:db8::1]:8443", "10.0.0.1:80", "xn--bcher-kva.example", "a%41b", "my_host", "h:0"]) {
    assert.equal(ok(req(["GET / HTTP/1.1", `Host: ${good}`])).host, good, good);
  }
  for (const badHost of ["", "a b", "user@a", "a/b", "a?b", "a:", "a:123456", "a:99999", "a:-1", "[::1", "[]", "[::1]x", ":80", "a%4", "a%zz", "a,b\"", "\xe9.example"]) {
    rejects(req(["GET / HTTP/1.1", `Host: ${badHost}`]), 400, undefined);
  }
  const bytes = (s: string) => Uint8Array.from(s, (c) => c.charCodeAt(0));
  assert.equal(isValidAuthority(bytes("xa.b:80"), 1, 7, true), true, "reads only its range");
  assert.equal(isValidAuthority(bytes("a.b:80x"), 0, 3, true), false, "CONNECT needs a port");
  assert.equal(isValidAuthority(bytes("a\xc4\xb1"), 0, 3, false), false, "non-ASCII bytes");
});

test("parseRequestHead() computes keepAlive from the version and Connection", () => {
  const keep = (version: string, ...conn: string[]) =>
    ok(req([`GET / ${version}`, "Host: a", ...conn.map((c) => `Connection: ${c}`)])).keepAlive;
  assert.equal(keep("HTTP/1.1"), true);
  assert.equal(keep("HTTP/1.1", "close"), false);
  assert.equal(keep("HTTP/1.1", "Close"), false);
  assert.equal(keep("HTTP/1.1", "keep-alive, close"), false);
  assert.equal(keep("HTTP/1.1", "upgrade", " CLOSE "), false);
  assert.equal(keep("HTTP/1.1", "closed"), true);
  assert.equal(keep("HTTP/1.0"), false);
  assert.equal(keep("HTTP/1.0", "keep-alive"), true);
  assert.equal(keep("HTTP/1.0", "Keep-Alive"), true);
  assert.equal(keep("HTTP/1.0", "te,keep-alive"), true);
  assert.equal(keep("HTTP/1.0", "keep-alive", "close"), false);
});

test("parseRequestHead() reads Expect: 100-continue and Upgrade", () => {
  assert.equal(ok(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: 100-Continue"])).expectContinue, true);
  assert.equal(ok(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 1", "Expect: something"])).expectContinue, false);
  assert.equal(ok(req(["POST / HTTP/1.0", "Content-Length: 1", "Expect: 100-continue"])).expectContinue, false);
  assert.equal(ok(req(["GET / HTTP/1.1", "Host: a", "Connection: Upgrade", "Upgrade: websocket"])).upgrade, "websocket");
  assert.equal(ok(req(["GET / HTTP/1.1", "Host: a", "Upgrade: websocket"])).upgrade, null);
  assert.equal(ok(req(["GET / HTTP/1.1", "Host: a", "Connection: keep-alive, upgrade"])).upgrade, null);
  assert.equal(ok(req(["GET / HTTP/1.0", "Connection: upgrade", "Upgrade: websocket"])).upgrade, null);
});

test("parseRequestHead() frames bodies with Content-Length", () => {
  let h = ok(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 42"]));
  assert.deepEqual([h.bodyKind, h.contentLength], ["length", 42]);
  h = ok(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 0"]));
  assert.deepEqual([h.bodyKind, h.contentLength], ["length", 0]);
  h = ok(req(["POST / HTTP/1.1", "Host: a", "Content-Length:  007 "]));
  assert.equal(h.contentLength, 7);
  h = ok(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 999999999999999"]));
  assert.equal(h.contentLength, 999999999999999);
  for (const v of ["", "1000000000000000", "+5", "-5", "5 5", "5,5", "5, 5", "0x5", "5a", "5.0", "\xb9", "1e3"]) {
    rejects(req(["POST / HTTP/1.1", "Host: a", `Content-Length: ${v}`]), 400, /Content-Length/);
  }
  rejects(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 5"]), 400, /more than one Content-Length/);
  rejects(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 5", "Content-Length: 6"]), 400);
});

test("parseRequestHead() frames bodies with Transfer-Encoding: chunked only", () => {
  for (const v of ["chunked", "Chunked", "CHUNKED", " chunked", "chunked\t"]) {
    const h = ok(req(["POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`]));
    assert.deepEqual([h.bodyKind, h.contentLength], ["chunked", 0], v);
  }
  for (const v of ["gzip, chunked", "identity, chunked", "gzip,chunked", "x;p=1, chunked"]) {
    rejects(req(["POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`]), 501, /unsupported/);
  }
  for (const v of ["", "identity", "gzip", "chunked, identity", "chunked, gzip", "chunked, chunked", ", chunked", "chunked,", "chunked;x=1", "chun ked", "chunked\x0b", "\"chunked\""]) {
    rejects(req(["POST / HTTP/1.1", "Host: a", `Transfer-Encoding: ${v}`]), 400);
  }
  rejects(req(["POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Transfer-Encoding: chunked"]), 400, /more than one Transfer-Encoding/);
  rejects(req(["POST / HTTP/1.1", "Host: a", "Transfer-Encoding: chunked", "Content-Length: 3"]), 400, /both/);
  rejects(req(["POST / HTTP/1.1", "Host: a", "Content-Length: 3", "Transfer-Encoding: chunked"]), 400, /both/);
  rejects(req(["POST / HTTP/1.0", "Transfer-Encoding: chunked"]), 400, /HTTP\/1\.0/);
});

test("parseRequestHead() rejects malformed field lines", () => {
  const base = "GET / HTTP/1.1\r\nHost: a\r\n";
  rejects(base + "X-A: 1\nX-B: 2\r\n\r\n", 400, /bare LF/);
  rejects(base + "X-A: 1\r\n\n", 400, /bare LF/);
  rejects(base + "X-A: 1\rX-B: 2\r\n\r\n", 400, /bare CR/);
  rejects(base + "X-A: 1\r\n\r\r\n", 400, /bare CR/);
  rejects(base + "X-A: 1\r\n folded\r\n\r\n", 400, /obs-fold/);
  rejects(base + "X-A: 1\r\n\tfolded\r\n\r\n", 400, /obs-fold/);
  rejects("GET / HTTP/1.1\r\n Host: a\r\n\r\n", 400, /first header field/);
  rejects(base + "X-A : 1\r\n\r\n", 400, /before the colon|name and the colon/);
  rejects(base + "X-A\t: 1\r\n\r\n", 400);
  rejects(base + ": 1\r\n\r\n", 400, /empty field name/i);
  rejects(base + "X(A): 1\r\n\r\n", 400, /field name/);
  rejects(base + "X-A 1\r\n\r\n", 400);
  rejects(base + "X-A\r\n\r\n", 400, /without a colon/);
  rejects(base + "X\xe9: 1\r\n\r\n", 400);
  rejects(base + "X-A: a\x00b\r\n\r\n", 400, /field value/);
  rejects(base + "X-A: a\x7fb\r\n\r\n", 400, /field value/);
  rejects(base + "X-A: a\x1bb\r\n\r\n", 400, /field value/);
  rejects(base + "X-A: a\x0bb\r\n\r\n", 400, /field value/);
  assert.equal(ok(base + "X-A: a\tb \x80\r\n\r\n").headers[3], "a\tb \x80");
});

test("parseRequestHead() enforces maxHeadBytes and maxHeaders with 431", () => {
  const s = req(["GET / HTTP/1.1", "Host: a", "X-A: " + "x".repeat(100)]);
  assert.equal(ok(s, { maxHeadBytes: s.length, maxHeaders: 10 }).headBytes, s.length);
  rejects(s, 431, /exceeds/, { maxHeadBytes: s.length - 1, maxHeaders: 10 });
  // An endless head is refused once it passes the limit, without waiting for its end.
  const endless = bytes("GET / HTTP/1.1\r\nHost: a\r\nX-A: " + "x".repeat(200));
  assert.equal(parseRequestHead(endless.subarray(0, 100), { maxHeadBytes: 100, maxHeaders: 10 }).status, "incomplete");
  const r = parseRequestHead(endless.subarray(0, 101), { maxHeadBytes: 100, maxHeaders: 10 });
  assert.equal(r.status === "error" && r.code, 431);

  const fields = (n: number) => ["GET / HTTP/1.1", "Host: a", ...Array.from({ length: n - 1 }, (_, i) => `X-${i}: ${i}`)];
  assert.equal(ok(req(fields(10)), { maxHeadBytes: 8192, maxHeaders: 10 }).headers.length, 20);
  rejects(req(fields(11)), 431, /more than 10 header fields/, { maxHeadBytes: 8192, maxHeaders: 10 });
  // More fields than the scratch area first holds.
  assert.equal(ok(req(fields(300)), { maxHeadBytes: 65536, maxHeaders: 300 }).headers.length, 600);
});
