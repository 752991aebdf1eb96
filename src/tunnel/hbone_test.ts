import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import type { AddressInfo } from "node:net";
import { initCa, loadCa } from "../tls/ca.ts";
import { PREFACE, Setting } from "../h2/frames.ts";
import { withTimeout } from "../../test/helpers/timeout.ts";
import { createHboneServer, HbonePool, HboneStatusError } from "./hbone.ts";

const SERVER = "spiffe://cluster.local/ns/default/sa/server";
const CLIENT = "spiffe://cluster.local/ns/default/sa/client";

async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "weft-hbone-"));
  await initCa(join(dir, "a"));
  await initCa(join(dir, "b"));
  const ca = await loadCa(join(dir, "a"));
  const other = await loadCa(join(dir, "b"));
  const s = await ca.mint(SERVER);
  const c = await ca.mint(CLIENT);
  const stranger = await other.mint(CLIENT);
  const seen: { identity: string; authority: string }[] = [];
  const handshakeErrors: string[] = [];
  const server = createHboneServer({ key: s.keyPem, cert: s.certPem, ca: ca.certPem }, (stream, headers, peer) => {
    seen.push({ identity: peer.identity, authority: String(headers[":authority"]) });
    if (headers[":authority"] === "127.0.0.1:1") return void stream.respond({ ":status": 401 }, { endStream: true });
    stream.respond({ ":status": 200 });
    let n = 0;
    stream.on("data", (d: Uint8Array) => (n += d.length));
    stream.on("end", () => stream.end(String(n)));
  }, { onHandshakeError: (e) => handshakeErrors.push(e.message) });
  await new Promise<void>((r) => server.listen({ host: "127.0.0.1", port: 0 }, r));
  const port = (server.address() as AddressInfo).port;
  return { dir, ca, c, stranger, server, port, seen, handshakeErrors };
}

test("pool: 50 streams share one session, 150 use two; identities verified both ways", async () => {
  const t = await setup();
  const pool = new HbonePool({ tls: () => ({ key: t.c.keyPem, cert: t.c.certPem, ca: t.ca.certPem }) });
  const key = { srcIdentity: CLIENT, dstIdentities: [SERVER], srcIp: "127.0.0.1", dstAddr: `127.0.0.1:${t.port}` };
  try {
    const first = await Promise.all(Array.from({ length: 50 }, () => pool.connect(key, { ":authority": "127.0.0.1:80" })));
    assert.equal(pool.sessions().length, 1);
    assert.equal(pool.sessions()[0]!.streams, 50);
    const more = await Promise.all(Array.from({ length: 100 }, () => pool.connect(key, { ":authority": "127.0.0.1:80" })));
    assert.deepEqual(pool.sessions().map((s) => s.streams).sort((a, b) => a - b), [50, 100]);
    const answers = await Promise.all([...first, ...more].map((st) =>
      new Promise<string>((resolve) => {
        let out = "";
        st.on("data", (d) => (out += d));
        st.on("end", () => resolve(out));
        st.end("hello");
      })
    ));
    assert.ok(answers.every((a) => a === "5"));
    assert.ok(t.seen.every((s) => s.identity === CLIENT));
    await assert.rejects(pool.connect(key, { ":authority": "127.0.0.1:1" }), (e: HboneStatusError) => e.status === 401);
    await assert.rejects(pool.connect({ ...key, dstIdentities: ["spiffe://cluster.local/ns/x/sa/y"] }, { ":authority": "127.0.0.1:80" }), /is not spiffe/);
  } finally {
    pool.destroy();
    t.server.close();
    await rm(t.dir, { recursive: true, force: true });
  }
});

