/**
 * Done-when 3: a DENY policy, a DENY and an ALLOW that both match, and a non-matching ALLOW policy each
 * refuse (and are counted); a client
 * certificate from another CA and a TLS client without a certificate are rejected by the HBONE
 * listener; an unknown source IP is refused.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { join } from "node:path";
import { initCa, loadCa } from "../../src/tls/ca.ts";
import {
  CLIENT_ID, echoServer, eventually, httpConnect, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess,
  withTimeout, writeConfig,
} from "./_harness.ts";

const S = slot(1);

const config = `workloads:
- {name: client, namespace: default, serviceAccount: client, workloadIps: ["${S.wl(2)}"], protocol: HBONE, node: node-a}
- {name: allowed, namespace: default, serviceAccount: server, workloadIps: ["${S.wl(3)}"], protocol: HBONE, node: node-b, authorizationPolicies: [default/allow-client]}
- {name: denied, namespace: default, serviceAccount: server, workloadIps: ["${S.wl(5)}"], protocol: HBONE, node: node-b, authorizationPolicies: [default/deny-client]}
- {name: mismatch, namespace: default, serviceAccount: server, workloadIps: ["${S.wl(6)}"], protocol: HBONE, node: node-b, authorizationPolicies: [default/allow-other]}
- {name: both, namespace: default, serviceAccount: server, workloadIps: ["${S.wl(7)}"], protocol: HBONE, node: node-b, authorizationPolicies: [default/allow-client, default/deny-client]}
policies:
- name: allow-client
  namespace: default
  scope: WorkloadSelector
  action: ALLOW
  rules: [[[{principals: ["cluster.local/ns/default/sa/client"], destinationPorts: [7000]}]]]
- name: deny-client
  namespace: default
  scope: WorkloadSelector
  action: DENY
  rules: [[[{principals: [{Exact: "cluster.local/ns/default/sa/client"}]}]]]
- name: allow-other
  namespace: default
  scope: WorkloadSelector
  action: Allow
  rules: [[[{principals: ["cluster.local/ns/default/sa/someone-else"]}], [{notNamespaces: [default]}]]]
`;

async function refused(t: TunnelProcess, reason: string, reporter: string) {
  return await t.metric("weft_tunnel_connections_refused_total", { reason, reporter });
}

test("authorization, peer certificates and unknown sources", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, config);
  const echoes = await Promise.all([3, 5, 6, 7].map((n) => echoServer(S.wl(n), 7000)));
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await Promise.all([
      startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca }),
      startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca }),
    ]);
    a = na;
    b = nb;

    // Allowed by a matching ALLOW policy.
    const ok = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
    assert.equal(await roundTrip(ok, "ping"), "ping");
    ok.destroy();

    // DENY match; a DENY and an ALLOW (the one that admitted the connection above) both matching;
    // then ALLOW without a match: refused at the destination, counted on both sides.
    for (const [ip, policy] of [[S.wl(5), "deny-client"], [S.wl(7), "deny-client"], [S.wl(6), null]] as const) {
      const beforeB = await refused(nb, "policy_denied", "destination");
      const beforeA = await refused(na, "policy_denied", "source");
      const denyFlag = await nb.metric("istio_tcp_connections_closed_total", { reporter: "destination", response_flags: "DENY", source_principal: CLIENT_ID });
      await assert.rejects(socks5(na.addresses.socks5, S.wl(2), ip, 7000), (e: Refused) => e.code === 2);
      await eventually(async () => (await refused(nb, "policy_denied", "destination")) === beforeB + 1, 5000, "destination counted the refusal");
      assert.equal(await refused(na, "policy_denied", "source"), beforeA + 1);
      assert.equal(await nb.metric("istio_tcp_connections_closed_total", { reporter: "destination", response_flags: "DENY", source_principal: CLIENT_ID }), denyFlag + 1);
      const line = await nb.waitForLine((l) => l.includes("policy rejection") && l.includes(`dst.addr=${ip}:7000`), 5000, "refusal log");
      if (policy) assert.match(line, new RegExp(`explicitly denied by: default/${policy}`));
      else assert.match(line, /none allowed/);
    }
    // The workloads behind refused connections never saw one.
    assert.equal(echoes[1]!.stats.accepted + echoes[2]!.stats.accepted + echoes[3]!.stats.accepted, 0);

    // Inbound plaintext (15006) carries no identity, so a principal-based ALLOW refuses it.
    await assert.rejects(httpConnect(`${S.wl(3)}:15006`, S.wl(2), S.wl(3), 7000), (e: Refused) => e.code === 403);

    // Unknown source IP: refused by the source tunnel and counted.
    const unknownBefore = await refused(na, "unknown_source", "source");
    await assert.rejects(socks5(na.addresses.socks5, S.wl(9), S.wl(3), 7000), (e: Refused) => e.code === 2);
    assert.equal(await refused(na, "unknown_source", "source"), unknownBefore + 1);
    await na.waitForLine((l) => l.includes(`unknown source ${S.wl(9)}`), 5000, "unknown source log");

    // A client certificate from another CA, and a TLS client with no certificate, at node-b's HBONE listener.
    await initCa(join(work.dir, "other-ca"));
    const other = await loadCa(join(work.dir, "other-ca"));
    const forged = await other.mint(CLIENT_ID);
    const hbone = nb.addresses.hbone[S.wl(3)]!;
    const tlsBefore = await refused(nb, "tls_handshake", "destination");
    const acceptedBefore = echoes[0]!.stats.accepted;
    const tryConnect = (tlsOpts: { key?: string; cert?: string }) =>
      withTimeout(
        new Promise<string>((resolve) => {
          const session = http2.connect(`https://${hbone}`, { ...tlsOpts, rejectUnauthorized: false, localAddress: S.wl(2) } as http2.SecureClientSessionOptions);
          session.on("error", (e) => resolve(`error: ${e.message}`));
          session.on("close", () => resolve("closed"));
          const req = session.request({ ":method": "CONNECT", ":authority": `${S.wl(3)}:7000` });
          req.on("response", (h) => resolve(`status ${h[":status"]}`));
          req.on("error", () => {});
        }),
        10_000,
        "rejected handshake",
      );
    const withForged = await tryConnect({ key: forged.keyPem, cert: forged.certPem });
    assert.doesNotMatch(withForged, /^status/, "no stream with a foreign certificate");
    const withNone = await tryConnect({});
    assert.doesNotMatch(withNone, /^status/, "no stream without a certificate");
    await eventually(async () => (await refused(nb, "tls_handshake", "destination")) >= tlsBefore + 2, 5000, "handshake refusals counted");
    assert.equal(echoes[0]!.stats.accepted, acceptedBefore);
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(echoes.map((e) => e.close()));
    await work.cleanup();
  }
});
