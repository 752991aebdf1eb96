/**
 * Done-when 5: editing the config file to add a workload takes effect without a restart while an
 * existing stream keeps flowing; a broken edit is rejected (file:line:col) and the old config kept;
 * SIGHUP reloads too. A policy a reload adds closes the established connections it no longer allows.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { baseConfig, echoServer, eventually, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess, withTimeout, writeConfig } from "./_harness.ts";

const S = slot(3);

async function workloadNames(t: TunnelProcess): Promise<string[]> {
  const dump = await (await t.admin("/config_dump")).json() as { workloads: { name: string }[] };
  return dump.workloads.map((w) => w.name);
}

/** node-a and node-b of this slot, both on the config file `path`. */
function startNodes(path: string, ca: string): Promise<[TunnelProcess, TunnelProcess]> {
  return Promise.all([
    startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca }),
    startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca }),
  ]);
}

test("config reload adds a workload while an established stream keeps flowing", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echo = await echoServer(S.wl(3), 7000);
  const echo2 = await echoServer(S.wl(5), 7000);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await startNodes(path, work.ca);
    a = na;
    b = nb;
    const held = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
    assert.equal(await roundTrip(held, "before"), "before");
    // Not known yet: as a source it is refused.
    await assert.rejects(socks5(na.addresses.socks5, S.wl(5), S.wl(3), 7000), (e: Refused) => e.code === 2);

    const added = `- uid: cluster1//v1/Pod/default/newcomer
  name: newcomer
  namespace: default
  serviceAccount: newcomer
  workloadIps: ["${S.wl(5)}"]
  protocol: HBONE
  node: node-b
`;
    const text = baseConfig(S).replace("services:\n- name: server", `${added}services:\n- name: server`);
    await writeConfig(path, text);
    await eventually(async () => (await workloadNames(na)).includes("newcomer") && (await workloadNames(nb)).includes("newcomer"), 10_000, "both tunnels reloaded");
    const dump = await (await nb.admin("/config_dump")).json() as { certificates: { identity: string; expiresInS: number }[]; listeners: { hbone: Record<string, string> } };
    assert.ok(dump.certificates.some((c) => c.identity === "spiffe://cluster.local/ns/default/sa/newcomer" && c.expiresInS > 3600));
    assert.equal(dump.listeners.hbone[S.wl(5)], `${S.wl(5)}:15008`);

    // The new workload is reachable over HBONE, and the held stream still flows.
    const fresh = await socks5(na.addresses.socks5, S.wl(2), S.wl(5), 7000);
    assert.equal(await roundTrip(fresh, "new"), "new");
    fresh.destroy();
    assert.equal(await roundTrip(held, "after reload"), "after reload");

    // A broken edit is rejected with its position; the running config stays.
    await writeConfig(path, text + "policies:\n- name: p\n  namespace: default\n  action: Allow\n  color: red\n");
    await eventually(async () => {
      const d = await (await na.admin("/config_dump")).json() as { config: { lastReloadError?: string } };
      return /local\.yaml:\d+:\d+: policies\[0\]\.color: unknown field "color"/.test(d.config.lastReloadError ?? "");
    }, 10_000, "rejected reload reported");
    assert.ok((await workloadNames(na)).includes("newcomer"));
    assert.equal(await roundTrip(held, "still"), "still");

    // Fixing the file reloads again; then SIGHUP reloads on its own.
    await writeConfig(path, text);
    const reloads = async () => (await (await na.admin("/config_dump")).json() as { config: { reloads: number; lastReloadError?: string } }).config;
    await eventually(async () => (await reloads()).lastReloadError === undefined, 10_000, "reload after fix");
    const n = (await reloads()).reloads;
    na.signal("SIGHUP");
    await eventually(async () => (await reloads()).reloads === n + 1, 10_000, "SIGHUP reload");
    assert.equal(await roundTrip(held, "end"), "end");
    held.destroy();
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    await echo.close();
    await echo2.close();
    await work.cleanup();
  }
});

test("a reload that adds a DENY policy closes the established connections it no longer allows, as ztunnel's policy watcher does; the others keep flowing", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echoes = await Promise.all([7000, 7001].map((port) => echoServer(S.wl(3), port)));
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await startNodes(path, work.ca);
    a = na;
    b = nb;
    const denied = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
    const kept = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7001);
    assert.equal(await roundTrip(denied, "before"), "before");
    assert.equal(await roundTrip(kept, "before"), "before");
    // The tunnel's end of it closes: an EOF (the socket is half-open capable) or a reset.
    const closed = new Promise<void>((resolve) => {
      for (const event of ["end", "close", "error"]) denied.once(event, () => resolve());
    });

    // The server (on node-b) now denies port 7000.
    const guarded = baseConfig(S, "policies:\n- {name: deny-7000, namespace: default, scope: WorkloadSelector, action: DENY, rules: [[[{destinationPorts: [7000]}]]]}\n")
      .replace("  node: node-b\n  services:", "  node: node-b\n  authorizationPolicies: [default/deny-7000]\n  services:");
    assert.notEqual(guarded, baseConfig(S));
    await writeConfig(path, guarded);
    await withTimeout(closed, 10_000, "the connection the new policy denies is closed");
    await nb.waitForLine((l) => l.includes(`dst.addr=${S.wl(3)}:7000`) && l.includes("no longer allowed after a policy update (default/deny-7000)"), 5000, "log of the close");
    assert.equal(await roundTrip(kept, "after"), "after", "a connection the policy allows keeps flowing");
    await assert.rejects(socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000), (e: Refused) => e.code === 2);
    kept.destroy();
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    await Promise.all(echoes.map((e) => e.close()));
    await work.cleanup();
  }
});