test("pool: the destination may present any identity of the key's set, and sessions verified against different sets are not shared", async () => {
  const t = await setup();
  const pool = new HbonePool({ tls: () => ({ key: t.c.keyPem, cert: t.c.certPem, ca: t.ca.certPem }) });
  const SAN = "spiffe://cluster.local/ns/default/sa/server-v1";
  const direct = { srcIdentity: CLIENT, dstIdentities: [SAN], srcIp: "127.0.0.1", dstAddr: `127.0.0.1:${t.port}` };
  const viaService = { ...direct, dstIdentities: [SAN, SERVER] };
  try {
    const accepted = await pool.connect(viaService, { ":authority": "127.0.0.1:80" });
    assert.deepEqual(pool.sessions().map((s) => s.key.dstIdentities), [[SAN, SERVER]]);
    // Same source, same address, the session to it alive: still its own session, verified again.
    await assert.rejects(pool.connect(direct, { ":authority": "127.0.0.1:80" }), new RegExp(`server identity ${SERVER} is not ${SAN}$`));
    assert.equal(pool.sessions().length, 1);
    assert.equal(pool.sessions()[0]!.streams, 1);
    // The same set in another order is the same key.
    const again = await pool.connect({ ...viaService, dstIdentities: [SERVER, SAN] }, { ":authority": "127.0.0.1:80" });
    assert.equal(pool.sessions().length, 1);
    assert.equal(pool.sessions()[0]!.streams, 2);
    accepted.destroy();
    again.destroy();
  } finally {
    pool.destroy();
    t.server.close();
    await rm(t.dir, { recursive: true, force: true });
  }
});

test("server refuses a certificate from another CA and a client without one", async () => {
  const t = await setup();
  try {
    const attempt = (opts: tls.ConnectionOptions) =>
      new Promise<string>((resolve) => {
        const s = tls.connect({ host: "127.0.0.1", port: t.port, ALPNProtocols: ["h2"], rejectUnauthorized: false, ...opts });
        s.on("error", (e) => resolve(`error: ${e.message}`));
        s.on("close", () => resolve("closed"));
        s.on("data", () => {});
      });
    const before = t.handshakeErrors.length;
    assert.notEqual(await attempt({ key: t.stranger.keyPem, cert: t.stranger.certPem }), "");
    assert.notEqual(await attempt({}), "");
    assert.equal(t.seen.length, 0);
    assert.ok(t.handshakeErrors.length >= before + 2, t.handshakeErrors.join("; "));
  } finally {
    t.server.close();
    await rm(t.dir, { recursive: true, force: true });
  }
});

test("an HBONE server announces ztunnel's HTTP/2 windows, frame size and stream limit, not the library's defaults", async () => {
  const t = await setup();
  try {
    const socket = tls.connect({
      host: "127.0.0.1", port: t.port, ALPNProtocols: ["h2"], key: t.c.keyPem, cert: t.c.certPem, ca: t.ca.certPem,
      checkServerIdentity: () => undefined,
    });
    socket.on("error", () => {});
    socket.write(PREFACE);
    // The server's first frame is its SETTINGS: 9-byte header, then 6 bytes per setting.
    const frame = await withTimeout(new Promise<Uint8Array>((resolve) => {
      let got = new Uint8Array(0);
      socket.on("data", (d: Uint8Array) => {
        got = new Uint8Array([...got, ...d]);
        const length = (got[0]! << 16) | (got[1]! << 8) | got[2]!;
        if (got.length >= 9 + length) resolve(got.subarray(0, 9 + length));
      });
    }), 5000, "the server's SETTINGS");
    socket.destroy();
    assert.equal(frame[3], 0x4, "a SETTINGS frame");
    const settings = new Map<number, number>();
    const view = new DataView(frame.buffer, frame.byteOffset + 9, frame.length - 9);
    for (let at = 0; at < view.byteLength; at += 6) settings.set(view.getUint16(at), view.getUint32(at + 2));
    assert.equal(settings.get(Setting.INITIAL_WINDOW_SIZE), 4 << 20);
    assert.equal(settings.get(Setting.MAX_FRAME_SIZE), 1 << 20);
    assert.equal(settings.get(Setting.MAX_CONCURRENT_STREAMS), 1000);
  } finally {
    t.server.close();
    await rm(t.dir, { recursive: true, force: true });
  }
});
