/**
 * Our HTTP/2 session against an independent implementation, `node:http2`, in both roles, over the
 * same mutual TLS that HBONE uses: concurrent CONNECT streams carrying more than every window,
 * checked by hash both ways, non-200 answers and resets from the other side.
 */

import { test } from "node:test";
import assert from "node:assert/strict";
import { createHash, randomBytes } from "node:crypto";
import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { Duplex } from "node:stream";
import tls from "node:tls";
import { initCa, loadCa } from "../tls/ca.ts";
import { ErrorCode, H2StreamError } from "./frames.ts";
import { H2Session, type H2SessionOptions, type H2Stream, type IncomingHeaders } from "./session.ts";
import { withTimeout } from "../../test/helpers/timeout.ts";

/** How long any one wait in these tests may take. */
const WAIT_MS = 15_000;

const IS_DENO = "Deno" in globalThis;
const STREAMS = 8;
/** Per stream and direction: more than a stream window and, over all streams, the connection's. */
const BYTES = 3 << 20;
/** Small windows make flow control work hard; the defaults would let a stream finish in one go. */
const SMALL: H2SessionOptions = { streamWindow: 128 << 10, connectionWindow: 512 << 10, maxFrameSize: 32 << 10 };

async function material() {
  const dir = await mkdtemp(join(tmpdir(), "weft-h2-"));
  await initCa(dir);
  const ca = await loadCa(dir);
  const server = await ca.mint("spiffe://cluster.local/ns/default/sa/server");
  const client = await ca.mint("spiffe://cluster.local/ns/default/sa/client");
  return {
    server: { key: server.keyPem, cert: server.certPem, ca: ca.certPem },
    client: { key: client.keyPem, cert: client.certPem, ca: ca.certPem },
    cleanup: () => rm(dir, { recursive: true, force: true }),
  };
}
type Material = Awaited<ReturnType<typeof material>>;

const TLS_COMMON = { minVersion: "TLSv1.3", ALPNProtocols: ["h2"] } as const;

/** Writes `total` random bytes with backpressure and ends; meanwhile hashes what comes back. */
function exchange(stream: Duplex, total: number): Promise<{ sent: string; got: string; gotBytes: number }> {
  const sent = createHash("sha256");
  const got = createHash("sha256");
  let gotBytes = 0;
  const received = new Promise<void>((resolve, reject) => {
    stream.on("data", (d: Uint8Array) => {
      got.update(d);
      gotBytes += d.length;
    });
    stream.once("end", resolve);
    stream.once("error", reject);
  });
  const written = (async () => {
    for (let at = 0; at < total; at += 100_000) {
      const chunk = randomBytes(Math.min(100_000, total - at));
      sent.update(chunk);
      if (!stream.write(chunk)) await new Promise((r) => stream.once("drain", r));
    }
    stream.end();
  })();
  return Promise.all([written, received]).then(() => ({ sent: sent.digest("hex"), got: got.digest("hex"), gotBytes }));
}

/** The server side of every test: echoes a CONNECT stream back, unless the authority says otherwise. */
function serve(stream: Duplex, authority: string, respond: (status: number, end: boolean) => void): void {
  stream.on("error", () => {});
  if (authority === "refuse:1") return respond(403, true);
  respond(200, false);
  if (authority === "reset:1") {
    stream.once("data", () => (stream as H2Stream | http2.ServerHttp2Stream).close(ErrorCode.CANCEL));
    return;
  }
  stream.pipe(stream);
}

async function ourClient(m: Material, port: number): Promise<H2Session> {
  const socket = tls.connect({ ...TLS_COMMON, ...m.client, host: "127.0.0.1", port, checkServerIdentity: () => undefined });
  await new Promise<void>((resolve, reject) => {
    socket.once("secureConnect", resolve);
    socket.once("error", reject);
  });
  assert.equal(socket.alpnProtocol, "h2");
  return new H2Session(socket, "client", SMALL);
}

function connect(session: H2Session, authority: string): Promise<{ stream: H2Stream; headers: IncomingHeaders }> {
  const stream = session.request({ ":method": "CONNECT", ":authority": authority });
  return new Promise((resolve, reject) => {
    stream.once("response", (headers: IncomingHeaders) => resolve({ stream, headers }));
    stream.once("error", reject);
  });
}

