/**
 * Issue 17's tunnel security fixes, against real tunnel processes: admin only on 127.0.0.1 (or
 * `--admin-address`) and behind `--admin-token` / `WEFT_ADMIN_TOKEN`; an HBONE CONNECT only to the
 * workload whose listener (and certificate) the peer reached; no passthrough to the tunnel's own
 * listeners; access-log fields escaped; each refusal's own reason phrase; a forged Host header
 * that cannot change which admin path runs.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import http2 from "node:http2";
import net from "node:net";
import { join } from "node:path";
import { loadCa } from "../../src/tunnel/ca.ts";
import {
  CLIENT_ID, echoServer, eventually, httpConnect, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess,
  withTimeout, writeConfig,
} from "./_harness.ts";

const S = slot(6);
/** Another address of this slot's node range, for `--admin-address`. */
const ADMIN_IP = S.nodeA.replace(/\.2$/, ".4");

const config = `workloads:
- {name: client, namespace: default, serviceAccount: client, workloadIps: ["${S.wl(2)}"], protocol: HBONE, node: node-a}
- {name: server, namespace: default, serviceAccount: server, workloadIps: ["${S.wl(3)}"], protocol: HBONE, node: node-b}
- {name: other, namespace: default, serviceAccount: other, workloadIps: ["${S.wl(5)}"], protocol: HBONE, node: node-b}
`;

function hostOf(address: string): string {
  return address.slice(0, address.lastIndexOf(":"));
}

function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(":") + 1));
}

/** Resolves with the connect error's code, or "connected". */
function tryConnect(host: string, port: number): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve) => {
      const s = net.connect({ host, port }, () => {
        s.destroy();
        resolve("connected");
      });
      s.once("error", (e: NodeJS.ErrnoException) => resolve(e.code ?? e.message));
    }),
    5000,
    `connect to ${host}:${port}`,
  );
}

/** Writes `request` on a new connection (from `localAddress`) and resolves with everything read until the server closes. */
function rawExchange(address: string, request: string, localAddress?: string): Promise<string> {
  return withTimeout(
    new Promise<string>((resolve, reject) => {
      const s = net.connect({ host: hostOf(address), port: portOf(address), ...(localAddress ? { localAddress } : {}) }, () => s.write(request));
      let got = "";
      s.setEncoding("latin1");
      s.on("data", (d: string) => (got += d));
      s.once("close", () => resolve(got));
      s.once("error", (e: NodeJS.ErrnoException) => (e.code === "ECONNRESET" ? resolve(got) : reject(e)));
    }),
    10_000,
    `exchange with ${address}`,
  );
}

async function readiness(t: TunnelProcess): Promise<number> {
  const r = await fetch(`http://${t.addresses.readiness}/healthz/ready`);
  await r.body?.cancel();
  return r.status;
}

async function refusals(t: TunnelProcess, reason: string, reporter: string): Promise<number> {
  return await t.metric("weft_tunnel_connections_refused_total", { reason, reporter });
}

test("admin listens on 127.0.0.1 (or --admin-address) and takes --admin-token / WEFT_ADMIN_TOKEN; readiness and metrics stay on the node address", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, config);
  let a: TunnelProcess | undefined, c: TunnelProcess | undefined;
  try {
    [a, c] = await Promise.all([
      startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca, env: { WEFT_ADMIN_TOKEN: "from-env" } }),
      startTunnel({ name: "node-c", config: path, node: "node-c", bind: S.nodeB, ca: work.ca, extra: ["--admin-address", ADMIN_IP, "--admin-token", "from-flag"] }),
    ]);
    // Default: admin on loopback only, not on the node address; readiness and metrics on the node address.
    assert.equal(hostOf(a.addresses.admin), "127.0.0.1");
    assert.equal(await tryConnect(S.nodeA, portOf(a.addresses.admin)), "ECONNREFUSED");
    assert.equal(hostOf(a.addresses.readiness), S.nodeA);
    assert.equal(hostOf(a.addresses.metrics), S.nodeA);
    assert.equal(await readiness(a), 200);
    assert.ok((await a.metrics()).length > 0);
    // --admin-address moves it.
    assert.equal(hostOf(c.addresses.admin), ADMIN_IP);
    assert.equal(await tryConnect(S.nodeB, portOf(c.addresses.admin)), "ECONNREFUSED");

    // Without the token (or with a wrong one), nothing runs: not even a read, and not a drain.
    for (const [t, token] of [[a, "from-env"], [c, "from-flag"]] as const) {
      for (const auth of [undefined, "Bearer wrong", `Bearer ${token}x`]) {
        const quit = await t.admin("/quitquitquit", { method: "POST", ...(auth ? { headers: { authorization: auth } } : {}) });
        assert.equal(quit.status, 401, `${t.name} with ${auth}`);
        await quit.body?.cancel();
      }
      const info = await t.admin("/server_info");
      assert.equal(info.status, 401);
      await info.body?.cancel();
      assert.equal(await readiness(t), 200, `${t.name} still ready`);
      const ok = await t.admin("/server_info", { headers: { authorization: `Bearer ${token}` } });
      assert.equal(ok.status, 200);
      assert.equal((await ok.json() as { state: string }).state, "LIVE");
    }
  } finally {
    await Promise.all([a?.stop(), c?.stop()]);
    await work.cleanup();
  }
});
