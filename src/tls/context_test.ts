import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtemp, rm } from "node:fs/promises";
import type { AddressInfo } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import tls from "node:tls";
import { withTimeout } from "../../test/helpers/timeout.ts";
import { initCa, loadCa } from "./ca.ts";
import { mutualTlsClientOptions, mutualTlsServerOptions, type TlsMaterial } from "./context.ts";
import { peerIdentity } from "./identity.ts";

const SERVER = "spiffe://cluster.local/ns/default/sa/server";
const CLIENT = "spiffe://cluster.local/ns/default/sa/client";

/** A mutual TLS server on 127.0.0.1:0 that records each verified client identity, and client material. */
async function setup() {
  const dir = await mkdtemp(join(tmpdir(), "weft-tls-"));
  await initCa(dir);
  const ca = await loadCa(dir);
  const [s, c] = await Promise.all([ca.mint(SERVER), ca.mint(CLIENT)]);
  const server = tls.createServer(mutualTlsServerOptions({ key: s.keyPem, cert: s.certPem, ca: ca.certPem }, { alpnProtocols: ["h2"] }));
  const clients: (string | undefined)[] = [];
  server.on("secureConnection", (socket: tls.TLSSocket) => {
    clients.push(peerIdentity(socket));
    socket.end();
  });
  const refused: string[] = [];
  server.on("tlsClientError", (e: Error) => refused.push(e.message));
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const port = (server.address() as AddressInfo).port;
  const client: TlsMaterial = { key: c.keyPem, cert: c.certPem, ca: ca.certPem };
  const close = async () => {
    await new Promise<void>((r) => server.close(() => r()));
    await rm(dir, { recursive: true, force: true });
  };
  return { port, client, clients, refused, close };
}

/**
 * Connects and, once the connection closed (the server ends each one it accepts), resolves with the
 * negotiated session's facts, or with the error that ended it.
 */
function handshake(options: tls.ConnectionOptions): Promise<{ protocol?: string | null; alpn?: string | false | null; error?: string }> {
  return withTimeout(
    new Promise((resolve) => {
      const socket = tls.connect(options);
      let facts: { protocol?: string | null; alpn?: string | false | null } = {};
      socket.once("secureConnect", () => (facts = { protocol: socket.getProtocol(), alpn: socket.alpnProtocol }));
      socket.on("data", () => {});
      socket.once("error", (e) => resolve({ error: e.message }));
      socket.once("close", () => resolve(facts));
    }),
    5000,
    "the TLS handshake",
  );
}

test("mutual TLS 1.3: the server verifies the client's identity, the client the server's URI SAN", async () => {
  const t = await setup();
  try {
    const target = { host: "127.0.0.1", port: t.port, alpnProtocols: ["h2"] };
    const ok = await handshake(mutualTlsClientOptions(t.client, { ...target, peerUriSans: [SERVER] }));
    assert.deepEqual(ok, { protocol: "TLSv1.3", alpn: "h2" });
    assert.deepEqual(t.clients, [CLIENT], "the server saw the client's verified identity");
    const wrongPeer = await handshake(mutualTlsClientOptions(t.client, { ...target, peerUriSans: [CLIENT] }));
    assert.equal(wrongPeer.error, `server identity ${SERVER} is not ${CLIENT}`);
    // Without peerUriSans the host name is checked as usual: the certificate names no IP address.
    const byHostName = await handshake(mutualTlsClientOptions(t.client, target));
    assert.match(byHostName.error ?? "", /IP: 127\.0\.0\.1 is not in the cert's list/);
  } finally {
    await t.close();
  }
});

test("the client accepts a server presenting any of the listed URI SANs, and none other (ztunnel's workload identity or a service's subjectAltNames)", async () => {
  const t = await setup();
  try {
    const target = { host: "127.0.0.1", port: t.port, alpnProtocols: ["h2"] };
    const other = "spiffe://cluster.local/ns/default/sa/other";
    const listed = await handshake(mutualTlsClientOptions(t.client, { ...target, peerUriSans: [other, SERVER] }));
    assert.deepEqual(listed, { protocol: "TLSv1.3", alpn: "h2" });
    const unlisted = await handshake(mutualTlsClientOptions(t.client, { ...target, peerUriSans: [other, CLIENT] }));
    assert.equal(unlisted.error, `server identity ${SERVER} is none of ${other}, ${CLIENT}`);
    // An empty list accepts nobody, rather than falling back to the host name.
    const none = await handshake(mutualTlsClientOptions(t.client, { ...target, peerUriSans: [] }));
    assert.equal(none.error, `server identity ${SERVER} is none of (no accepted identity)`);
  } finally {
    await t.close();
  }
});

test("the server refuses a client without a certificate and one below TLS 1.3", async () => {
  const t = await setup();
  try {
    const base = { host: "127.0.0.1", port: t.port, ca: t.client.ca, checkServerIdentity: () => undefined };
    // In TLS 1.3 the client may finish before the server refuses its (missing) certificate: the
    // server's handshake errors are what count.
    await handshake(base);
    const old = await handshake({ ...base, key: t.client.key, cert: t.client.cert, maxVersion: "TLSv1.2" });
    assert.ok(old.error, `a TLS 1.2 client is refused: ${JSON.stringify(old)}`);
    await withTimeout((async () => {
      while (t.refused.length < 2) await new Promise((r) => setImmediate(r));
    })(), 5000, "two refused handshakes");
    assert.deepEqual(t.clients, [], "no client without a certificate or below TLS 1.3 reached the server");
  } finally {
    await t.close();
  }
});
