/**
 * Done-when 1 and 2: two tunnel processes, curl through SOCKS5 over HBONE, 100 MiB each way through
 * SOCKS5 and through HTTP CONNECT (hashes compared), and both tunnels' metrics equal to the bytes sent.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http from "node:http";
import { join } from "node:path";
import type { ServerInfo, WorkersResponse } from "../../src/admin/wire.ts";
import {
  baseConfig, bulkServer, CLIENT_ID, echoServer, eventually, httpConnect, listenOn, makeWorkdir, receiveStream, roundTrip, run,
  SERVER_ID, sendStream, slot, socks5, startTunnel, sum, type TunnelProcess, withTimeout, writeConfig,
} from "./_harness.ts";

const S = slot(0);
const MiB = 1 << 20;
const BULK = (Number(process.env.WEFT_E2E_BULK_MIB) || 100) * MiB;

const principals = { source_principal: CLIENT_ID, destination_principal: SERVER_ID };

async function counters(t: TunnelProcess, reporter: string) {
  const m = await t.metrics();
  const w = { reporter, ...principals };
  return {
    opened: sum(m, "istio_tcp_connections_opened_total", w),
    closed: sum(m, "istio_tcp_connections_closed_total", w),
    received: sum(m, "istio_tcp_received_bytes_total", w),
    sent: sum(m, "istio_tcp_sent_bytes_total", w),
    mtls: sum(m, "istio_tcp_connections_opened_total", { ...w, connection_security_policy: "mutual_tls" }),
  };
}

test("two tunnels: curl over SOCKS5+HBONE, 100 MiB each way via SOCKS5 and CONNECT, metrics match", { timeout: 240_000 }, async () => {
  const work = await makeWorkdir();
  const config = join(work.dir, "local.yaml");
  await writeConfig(config, baseConfig(S));
  const web = http.createServer((_req, res) => res.end("hello from server\n"));
  await listenOn(web, S.wl(3), 8080);
  const bulk = await bulkServer(S.wl(3), 9000, BULK);
  const plainEcho = await echoServer(S.wl(4), 7000);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await Promise.all([
      // Several workers. One connection at a time finds its pool key idle and stays on the worker
      // that accepted it; forwarding between workers is covered by e2e_pool_test.ts.
      startTunnel({ name: "node-a", config, node: "node-a", bind: S.nodeA, ca: work.ca, workers: 3 }),
      startTunnel({ name: "node-b", config, node: "node-b", bind: S.nodeB, ca: work.ca, workers: 4 }),
    ]);
    a = na;
    b = nb;
    assert.equal(a.addresses.socks5, `${S.nodeA}:15080`);
    assert.equal(b.addresses.hbone[S.wl(3)], `${S.wl(3)}:15008`);
    const ready = await fetch(`http://${b.addresses.readiness}/healthz/ready`);
    assert.equal(ready.status, 200);
    await ready.body?.cancel();

    // 1. Real curl through node-a's SOCKS5, from the client workload's IP, to the server on node-b.
    const curl = await run("curl", ["-sS", "--max-time", "10", "--socks5", a.addresses.socks5, "--interface", S.wl(2), `http://${S.wl(3)}:8080/`]);
    assert.equal(curl.code, 0, curl.stderr);
    assert.equal(curl.stdout, "hello from server\n");
    // ... and by service VIP through HTTP CONNECT, and by hostname through SOCKS5 (remote DNS).
    const viaVip = await run("curl", ["-sS", "--max-time", "10", "-p", "-x", `http://${a.addresses.outbound}`, "--interface", S.wl(2), `http://${S.vip(1)}:80/`]);
    assert.equal(viaVip.stdout, "hello from server\n", viaVip.stderr);
    const viaHost = await run("curl", ["-sS", "--max-time", "10", "--socks5-hostname", a.addresses.socks5, "--interface", S.wl(2), "http://server.default.svc.cluster.local/"]);
    assert.equal(viaHost.stdout, "hello from server\n", viaHost.stderr);
    const log = await a.waitForLine((l) => l.includes("connection complete") && l.includes(`dst.hbone_addr=${S.wl(3)}:8080`));
    assert.match(log, /src\.identity="spiffe:\/\/cluster\.local\/ns\/default\/sa\/client"/);
    assert.match(log, /direction="outbound"/);

    // Inbound plaintext (15006) on the server's IP: no policy applies, so a plaintext caller gets through.
    const plainIn = await httpConnect(`${S.wl(3)}:15006`, S.wl(2), S.wl(3), 8080);
    plainIn.write(`GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`);
    let body = "";
    plainIn.on("data", (d: Buffer) => (body += d));
    await new Promise((r) => plainIn.once("end", r));
    plainIn.end();
    assert.match(body, /^HTTP\/1\.1 200[\s\S]*hello from server\n$/);
    await nb.waitForLine((l) => l.includes("direction=\"inbound\"") && l.includes(`dst.addr=${S.wl(3)}:8080`) && !l.includes("src.identity"), 5000, "plaintext inbound log");

    // Plain TCP to a workload with protocol TCP.
    const plain = await socks5(a.addresses.socks5, S.wl(2), S.wl(4), 7000);
    assert.equal(await roundTrip(plain, "plain tcp"), "plain tcp");
    plain.destroy();

    // 2. 100 MiB each way, through SOCKS5 then through HTTP CONNECT; metrics deltas on both tunnels.
    const opens: [number, typeof socks5, string][] = [[1, socks5, na.addresses.socks5], [2, httpConnect, na.addresses.outbound]];
    for (const [i, open, proxy] of opens) {
      const beforeA = await counters(na, "source");
      const beforeB = await counters(nb, "destination");
      const s = await open(proxy, S.wl(2), S.wl(3), 9000);
      const [sentHash, received] = await withTimeout(Promise.all([sendStream(s, BULK, bulk.block), receiveStream(s)]), 180_000, "bulk transfer");
      await withTimeout(bulk.completed(i), 30_000, "server side done");
      const server = bulk.results[i - 1]!;
      assert.equal(server.received.bytes, BULK);
      assert.equal(server.received.hash, sentHash, "client→server bytes intact");
      assert.equal(received.bytes, BULK);
      assert.equal(received.hash, server.sentHash, "server→client bytes intact");
      assert.equal(server.remote, S.wl(2), "the workload sees the source workload's IP");

      await eventually(async () => (await counters(na, "source")).closed > beforeA.closed && (await counters(nb, "destination")).closed > beforeB.closed, 10_000, "connection closed on both tunnels");
      const afterA = await counters(na, "source");
      const afterB = await counters(nb, "destination");
      for (const [before, after] of [[beforeA, afterA], [beforeB, afterB]] as const) {
        assert.equal(after.opened - before.opened, 1);
        assert.equal(after.closed - before.closed, 1);
        assert.equal(after.mtls - before.mtls, 1);
        assert.equal(after.received - before.received, BULK, "received = bytes the client sent");
        assert.equal(after.sent - before.sent, BULK, "sent = bytes the server sent");
      }
    }
    // The dispatcher's view, in the admin wire types `weft inspect` reads.
    const wa = await (await na.admin("/workers")).json() as WorkersResponse;
    const wb = await (await nb.admin("/workers")).json() as WorkersResponse;
    assert.equal(wa.workers.length, 3);
    assert.equal(wb.workers.length, 4);
    assert.ok(wa.workers.reduce((n, w) => n + w.totalConnections, 0) >= 6, JSON.stringify(wa.workers.map((w) => w.totalConnections)));
    assert.ok(wa.workers.every((w) => w.status === "running" && w.loop.samplesPerSec > 0));
    const info = await (await na.admin("/server_info")).json() as ServerInfo;
    assert.equal(info.mode, "tunnel");
    assert.equal(info.state, "LIVE");
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    web.close();
    await bulk.close();
    await plainEcho.close();
    await work.cleanup();
  }
});
