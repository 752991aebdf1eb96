/**
 * Differential test: the same byte streams go to weft's codec and to an independent parser, Node's
 * llhttp (`node:http` in a `node` subprocess running node_reference_server.mjs), and the verdicts
 * (accept / reject / incomplete) must agree, except for the streams listed in EXPECTED_DIFFERENCES, each
 * with the two verdicts it was recorded with and a reason. A listed stream must still differ in exactly
 * that way: weft's recorded verdict always (a change of it fails, whether it now agrees with llhttp or
 * disagrees the other way), and llhttp's on the Node major the list was recorded with (another Node
 * may parse differently: that is reported, not failed). For requests both accept, Node's method, URL
 * and body length must equal weft's.
 *
 * Streams: every conformance vector (vectors.ts), a set of valid requests, and 200 mutants of the valid
 * requests from a fixed-seed PRNG.
 *
 * Needs a real `node` on PATH (npm's own runtime, so any machine that ran `npm install` has one); it
 * fails, naming the cause, without one.
 *
 * @module
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import net from "node:net";
import { accessSync, constants } from "node:fs";
import { delimiter, join } from "node:path";
import process from "node:process";
import { fileURLToPath } from "node:url";
import { latin1Bytes, type Outcome, runWeft, VECTORS } from "./vectors.ts";
import { prng } from "../helpers/prng.ts";

const SERVER_SCRIPT = fileURLToPath(new URL("./node_reference_server.mjs", import.meta.url));
/** How long to wait for Node's answer before calling the stream incomplete. */
const ANSWER_TIMEOUT_MS = 1500;
const CONCURRENCY = 16;
const MUTANTS = 200;
const SEED = 0x5eed_1e55;

type Verdict = Outcome["verdict"];

/** A recorded disagreement: weft's verdict, llhttp's, and why they differ. */
interface ExpectedDifference {
  weft: Verdict;
  node: Verdict;
  why: string;
}

/** weft rejects what llhttp accepts. */
const stricter = (why: string): ExpectedDifference => ({ weft: "reject", node: "accept", why });
/** weft accepts what llhttp rejects. */
const lenient = (why: string): ExpectedDifference => ({ weft: "accept", node: "reject", why });
/** weft rejects at once where llhttp waits for more bytes. */
const waitsLonger = (why: string): ExpectedDifference => ({ weft: "reject", node: "incomplete", why });

/** The Node major EXPECTED_DIFFERENCES was recorded with: llhttp's side of each entry holds for it. */
const RECORDED_NODE_MAJOR = 20;

/**
 * Streams on which weft and llhttp disagree on purpose, with the verdicts and the reason. Keys are
 * vector names, valid request names, or mutant names (`mutant-NNN (mutation; of base)`, deterministic
 * for SEED).
 */
