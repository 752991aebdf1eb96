/**
 * Issue 17: back-pressure on output. A client that pipelines requests and never reads must not make
 * the proxy buffer responses without bound: once `per_connection_buffer_limit_bytes` (Envoy's
 * default, 1 MiB) of output waits, the connection is not read until it drains. Checked for local
 * replies (direct_response) and proxied responses: the proxy's memory stays bounded, another client
 * is served meanwhile, and the first client gets every response, in order, once it reads.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { connect, type Socket } from "node:net";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { startWeft, writeTempFile } from "./helpers/weft_process.ts";

const MB = 1024 * 1024;
/** How much the proxy's memory may grow while one client floods it (generous, but far below unbounded). */
const MAX_GROWTH = 100 * MB;
/**
 * The same for 20,000 pipelined proxied requests: 800 KB of requests read and about 1 MiB of
 * responses held. Without bounded output it grew 270-560 MB; with it, but with the unparsed requests
 * copied whole for each chunk that arrived behind them (quadratic), 63-72 MB on Deno.
 */
const MAX_GROWTH_PROXIED = 40 * MB;

function procStatus(pid: number, field: "VmRSS" | "VmHWM"): number {
  const m = readFileSync(`/proc/${pid}/status`, "utf8").match(new RegExp(`${field}:\\s+(\\d+) kB`));
  if (!m) throw new Error(`no ${field} for ${pid}`);
  return Number(m[1]) * 1024;
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const s = connect({ port, host: "127.0.0.1" }, () => resolve(s));
    s.once("error", reject);
  });
}

/** Resolves true on `drain`, false if none comes within `ms` (the peer stopped reading). */
function drained(s: Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    const t = setTimeout(() => {
      s.off("drain", onDrain);
      resolve(false);
    }, ms);
    const onDrain = () => {
      clearTimeout(t);
      resolve(true);
    };
    s.once("drain", onDrain);
  });
}

/**
 * Reads `count` pipelined responses (each with content-length) from a socket that was not read
 * so far, handing each body to `check` in order; rejects on close or after `timeoutMs`.
 */
function readPipelined(s: Socket, count: number, check: (body: Buffer, index: number) => void, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    let pending: Buffer = Buffer.alloc(0);
    let seen = 0;
    const timer = setTimeout(() => fail(new Error(`only ${seen} of ${count} responses within ${timeoutMs} ms`)), timeoutMs);
    const fail = (e: Error) => {
      clearTimeout(timer);
      s.destroy();
      reject(e);
    };
    s.on("data", (chunk: Buffer) => {
      pending = pending.byteLength === 0 ? chunk : Buffer.concat([pending, chunk]);
      let at = 0;
      for (;;) {
        const end = pending.indexOf("\r\n\r\n", at);
        if (end < 0) break;
        const head = pending.toString("latin1", at, end);
        const m = head.match(/\r\ncontent-length: (\d+)/i);
        if (!head.startsWith("HTTP/1.1 200 ") || !m) return fail(new Error(`response ${seen}: unexpected head ${JSON.stringify(head)}`));
        const bodyEnd = end + 4 + Number(m[1]);
        if (bodyEnd > pending.byteLength) break;
        try {
          check(pending.subarray(end + 4, bodyEnd), seen);
        } catch (e) {
          return fail(e as Error);
        }
        seen++;
        at = bodyEnd;
      }
      pending = pending.subarray(at);
      if (seen === count) {
        clearTimeout(timer);
        resolve();
      }
    });
    s.on("close", () => seen < count && fail(new Error(`closed after ${seen} of ${count} responses`)));
    s.resume();
  });
}