test("our client against a node:http2 server: concurrent streams both ways, 403, reset", async () => {
  const m = await material();
  const server = http2.createSecureServer({ ...TLS_COMMON, ...m.server, requestCert: true, rejectUnauthorized: true });
  server.on("stream", (stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders) => {
    serve(stream, String(headers[":authority"]), (status, end) => stream.respond({ ":status": status }, { endStream: end }));
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const session = await ourClient(m, (server.address() as AddressInfo).port);
  try {
    const results = await withTimeout(
      Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
        const { stream, headers } = await connect(session, `echo:${i}`);
        assert.equal(headers[":status"], "200");
        return exchange(stream, BYTES);
      })),
      WAIT_MS,
      "echo streams",
    );
    for (const r of results) {
      assert.equal(r.gotBytes, BYTES);
      assert.equal(r.got, r.sent);
    }
    assert.equal(session.totalStreams, STREAMS);

    const refused = await connect(session, "refuse:1");
    assert.equal(refused.headers[":status"], "403");
    await withTimeout(new Promise((r) => refused.stream.once("end", r).resume()), WAIT_MS, "the 403 stream ends");

    const reset = await connect(session, "reset:1");
    reset.stream.write(new Uint8Array(10));
    const err = await withTimeout(new Promise<Error>((r) => reset.stream.once("error", r)), WAIT_MS, "the reset arrives");
    assert.ok(err instanceof H2StreamError);
    assert.equal(err.code, ErrorCode.CANCEL);
    assert.equal(session.destroyed, false, "a stream reset leaves the session up");
  } finally {
    session.destroy();
    await new Promise((r) => server.close(r));
    await m.cleanup();
  }
});

test("a node:http2 client against our server: concurrent streams both ways, 403, reset, GOAWAY", async () => {
  const m = await material();
  const sessions: H2Session[] = [];
  const server = tls.createServer({ ...TLS_COMMON, ...m.server, requestCert: true, rejectUnauthorized: true });
  server.on("secureConnection", (socket) => {
    const session = new H2Session(socket, "server", SMALL);
    sessions.push(session);
    session.on("stream", (stream, headers) => {
      serve(stream, headers[":authority"]!, (status, end) => stream.respond({ ":status": status }, { endStream: end }));
    });
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const client = http2.connect(`https://127.0.0.1:${(server.address() as AddressInfo).port}`, {
    ...TLS_COMMON,
    ...m.client,
    checkServerIdentity: () => undefined,
  });
  client.on("error", () => {});
  const request = (authority: string) => {
    const stream = client.request({ ":method": "CONNECT", ":authority": authority });
    return new Promise<{ stream: http2.ClientHttp2Stream; status: number }>((resolve, reject) => {
      stream.once("response", (h) => resolve({ stream, status: Number(h[":status"]) }));
      stream.once("error", reject);
    });
  };
  try {
    const results = await withTimeout(
      Promise.all(Array.from({ length: STREAMS }, async (_, i) => {
        const { stream, status } = await request(`echo:${i}`);
        assert.equal(status, 200);
        return exchange(stream, BYTES);
      })),
      WAIT_MS,
      "echo streams",
    );
    for (const r of results) {
      assert.equal(r.gotBytes, BYTES);
      assert.equal(r.got, r.sent);
    }

    const refused = await request("refuse:1");
    assert.equal(refused.status, 403);

    const reset = await request("reset:1");
    reset.stream.on("error", () => {});
    const closed = new Promise<number>((r) => reset.stream.once("close", () => r(reset.stream.rstCode ?? -1)));
    reset.stream.write(new Uint8Array(10));
    assert.equal(await withTimeout(closed, WAIT_MS, "the reset arrives"), http2.constants.NGHTTP2_CANCEL);

    assert.equal(sessions.length, 1, "every stream shared one connection");
    // Deno 2.9.6's node:http2 client aborts the process (segfault or "free(): invalid pointer") in
    // about half the runs when this GOAWAY arrives after the streams above; node:http2's own server
    // closing the same way does not trigger it. Until that is understood, only Bun checks GOAWAY here
    // (session_test.ts checks our GOAWAY bytes on both runtimes).
    if (!IS_DENO) {
      const goaway = new Promise<number>((r) => client.once("goaway", (code) => r(code)));
      const clientClosed = new Promise((r) => client.once("close", r));
      sessions[0]!.close();
      assert.equal(await withTimeout(goaway, WAIT_MS, "GOAWAY reaches the client"), http2.constants.NGHTTP2_NO_ERROR);
      await withTimeout(clientClosed, WAIT_MS, "with no streams open, the connection closes after GOAWAY");
    }
  } finally {
    client.destroy();
    for (const s of sessions) s.destroy();
    await new Promise((r) => server.close(r));
    await m.cleanup();
  }
});