export const EXPECTED_DIFFERENCES: Record<string, ExpectedDifference> = {
  // ── Conformance vectors: weft is stricter than llhttp ──
  "Content-Length 16 digits": waitsLonger("weft caps Content-Length at 15 digits (exact in a double, far beyond any body); llhttp takes it and waits for 10^15 bytes"),
  "TE 'gzip, chunked'": stricter("RFC 9112 §6.1: a server SHOULD answer 501 to a transfer coding it does not implement; llhttp frames the chunks and hands gzip to the application"),
  "Transfer-Encoding in HTTP/1.0": stricter("RFC 9112 §6.1: TE in HTTP/1.0 is faulty framing; llhttp honours it"),
  "request line with two spaces": stricter("weft does not use RFC 9112 §3's lenient whitespace parsing of the request line; llhttp skips extra spaces"),
  "HTTP/0.9 request line": stricter("weft never speaks HTTP/0.9; llhttp parses a request line without a version as HTTP/0.9"),
  "HTTP/2.0 in an HTTP/1 request line": stricter("weft answers 505 to versions other than 1.0/1.1; llhttp accepts 2.0 in an HTTP/1 request line"),
  "lower-case method 'get'": lenient("weft accepts any method token (RFC 9110 §9.1) and lets the origin decide; llhttp only knows a fixed list of upper-case methods"),
  "fragment in the target": stricter("a fragment is never sent (RFC 9112 §3.2), Envoy rejects it too; llhttp parses it"),
  "double Host": stricter("RFC 9112 §3.2: more than one Host is a 400; llhttp leaves Host to the application and Node keeps both"),
  "Host with userinfo": stricter("weft validates Host as an RFC 3986 authority; llhttp accepts any field value"),
  "Host with a space": stricter("weft validates Host as an RFC 3986 authority; llhttp accepts any field value"),
  "empty Host": stricter("weft needs a routable authority; llhttp accepts any field value (an empty one is valid syntax)"),
  "absolute-form with userinfo": stricter("RFC 9110 §4.2.4: userinfo is an error; llhttp does not look inside the URL"),
  "absolute-form with an unknown scheme": stricter("weft only proxies http and https targets; llhttp does not look inside the URL"),
  "CONNECT without a port": stricter("RFC 9112 §3.2.3: the authority-form needs a port; llhttp does not look inside the URL"),
  "chunk size 2^53": waitsLonger("weft caps chunk sizes at 2^53-1 and rejects at once; llhttp accepts 64-bit sizes and waits for the data"),
  "Connection nominating X-Forwarded-For": stricter("Envoy's codec refuses nominating an X-Forwarded-* field (its removal could hide the client); llhttp leaves Connection to the application"),
  "Connection with ten options": stricter("Envoy's codec refuses ten Connection options or more; llhttp leaves Connection to the application"),
  "101 header fields": stricter("weft answers 431 past maxHeaders (Envoy's max_headers_count, 100); Node has no count limit (maxHeadersCount only truncates)"),
  // ── Seeded mutants ──
  "mutant-005 (line 'Host: other.example'; of OPTIONS *)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-006 (replace@30=';',delete@3; of HEAD)": lenient("method 'HEA' is a valid token for weft; llhttp only knows fixed methods"),
  "mutant-009 (line 'Host: other.example'; of HTTP/1.0 keep-alive POST)": stricter("two Host fields: 400 even in HTTP/1.0; llhttp accepts"),
  "mutant-018 (dupline@21; of HTTP/1.0 keep-alive POST)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-019 (insert@36=\\x80,noop; of OPTIONS *)": stricter("non-ASCII byte in Host: not an authority; llhttp accepts obs-text in any value"),
  "mutant-020 (line 'Host: other.example',insert@122=','; of WebSocket upgrade)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-022 (replace@26=\\x80,case@54; of PUT with empty body)": stricter("non-ASCII byte in Host: not an authority; llhttp accepts obs-text in any value"),
  "mutant-024 (line 'Connection: close',line 'Host: other.example'; of OPTIONS *)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-025 (case@0; of empty header value)": lenient("method 'gET' is a valid token for weft; llhttp only knows fixed upper-case methods"),
  "mutant-028 (dupline@21; of HTTP/1.0 keep-alive POST)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-030 (dupline@16,line 'Expect: 100-continue'; of empty header value)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-039 (replace@29=\\x09; of pipelined pair)": stricter("HTAB inside Host: not an authority; llhttp accepts any field value"),
  "mutant-052 (line 'Host: other.example',delete@62; of pipelined pair)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-056 (line 'Host: other.example'; of PUT with empty body)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-061 (dupline@17,case@13; of HEAD)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-067 (dupline@23; of chunked POST)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-068 (replace@26='@'; of absolute-form)": stricter("userinfo in the absolute-form authority (RFC 9110 §4.2.4); llhttp does not look inside the URL"),
  "mutant-071 (case@99,dupline@23; of chunked POST)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-094 (line 'Expect: 100-continue',line 'Transfer-Encoding: chunked'; of CONNECT)": stricter("CONNECT with Transfer-Encoding: weft refuses framing on a tunnel request; llhttp ignores it for CONNECT"),
  "mutant-095 (dupline@21,insert@33='/'; of HTTP/1.0 keep-alive POST)": stricter("two Host fields, one with '/': 400; llhttp accepts"),
  "mutant-101 (line 'Host: other.example',dupline@37; of obs-text and tabs in a value)": stricter("three Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-114 (replace@26='?'; of OPTIONS *)": stricter("'?' in Host: not an authority; llhttp accepts any field value"),
  "mutant-138 (dupline@23; of chunked POST with extension and trailer)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-139 (dupline@20; of Expect 100-continue)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-175 (insert@40='#',noop; of POST with Content-Length)": stricter("'#' in Host: not an authority; llhttp accepts any field value"),
  "mutant-181 (line 'Transfer-Encoding: identity'; of CONNECT)": stricter("Transfer-Encoding identity (chunked not final): RFC 9112 §6.3 400; llhttp ignores framing for CONNECT"),
  "mutant-184 (dupline@21; of HTTP/1.0 keep-alive POST)": stricter("two (identical) Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-191 (line 'Host: other.example'; of chunked POST with extension and trailer)": stricter("two Host fields: RFC 9112 §3.2 400; llhttp accepts"),
  "mutant-198 (insert@25='9',delete@14; of absolute-form)": stricter("port 80980 > 65535 in the absolute-form authority; llhttp does not look inside the URL"),
};

// ── Node reference server ────────────────────────────────────────────────────────────────────────

/**
 * The absolute path of a real `node` on PATH and its version, or null. Resolved by hand because Deno's
 * node:child_process runs Deno itself for a bare `node` when none is on PATH, and Deno's node:http is
 * not llhttp.
 */
function findNode(): { path: string; version: string } | null {
  for (const dir of (process.env.PATH ?? "").split(delimiter)) {
    if (dir === "") continue;
    const candidate = join(dir, process.platform === "win32" ? "node.exe" : "node");
    try {
      accessSync(candidate, constants.X_OK);
    } catch {
      continue;
    }
    const probe = "process.stdout.write(typeof Deno === 'undefined' && typeof Bun === 'undefined' ? process.version : 'not-node')";
    const r = spawnSync(candidate, ["-e", probe], { timeout: 10_000, encoding: "utf8" });
    if (r.status === 0 && /^v\d+\./.test(r.stdout)) return { path: candidate, version: r.stdout };
  }
  return null;
}

const FOUND = findNode();
const NODE = FOUND?.path ?? "node";
const NODE_VERSION = FOUND?.version ?? "none";
const NODE_MAJOR = Number(/^v(\d+)\./.exec(NODE_VERSION)?.[1] ?? NaN);

/** Fails (rather than skips) without a reference parser: every machine that runs `npm test` has node. */
function needNode(): void {
  assert.ok(FOUND !== null, "`node` is not on PATH: the differential test needs the system node binary (llhttp) as its reference parser");
}

interface Reference {
  port: number;
  stop(): Promise<void>;
}

async function startReference(): Promise<Reference> {
  const child: ChildProcess = spawn(NODE, [SERVER_SCRIPT], { stdio: ["pipe", "pipe", "inherit"] });
  const exited = new Promise<void>((resolve) => child.once("exit", () => resolve()));
  const stop = async () => {
    child.stdin?.end();
    const timer = setTimeout(() => child.kill("SIGKILL"), 2000);
    await exited;
    clearTimeout(timer);
  };
  try {
    const port = await new Promise<number>((resolve, reject) => {
      let out = "";
      const timer = setTimeout(() => reject(new Error("Cannot start the Node reference server: no port within 10 s")), 10_000);
      child.once("error", (err) => {
        clearTimeout(timer);
        reject(err);
      });
      child.once("exit", (code) => {
        clearTimeout(timer);
        reject(new Error(`Cannot start the Node reference server: it exited with ${code}`));
      });
      child.stdout!.on("data", (chunk: Uint8Array) => {
        out += new TextDecoder().decode(chunk);
        const nl = out.indexOf("\n");
        if (nl < 0) return;
        clearTimeout(timer);
        child.stdout!.removeAllListeners("data");
        child.stdout!.resume();
        resolve((JSON.parse(out.slice(0, nl)) as { port: number }).port);
      });
    });
    return { port, stop };
  } catch (err) {
    child.kill("SIGKILL");
    await exited;
    throw err;
  }
}

// ── Talking to it ─────────────────────────────────────────────────────────────────────────────────

type NodeOutcome =
  | { verdict: "accept"; method: string; url: string; bodyLength: number }
  | { verdict: "reject"; status: number; detail: string }
  | { verdict: "incomplete" };

interface Parsed {
  status: number;
  /** The `x-parsed` header (base64 JSON) of a 200 from the reference server. */
  parsed: string | null;
  body: string;
}

/** Finds the first final (non-1xx) response in `b`, or null while it is incomplete. */
function parseAnswer(b: Uint8Array): Parsed | null {
  const text = new TextDecoder("latin1").decode(b);
  let start = 0;
  for (;;) {
    const end = text.indexOf("\r\n\r\n", start);
    if (end < 0) return null;
    const head = text.slice(start, end);
    const status = Number(head.slice(9, 12));
    if (status >= 100 && status < 200) {
      start = end + 4;
      continue;
    }
    const parsed = /\r\nx-parsed:\s*([A-Za-z0-9+/=]+)/i.exec(head);
    // An answer with x-parsed is complete at its head (answers to HEAD have no body).
    if (parsed) return { status, parsed: parsed[1]!, body: "" };
    const match = /\r\ncontent-length:\s*(\d+)/i.exec(head);
    const length = match ? Number(match[1]) : 0;
    if (text.length < end + 4 + length) return null;
    return { status, parsed: null, body: text.slice(end + 4, end + 4 + length) };
  }
}

interface Described {
  method: string;
  url: string;
  bodyLength: number;
}

function askNode(port: number, input: Uint8Array): Promise<NodeOutcome> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: "127.0.0.1", port });
    const received: Uint8Array[] = [];
    let size = 0;
    let settled = false;
    const finish = (outcome: NodeOutcome) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const fromAnswer = (answer: Parsed): NodeOutcome => {
      if (answer.status === 200 && answer.parsed !== null) {
        const d = JSON.parse(atob(answer.parsed)) as Described;
        return { verdict: "accept", method: d.method, url: d.url, bodyLength: d.bodyLength };
      }
      let first: Described | null = null;
      try {
        first = (JSON.parse(answer.body) as { first: Described | null }).first;
      } catch {
        // Not from our clientError handler.
      }
      // The error is in a later pipelined message: llhttp accepted the first one, which is what we compare.
      if (first) return { verdict: "accept", method: first.method, url: first.url, bodyLength: -1 };
      return { verdict: "reject", status: answer.status, detail: answer.body };
    };
    const timer = setTimeout(() => finish({ verdict: "incomplete" }), ANSWER_TIMEOUT_MS);
    socket.on("connect", () => socket.write(input));
    socket.on("data", (chunk: Uint8Array) => {
      received.push(chunk);
      size += chunk.length;
      const all = new Uint8Array(size);
      let at = 0;
      for (const c of received) {
        all.set(c, at);
        at += c.length;
      }
      const answer = parseAnswer(all);
      if (answer) finish(fromAnswer(answer));
    });
    // Closed without a whole answer: llhttp gave up on the stream, which is a rejection.
    socket.on("close", () => finish({ verdict: "reject", status: 0, detail: "connection closed without an answer" }));
    socket.on("error", () => {});
  });
}

