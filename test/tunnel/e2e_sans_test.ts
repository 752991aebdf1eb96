/**
 * A service's `subjectAltNames`, end to end, as ztunnel's `workload_and_services_san`: node-a and
 * node-b disagree on the server's service account, so node-b presents an identity node-a does not
 * expect for that workload. Reached through a service whose `subjectAltNames` list that identity, the
 * server is accepted; through a service without them, or at its own address, it is refused (and a
 * session verified for the service is not reused for the direct connection).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { echoServer, eventually, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess, writeConfig } from "./_harness.ts";

const S = slot(8);
const EXPECTED = "spiffe://cluster.local/ns/default/sa/server";
const PRESENTED = "spiffe://cluster.local/ns/default/sa/server-v2";
/** SOCKS5 reply 5 ("connection refused"): the source tunnel's answer when the upstream connect fails. */
const CONNECTION_REFUSED = 5;

/** Both nodes' config but for the server's service account, which each node reads its own way. */
function config(serverServiceAccount: string): string {
  return `workloads:
- {name: client, namespace: default, serviceAccount: client, workloadIps: ["${S.wl(2)}"], protocol: HBONE, node: node-a}
- name: server
  namespace: default
  serviceAccount: ${serverServiceAccount}
  workloadIps: ["${S.wl(3)}"]
  protocol: HBONE
  node: node-b
  services: {"default/plain.default.svc.cluster.local": {80: 7000}, "default/sans.default.svc.cluster.local": {80: 7000}}
services:
- {name: plain, namespace: default, hostname: plain.default.svc.cluster.local, vips: ["/${S.vip(1)}"], ports: {80: 7000}}
- name: sans
  namespace: default
  hostname: sans.default.svc.cluster.local
  vips: ["/${S.vip(2)}"]
  ports: {80: 7000}
  subjectAltNames: ["${PRESENTED}"]
`;
}

async function refusedWith(t: Promise<unknown>): Promise<number> {
  try {
    await t;
  } catch (e) {
    if (e instanceof Refused) return e.code;
    throw e;
  }
  assert.fail("the connection was not refused");
}

test("through a service, the destination may present any of the service's subjectAltNames; through another service or at its own address, only its workload's identity", { timeout: 90_000 }, async () => {
  const work = await makeWorkdir();
  const configA = join(work.dir, "node-a.yaml");
  const configB = join(work.dir, "node-b.yaml");
  await writeConfig(configA, config("server"));
  await writeConfig(configB, config("server-v2"));
  const echo = await echoServer(S.wl(3), 7000);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    [a, b] = await Promise.all([
      startTunnel({ name: "node-a", config: configA, node: "node-a", bind: S.nodeA, ca: work.ca }),
      startTunnel({ name: "node-b", config: configB, node: "node-b", bind: S.nodeB, ca: work.ca }),
    ]);
    const na = a;
    // Counted as any failed upstream connect: closed with ztunnel's response flag CONNECT.
    const connectFailures = (service: string) =>
      na.metric("istio_tcp_connections_closed_total", { reporter: "source", destination_service: service, response_flags: "CONNECT" });
    /** node-a's access-log line (from line `from` on) for a failed connection to the server, `via` a service or none. */
    const failedLog = (via: string | undefined, from: number) =>
      na.waitForLine(
        (l) =>
          na.lines.indexOf(l) >= from && l.includes("connection complete") && l.includes(`dst.hbone_addr=${S.wl(3)}:7000`) &&
          (via ? l.includes(`dst.service="${via}"`) : !l.includes("dst.service=")),
        5000,
        `the failed connection's log line (${via ?? "direct"})`,
      );
    const mismatch = new RegExp(`error="server identity ${PRESENTED} is not ${EXPECTED}"`);

    // 1. Through the service without subjectAltNames: node-b's identity is not the one node-a expects.
    assert.equal(await refusedWith(socks5(na.addresses.socks5, S.wl(2), S.vip(1), 80)), CONNECTION_REFUSED);
    assert.match(await failedLog("plain.default.svc.cluster.local", 0), mismatch);
    await eventually(async () => await connectFailures("plain.default.svc.cluster.local") === 1, 5000, "node-a's failed connection through plain");
    assert.equal(echo.stats.accepted, 0);

    // 2. Through the service that lists node-b's identity: connected, by VIP and by hostname.
    const viaVip = await socks5(na.addresses.socks5, S.wl(2), S.vip(2), 80);
    assert.equal(await roundTrip(viaVip, "via the service's VIP"), "via the service's VIP");
    const viaHost = await socks5(na.addresses.socks5, S.wl(2), "sans.default.svc.cluster.local", 80);
    assert.equal(await roundTrip(viaHost, "via its hostname"), "via its hostname");
    assert.equal(echo.stats.accepted, 2);

    // 3. At the workload's own address, while the session verified for the service is still open:
    //    only the workload's identity counts, so a new handshake is made, and refused.
    const before = na.lines.length;
    assert.equal(await refusedWith(socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000)), CONNECTION_REFUSED);
    assert.match(await failedLog(undefined, before), mismatch);
    await eventually(async () => await connectFailures("unknown") === 1, 5000, "node-a's failed direct connection");
    assert.equal(await connectFailures("sans.default.svc.cluster.local"), 0);
    assert.equal(echo.stats.accepted, 2, "the direct connection never reached the server");
    assert.equal(await roundTrip(viaVip, "still open"), "still open");
    viaVip.destroy();
    viaHost.destroy();
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    await echo.close();
    await work.cleanup();
  }
});