test("a client that pipelines and never reads is not read past the buffer limit; others are served; nothing is lost", { timeout: 300_000 }, async () => {
  const BODY_BYTES = 10 * 1024;
  const up = await startUpstream("big", (req, res) => {
    // The path, padded: each response says which request it answers.
    const body = req.url!.padEnd(BODY_BYTES, ".");
    res.writeHead(200, { "content-length": String(body.length) });
    res.end(body);
  });
  const yaml = bootstrapYaml({
    routes: `
              - match: { path: "/a" }
                direct_response: { status: 200, body: { inline_string: "A" } }
              - match: { path: "/b" }
                direct_response: { status: 200, body: { inline_string: "B" } }
              - match: { prefix: "/big/" }
                route: { cluster: big }`,
    clusters: [{ name: "big", endpoints: [up.port] }],
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  const pid = weft.child.pid!;
  const clients: Socket[] = [];
  try {
    const port = weft.listeners.edge!;
    const servedPromptly = async () => {
      const c = await RawConnection.open(port);
      const startedAt = Date.now();
      const r = await c.request("GET", "/a", {}, "", 2000);
      assert.deepEqual([r.status, r.body], [200, "A"]);
      c.close();
      return Date.now() - startedAt;
    };

    // 1. Up to 1,000,000 pipelined local replies, alternating /a and /b so that order shows.
    const base = procStatus(pid, "VmRSS");
    const flood = await openSocket(port);
    clients.push(flood);
    flood.pause();
    const BATCH = 1000;
    const batch = "GET /a HTTP/1.1\r\nhost: x\r\n\r\nGET /b HTTP/1.1\r\nhost: x\r\n\r\n".repeat(BATCH / 2);
    let sent = 0;
    while (sent < 1_000_000) {
      const ok = flood.write(batch);
      sent += BATCH;
      // A proxy that stops reading stops the writes: no drain comes.
      if (!ok && !(await drained(flood, 2000))) break;
    }
    const otherMs = await servedPromptly();
    const growth = procStatus(pid, "VmHWM") - base;
    assert.ok(growth < MAX_GROWTH, `proxy memory grew by ${(growth / MB).toFixed(0)} MB while ${sent} requests were pipelined unread`);
    await readPipelined(flood, sent, (body, i) => assert.equal(body.toString(), i % 2 === 0 ? "A" : "B", `response ${i}`), 120_000);
    flood.destroy();
    console.log(`local replies: ${sent} pipelined, proxy grew ${(growth / MB).toFixed(1)} MB, other client served in ${otherMs} ms`);

    // 2. 20,000 pipelined proxied requests whose responses (10 KiB each, 200 MB in all) are not read.
    const base2 = procStatus(pid, "VmRSS");
    const hwmBefore = procStatus(pid, "VmHWM");
    const proxied = await openSocket(port);
    clients.push(proxied);
    proxied.pause();
    const N = 20_000;
    let requests = "";
    for (let i = 0; i < N; i++) requests += `GET /big/${i} HTTP/1.1\r\nhost: x\r\n\r\n`;
    const upBefore = up.requests;
    proxied.write(requests);
    // Wait until the proxy stops sending requests upstream (its output is full) or all went.
    let last = -1;
    for (let stable = 0; stable < 10 && up.requests - upBefore < N;) {
      await new Promise((r) => setTimeout(r, 100));
      stable = up.requests === last ? stable + 1 : 0;
      last = up.requests;
    }
    const otherMs2 = await servedPromptly();
    const hwm = procStatus(pid, "VmHWM");
    // The high-water mark only counts if this phase raised it.
    const growth2 = hwm > hwmBefore ? hwm - base2 : 0;
    const forwarded = up.requests - upBefore;
    assert.ok(growth2 < MAX_GROWTH_PROXIED, `proxy memory grew by ${(growth2 / MB).toFixed(0)} MB with ${forwarded} proxied responses unread`);
    assert.ok(forwarded < N, `all ${N} requests were forwarded while the client read nothing`);
    await readPipelined(proxied, N, (body, i) => assert.equal(body.subarray(0, 12).toString().replace(/\.+$/, ""), `/big/${i}`, `response ${i}`), 120_000);
    proxied.destroy();
    console.log(`proxied: ${forwarded} of ${N} forwarded before the client read, proxy grew ${(growth2 / MB).toFixed(1)} MB, other client served in ${otherMs2} ms`);
  } finally {
    // A client still open would hold the proxy's drain (and hide why the test failed).
    for (const c of clients) c.destroy();
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

/**
 * How many of `n` pipelined proxied requests (10 KiB responses) reach the upstream while the
 * client reads nothing, once the proxy stops forwarding (no new upstream request for 1 s).
 */
async function forwardedUnread(perConnectionBufferLimitBytes: number, n: number): Promise<number> {
  const up = await startUpstream("big", (req, res) => {
    const body = req.url!.padEnd(10 * 1024, ".");
    res.writeHead(200, { "content-length": String(body.length) });
    res.end(body);
  });
  const yaml = bootstrapYaml({
    routes: `
              - match: { prefix: "/big/" }
                route: { cluster: big }`,
    clusters: [{ name: "big", endpoints: [up.port] }],
    listenerExtra: `\n    per_connection_buffer_limit_bytes: ${perConnectionBufferLimitBytes}`,
  });
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"]);
  let client: Socket | undefined;
  try {
    client = await openSocket(weft.listeners.edge!);
    client.pause();
    let requests = "";
    for (let i = 0; i < n; i++) requests += `GET /big/${i} HTTP/1.1\r\nhost: x\r\n\r\n`;
    client.write(requests);
    let last = -1;
    for (let stable = 0; stable < 10 && up.requests < n;) {
      await new Promise((r) => setTimeout(r, 100));
      stable = up.requests === last ? stable + 1 : 0;
      last = up.requests;
    }
    const forwarded = up.requests;
    // Nothing lost: every response arrives, in order, once the client reads.
    await readPipelined(client, n, (body, i) => assert.equal(body.subarray(0, 12).toString().replace(/\.+$/, ""), `/big/${i}`, `response ${i}`), 120_000);
    return forwarded;
  } finally {
    client?.destroy();
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
}

test("per_connection_buffer_limit_bytes: a small limit stops reading a client that does not read sooner than a large one", { timeout: 300_000 }, async () => {
  // Both also fill the kernel's socket buffers (a few MB on loopback); the 48 MiB between the two
  // limits is 4,800 responses more held by the proxy.
  const N = 12_000;
  const small = await forwardedUnread(16 * 1024, N);
  const large = await forwardedUnread(48 * MB, N);
  console.log(`forwarded before the client read: ${small} with a 16 KiB limit, ${large} with 48 MiB`);
  assert.ok(small < N && large < N, `some requests must wait for the client: ${small}, ${large} of ${N}`);
  assert.ok(large - small > 2400, `the 48 MiB limit forwarded ${large}, the 16 KiB one ${small}: the limit has no effect`);
});