// ── Streams ───────────────────────────────────────────────────────────────────────────────────────

interface Stream {
  name: string;
  input: string;
}

const H = "Host: example.com\r\n";

/** Valid requests: the mutation bases, and a check that the two parsers read ordinary traffic alike. */
const VALID: Stream[] = [
  { name: "valid: GET with query", input: `GET /search?q=a+b&lang=en HTTP/1.1\r\n${H}Accept: */*\r\n\r\n` },
  { name: "valid: browser-like GET", input: `GET /app/main.js HTTP/1.1\r\nHost: shop.example.com\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64)\r\nAccept: */*\r\nAccept-Language: en-US,en;q=0.5\r\nAccept-Encoding: gzip, deflate, br\r\nReferer: https://shop.example.com/\r\nCookie: a=1; b=2\r\nConnection: keep-alive\r\n\r\n` },
  { name: "valid: POST with Content-Length", input: `POST /api/items HTTP/1.1\r\n${H}Content-Type: application/json\r\nContent-Length: 13\r\n\r\n{"name":"a1"}` },
  { name: "valid: chunked POST", input: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n4\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\n\r\n` },
  { name: "valid: chunked POST with extension and trailer", input: `POST /upload HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\nTrailer: X-Sum\r\n\r\n3;name=value\r\nabc\r\n0\r\nX-Sum: 3\r\n\r\n` },
  { name: "valid: PUT with empty body", input: `PUT /r/1 HTTP/1.1\r\n${H}Content-Length: 0\r\n\r\n` },
  { name: "valid: DELETE", input: `DELETE /r/1 HTTP/1.1\r\n${H}Authorization: Bearer abc.def\r\n\r\n` },
  { name: "valid: HEAD", input: `HEAD / HTTP/1.1\r\n${H}\r\n` },
  { name: "valid: OPTIONS *", input: `OPTIONS * HTTP/1.1\r\n${H}\r\n` },
  { name: "valid: HTTP/1.0 GET without Host", input: `GET /old HTTP/1.0\r\nUser-Agent: ancient\r\n\r\n` },
  { name: "valid: HTTP/1.0 keep-alive POST", input: `POST /form HTTP/1.0\r\nHost: example.com\r\nConnection: keep-alive\r\nContent-Length: 7\r\n\r\na=1&b=2` },
  { name: "valid: absolute-form", input: `GET http://example.com:8080/p?q=1 HTTP/1.1\r\nHost: example.com:8080\r\n\r\n` },
  { name: "valid: IPv6 Host with port", input: `GET / HTTP/1.1\r\nHost: [2001:db8::1]:8443\r\n\r\n` },
  { name: "valid: percent-encoded path", input: `GET /a%20b/%E2%82%AC?x=%2F HTTP/1.1\r\n${H}\r\n` },
  { name: "valid: obs-text and tabs in a value", input: `GET / HTTP/1.1\r\n${H}X-Note: caf\xe9\tau lait\r\n\r\n` },
  { name: "valid: empty header value", input: `GET / HTTP/1.1\r\n${H}X-Empty:\r\nX-Spaces:   \r\n\r\n` },
  { name: "valid: Expect 100-continue", input: `POST /big HTTP/1.1\r\n${H}Expect: 100-continue\r\nContent-Length: 4\r\n\r\nbody` },
  { name: "valid: WebSocket upgrade", input: `GET /ws HTTP/1.1\r\n${H}Connection: Upgrade\r\nUpgrade: websocket\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n` },
  { name: "valid: CONNECT", input: `CONNECT db.internal:5432 HTTP/1.1\r\nHost: db.internal:5432\r\n\r\n` },
  { name: "valid: 50 headers", input: `GET / HTTP/1.1\r\n${H}${Array.from({ length: 49 }, (_, i) => `X-Field-${i}: value-${i}\r\n`).join("")}\r\n` },
  { name: "valid: 8 KiB URL", input: `GET /${"a".repeat(8192)} HTTP/1.1\r\n${H}\r\n` },
  { name: "valid: 64 KiB body", input: `POST /blob HTTP/1.1\r\n${H}Content-Length: 65536\r\n\r\n${"z".repeat(65536)}` },
  { name: "valid: many small chunks", input: `POST /c HTTP/1.1\r\n${H}Transfer-Encoding: chunked\r\n\r\n${"1\r\nx\r\n".repeat(100)}0\r\n\r\n` },
  { name: "valid: pipelined pair", input: `GET /1 HTTP/1.1\r\n${H}\r\nGET /2 HTTP/1.1\r\n${H}\r\n` },
];

const INTERESTING = [" ", "\t", "\r", "\n", ":", "\x00", "\x7f", "\x80", "\xff", ",", ";", '"', "0", "9", "a", "F", "x", "-", "/", "?", "#", "@", "(", "\x0b", "\x0c"];
const LINES = [
  "Transfer-Encoding: chunked",
  "Transfer-Encoding: identity",
  "Content-Length: 0",
  "Content-Length: 4",
  "Content-Length: 4, 4",
  "Host: other.example",
  "Connection: close",
  "Expect: 100-continue",
  " folded",
  "X-Dup: 1",
];

/** Shows a mutation byte readably in a name: printable ASCII as is, others as \xNN. */
function show(ch: string): string {
  const c = ch.charCodeAt(0);
  return c >= 0x21 && c <= 0x7e ? `'${ch}'` : `\\x${c.toString(16).padStart(2, "0")}`;
}

/** Applies one or two random mutations to `base`; returns the mutant and a short description. */
function mutate(base: string, rand: () => number): { input: string; what: string } {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  let s = base;
  const what: string[] = [];
  const rounds = rand() < 0.7 ? 1 : 2;
  for (let r = 0; r < rounds; r++) {
    const at = Math.floor(rand() * s.length);
    const op = Math.floor(rand() * 6);
    if (op === 0) {
      const ch = pick(INTERESTING);
      s = s.slice(0, at) + ch + s.slice(at + 1);
      what.push(`replace@${at}=${show(ch)}`);
    } else if (op === 1) {
      s = s.slice(0, at) + s.slice(at + 1);
      what.push(`delete@${at}`);
    } else if (op === 2) {
      const ch = pick(INTERESTING);
      s = s.slice(0, at) + ch + s.slice(at);
      what.push(`insert@${at}=${show(ch)}`);
    } else if (op === 3) {
      // Duplicate the header line containing `at`.
      const lineStart = s.lastIndexOf("\r\n", at) + 2;
      const lineEnd = s.indexOf("\r\n", at);
      if (lineStart > 1 && lineEnd > lineStart) {
        s = s.slice(0, lineEnd + 2) + s.slice(lineStart, lineEnd + 2) + s.slice(lineEnd + 2);
        what.push(`dupline@${lineStart}`);
      } else {
        what.push("noop");
      }
    } else if (op === 4) {
      const ch = s[at] ?? "";
      const flipped = ch === ch.toUpperCase() ? ch.toLowerCase() : ch.toUpperCase();
      s = s.slice(0, at) + flipped + s.slice(at + 1);
      what.push(`case@${at}`);
    } else {
      // Insert a header line after the request line.
      const line = pick(LINES);
      const afterRequestLine = s.indexOf("\r\n") + 2;
      s = s.slice(0, afterRequestLine) + line + "\r\n" + s.slice(afterRequestLine);
      what.push(`line '${line}'`);
    }
  }
  return { input: s, what: what.join(",") };
}

function mutants(): Stream[] {
  const rand = prng(SEED);
  // Small bases only, so a mutant that leaves a body incomplete costs one timeout, not megabytes.
  const bases = VALID.filter((v) => v.input.length < 600);
  const out: Stream[] = [];
  for (let i = 0; i < MUTANTS; i++) {
    const base = bases[Math.floor(rand() * bases.length)]!;
    const { input, what } = mutate(base.input, rand);
    out.push({ name: `mutant-${String(i).padStart(3, "0")} (${what}; of ${base.name.slice(7)})`, input });
  }
  return out;
}

// ── Comparison ────────────────────────────────────────────────────────────────────────────────────

function describeWeft(o: Outcome): string {
  return o.verdict === "reject" ? `reject ${o.code} (${o.reason})` : o.verdict;
}

function describeNode(o: NodeOutcome): string {
  return o.verdict === "reject" ? `reject ${o.status} ${o.detail}` : o.verdict;
}

async function pool<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const workers = Array.from({ length: Math.min(limit, items.length) }, async () => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i]!);
    }
  });
  await Promise.all(workers);
  return results;
}

