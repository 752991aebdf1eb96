/**
 * Micro-benchmark of weft's HTTP/1.1 request-head parser (not a test).
 *
 * Parses a typical ~300-byte browser-like GET head in a loop and prints nanoseconds per parse on the
 * current runtime, plus the cost of the other codec entry points for comparison.
 *
 *   deno run -A bench/http1_parse.ts
 *   bun bench/http1_parse.ts
 *
 * @module
 */

import {
  BodyFramer,
  encodeRequestHead,
  parseRequestHead,
  parseResponseHead,
} from "../src/edge/http1/mod.ts";

const GET_HEAD = "GET /api/v1/users/12345/orders?limit=20&cursor=abc HTTP/1.1\r\n" +
  "Host: shop.example.com\r\n" +
  "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0\r\n" +
  "Accept: application/json, text/plain, */*\r\n" +
  "Accept-Language: en-US,en;q=0.5\r\n" +
  "Accept-Encoding: gzip, deflate, br\r\n" +
  "Connection: keep-alive\r\n" +
  "\r\n";

const RESPONSE_HEAD = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 1234\r\n" +
  "Date: Tue, 03 Nov 2026 10:00:00 GMT\r\nServer: nginx\r\n\r\n";

const CHUNKED_BODY = "400\r\n" + "x".repeat(1024) + "\r\n" + "400\r\n" + "y".repeat(1024) + "\r\n0\r\n\r\n";

const LIMITS = { maxHeadBytes: 60 * 1024, maxHeaders: 100 };

function bytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

let sink = 0;

/** Runs `fn` for about `ms` milliseconds after a warm-up and returns the median of 5 rounds, in ns per call. */
function measure(fn: () => number, ms = 400): number {
  for (let i = 0; i < 50_000; i++) sink += fn();
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    let n = 0;
    const t0 = performance.now();
    let t1 = t0;
    while (t1 - t0 < ms / 5) {
      for (let i = 0; i < 10_000; i++) sink += fn();
      n += 10_000;
      t1 = performance.now();
    }
    rounds.push(((t1 - t0) * 1e6) / n);
  }
  rounds.sort((a, b) => a - b);
  return rounds[2]!;
}

function main(): void {
  const runtime = "Bun" in globalThis
    ? `Bun ${(globalThis as unknown as { Bun: { version: string } }).Bun.version}`
    : "Deno" in globalThis
    ? `Deno ${(globalThis as unknown as { Deno: { version: { deno: string } } }).Deno.version.deno}`
    : `Node ${process.version}`;
  const get = bytes(GET_HEAD);
  const response = bytes(RESPONSE_HEAD);
  const chunked = bytes(CHUNKED_BODY);
  const check = parseRequestHead(get, LIMITS);
  if (check.status !== "ok") throw new Error(`Cannot run benchmark: the GET head did not parse (${JSON.stringify(check)})`);
  const head = check.head;

  const rows: [string, number][] = [
    [`parseRequestHead, ${get.length}-byte GET, ${head.headers.length / 2} fields`, measure(() => {
      const r = parseRequestHead(get, LIMITS);
      return r.status === "ok" ? r.head.headBytes : 0;
    })],
    [`parseResponseHead, ${response.length}-byte 200`, measure(() => {
      const r = parseResponseHead(response, "GET", LIMITS);
      return r.status === "ok" ? r.head.headBytes : 0;
    })],
    [`BodyFramer chunked, 2 x 1 KiB chunks`, measure(() => {
      const r = new BodyFramer("chunked").push(chunked, 0, chunked.length);
      return r.status === "ok" ? r.used : 0;
    })],
    [`encodeRequestHead, same GET`, measure(() => encodeRequestHead(head.method, head.target, head.headers).length)],
  ];
  console.log(`weft http1 codec on ${runtime}`);
  for (const [name, ns] of rows) console.log(`  ${name.padEnd(58)} ${ns.toFixed(0).padStart(6)} ns`);
  if (sink === 42) console.log("");
}

if (import.meta.main) main();
