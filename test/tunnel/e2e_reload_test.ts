/**
 * Done-when 5: editing the config file to add a workload takes effect without a restart while an
 * existing stream keeps flowing; a broken edit is rejected (file:line:col) and the old config kept;
 * SIGHUP reloads too.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { baseConfig, echoServer, eventually, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess, writeConfig } from "./_harness.ts";

const S = slot(3);

async function workloadNames(t: TunnelProcess): Promise<string[]> {
  const dump = await (await t.admin("/config_dump")).json() as { workloads: { name: string }[] };
  return dump.workloads.map((w) => w.name);
}

test("config reload adds a workload while an established stream keeps flowing", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echo = await echoServer(S.wl(3), 7000);
  const echo2 = await echoServer(S.wl(5), 7000);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await Promise.all([
      startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca }),
      startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca }),
    ]);
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