/** Sends every stream to Node, compares, and fails on unlisted disagreements. */
async function compareAll(streams: readonly Stream[]): Promise<void> {
  const names = new Set<string>();
  for (const s of streams) {
    assert.ok(!names.has(s.name), `duplicate stream name ${s.name}`);
    names.add(s.name);
  }
  const reference = await startReference();
  let results: { stream: Stream; weft: Outcome; node: NodeOutcome }[];
  try {
    results = await pool(streams, CONCURRENCY, async (stream) => {
      const input = latin1Bytes(stream.input);
      return { stream, weft: runWeft(input), node: await askNode(reference.port, input) };
    });
  } finally {
    await reference.stop();
  }

  const unexpected: string[] = [];
  const unexpectedNames: string[] = [];
  const mismatched: string[] = [];
  const changed: string[] = [];
  const otherNode: string[] = [];
  let agreed = 0;
  for (const { stream, weft, node } of results) {
    const expected = Object.hasOwn(EXPECTED_DIFFERENCES, stream.name) ? EXPECTED_DIFFERENCES[stream.name]! : null;
    const seen = `weft ${describeWeft(weft)}; node ${describeNode(node)} (recorded: weft ${expected?.weft}, node ${expected?.node})`;
    if (expected && expected.weft !== weft.verdict) changed.push(`${stream.name}: ${seen}`);
    else if (expected && expected.node !== node.verdict) {
      (NODE_MAJOR === RECORDED_NODE_MAJOR ? changed : otherNode).push(`${stream.name}: ${seen}`);
    }
    if (weft.verdict !== node.verdict) {
      if (!expected) unexpectedNames.push(stream.name);
      if (!expected) unexpected.push(`${JSON.stringify(stream.name)}: weft ${describeWeft(weft)}; node ${describeNode(node)}\n    input ${JSON.stringify(stream.input.slice(0, 300))}`);
      continue;
    }
    agreed++;
    if (weft.verdict === "accept" && node.verdict === "accept") {
      const ours = { method: weft.head.method, url: weft.head.target, bodyLength: node.bodyLength < 0 ? -1 : weft.bodyBytes };
      const theirs = { method: node.method, url: node.url, bodyLength: node.bodyLength };
      try {
        assert.deepEqual(ours, theirs);
      } catch {
        mismatched.push(`${stream.name}: weft ${JSON.stringify(ours)}; node ${JSON.stringify(theirs)}`);
      }
    }
  }
  if (otherNode.length > 0) {
    console.log(`differential: llhttp in ${NODE_VERSION} (the list was recorded with Node ${RECORDED_NODE_MAJOR}) differs from the recorded verdict on:\n  ${otherNode.join("\n  ")}`);
  }
  console.log(`differential: ${agreed}/${results.length} streams agree with llhttp (${NODE_VERSION}), ${results.length - agreed} differ`);
  if (unexpected.length > 0) {
    console.log("differential: unlisted disagreements (names for EXPECTED_DIFFERENCES):\n" +
      unexpectedNames.map((n) => `  ${JSON.stringify(n)}: "",`).join("\n"));
  }
  assert.deepEqual(changed, [], "listed differences no longer differ as recorded (update EXPECTED_DIFFERENCES with the reason, or fix the change)");
  assert.deepEqual(mismatched, [], "weft and llhttp both accepted these but parsed them differently");
  assert.deepEqual(unexpected, [], "weft and llhttp disagree on streams missing from EXPECTED_DIFFERENCES");
}

test("differential vs llhttp: conformance vectors", async () => {
  needNode();
  await compareAll(VECTORS.map((v) => ({ name: v.name, input: v.input })));
});

test("differential vs llhttp: valid requests", async () => {
  needNode();
  await compareAll(VALID);
  // The valid set must be valid for weft too.
  for (const v of VALID) assert.equal(runWeft(latin1Bytes(v.input)).verdict, "accept", v.name);
});

test("differential vs llhttp: 200 seeded mutants of valid requests", async () => {
  needNode();
  await compareAll(mutants());
});
