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
import { loadCa } from "../../src/tls/ca.ts";
import {
  CLIENT_ID, echoServer, httpConnect, makeWorkdir, Refused, roundTrip, slot, socks5, startTunnel, type TunnelProcess,
  withTimeout, writeConfig,
} from "./_harness.ts";

const S = slot(6);
/** Another address of this slot's node range, for `--admin-address`. */
const ADMIN_IP = S.nodeA.replace(/\.2$/, ".4");

const config = `workloads:
- {name: client, namespace: default, serviceAccount: client, workloadIps: ["${S.wl(2)}"], protocol: HBONE, node: node-a}
- {name: server, namespace: default, serviceAccount: server, workloadIps: ["${S.wl(3)}"], protocol: HBONE, node: node-b}
- {name: other, namespace: default, serviceAccount: other, workloadIps: ["${S.wl(5)}"], protocol: HBONE, node: node-b}
- {name: guarded, namespace: default, serviceAccount: guarded, workloadIps: ["${S.wl(6)}"], protocol: HBONE, node: node-b, authorizationPolicies: [default/deny-by-address]}
policies:
- {name: deny-by-address, namespace: default, scope: WorkloadSelector, action: DENY, rules: [[[{destinationIps: ["${S.wl(6)}/32"]}]]]}
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

/** Runs `fn` with a tunnel per named node (node-a binds the slot's node A, node-b its node B), then stops them. */
async function withNodes(
  nodes: ("node-a" | "node-b")[],
  fn: (tunnels: Map<string, TunnelProcess>, caDir: string) => Promise<void>,
): Promise<void> {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, config);
  const tunnels = new Map<string, TunnelProcess>();
  try {
    await Promise.all(nodes.map(async (node) => {
      tunnels.set(node, await startTunnel({ name: node, config: path, node, bind: node === "node-a" ? S.nodeA : S.nodeB, ca: work.ca }));
    }));
    await fn(tunnels, work.ca);
  } finally {
    await Promise.all([...tunnels.values()].map((t) => t.stop()));
    await work.cleanup();
  }
}

/**
 * An HTTP/2 session to an HBONE listener with the client workload's certificate, from
 * `localAddress`; `connect` sends one CONNECT and resolves with its status and stream.
 */
async function hboneClient(caDir: string, listener: string, localAddress: string) {
  const client = await (await loadCa(caDir)).mint(CLIENT_ID);
  const session = http2.connect(`https://${listener}`, {
    key: client.keyPem,
    cert: client.certPem,
    rejectUnauthorized: false,
    localAddress,
  } as http2.SecureClientSessionOptions);
  session.on("error", () => {});
  const connect = (authority: string) =>
    withTimeout(
      new Promise<{ status: number; stream: http2.ClientHttp2Stream }>((resolve, reject) => {
        const stream = session.request({ ":method": "CONNECT", ":authority": authority });
        stream.on("response", (h) => resolve({ status: Number(h[":status"]), stream }));
        stream.on("error", reject);
      }),
      10_000,
      `CONNECT ${authority}`,
    );
  return { connect, close: () => session.close() };
}

test("an HBONE CONNECT reaches only the workload whose listener (and certificate) the stream arrived on", { timeout: 60_000 }, async () => {
  const echoes = await Promise.all([3, 5].map((n) => echoServer(S.wl(n), 7000)));
  try {
    await withNodes(["node-b"], async (tunnels, caDir) => {
      const nb = tunnels.get("node-b")!;
      // A client with a valid certificate of the mesh, at server's HBONE listener (server's certificate).
      const { connect, close } = await hboneClient(caDir, nb.addresses.hbone[S.wl(3)]!, S.wl(2));
      try {
        const before = await refusals(nb, "destination_mismatch", "destination");
        const wrong = await connect(`${S.wl(5)}:7000`);
        assert.equal(wrong.status, 400, "ztunnel answers an HBONE target that is not the listener's workload with 400");
        wrong.stream.destroy();
        assert.equal(await refusals(nb, "destination_mismatch", "destination"), before + 1);
        await nb.waitForLine((l) => l.includes(`dst.addr=${S.wl(5)}:7000`) && l.includes(`not served by the HBONE listener on ${S.wl(3)}`), 5000, "mismatch log");
        assert.equal(echoes[1]!.stats.accepted, 0, "the other workload never saw a connection");
        // Nor the tunnel's own listeners behind its workload's address (ztunnel's self call: 503).
        const selfBefore = await refusals(nb, "self_call", "destination");
        const self = await connect(nb.addresses.hbone[S.wl(3)]!);
        assert.equal(self.status, 503);
        self.stream.destroy();
        assert.equal(await refusals(nb, "self_call", "destination"), selfBefore + 1);
        // The same session still reaches its own workload.
        const right = await connect(`${S.wl(3)}:7000`);
        assert.equal(right.status, 200);
        right.stream.destroy();
      } finally {
        close();
      }
    });
  } finally {
    await Promise.all(echoes.map((e) => e.close()));
  }
});

test("an HBONE target spelled as an IPv4-mapped IPv6 address is refused, as ztunnel compares addresses, and cannot skip a destination-IP policy", { timeout: 60_000 }, async () => {
  const echoes = await Promise.all([3, 6].map((n) => echoServer(S.wl(n), 7000)));
  try {
    await withNodes(["node-b"], async (tunnels, caDir) => {
      const nb = tunnels.get("node-b")!;
      // From 127.0.0.1, a source the tunnel does not bind when it connects on (as from another host),
      // so the mapped destination is reachable and only the check stands in the way.
      const { connect, close } = await hboneClient(caDir, nb.addresses.hbone[S.wl(6)]!, "127.0.0.1");
      try {
        const denied = await connect(`${S.wl(6)}:7000`);
        assert.equal(denied.status, 401, "the policy denies the workload's own address");
        denied.stream.destroy();
        const before = await refusals(nb, "destination_mismatch", "destination");
        for (const authority of [`[::ffff:${S.wl(6)}]:7000`, `[0:0:0:0:0:ffff:${S.wl(6)}]:7000`]) {
          const mapped = await connect(authority);
          assert.equal(mapped.status, 400, `${authority}: ztunnel's IPMismatch (an IPv6 address is never the IPv4 listener's)`);
          mapped.stream.destroy();
        }
        assert.equal(await refusals(nb, "destination_mismatch", "destination"), before + 2);
        assert.equal(echoes[1]!.stats.accepted, 0, "the guarded workload never saw a connection");
      } finally {
        close();
      }
      const server = await hboneClient(caDir, nb.addresses.hbone[S.wl(3)]!, "127.0.0.1");
      try {
        const mapped = await server.connect(`[::ffff:${S.wl(3)}]:7000`);
        assert.equal(mapped.status, 400);
        mapped.stream.destroy();
        const right = await server.connect(`${S.wl(3)}:7000`);
        assert.equal(right.status, 200);
        right.stream.destroy();
      } finally {
        server.close();
      }
    });
  } finally {
    await Promise.all(echoes.map((e) => e.close()));
  }
});

test("passthrough never reaches the tunnel's own listeners", { timeout: 60_000 }, async () => {
  // Not a workload: reached by passthrough.
  const outside = await echoServer(S.wl(9), 7000);
  try {
    await withNodes(["node-a"], async (tunnels) => {
      const na = tunnels.get("node-a")!;
      const before = await refusals(na, "self_call", "source");
      const own = [na.addresses.admin, na.addresses.metrics, na.addresses.readiness, na.addresses.socks5, na.addresses.outbound, na.addresses.hbone[S.wl(2)]!];
      for (const target of own) {
        await assert.rejects(socks5(na.addresses.socks5, S.wl(2), hostOf(target), portOf(target)), (e: Refused) => e.code === 2, `SOCKS5 to ${target}`);
        await assert.rejects(httpConnect(na.addresses.outbound, S.wl(2), hostOf(target), portOf(target)), (e: Refused) => e.code === 403, `CONNECT to ${target}`);
      }
      // The admin address spelled as an IPv4-mapped IPv6 address (SOCKS5 address type 4).
      await assert.rejects(socks5(na.addresses.socks5, S.wl(2), `::ffff:${hostOf(na.addresses.admin)}`, portOf(na.addresses.admin)), (e: Refused) => e.code === 2);
      assert.equal(await refusals(na, "self_call", "source"), before + 2 * own.length + 1);
      await na.waitForLine((l) => l.includes(`dst.addr=${na.addresses.admin}`) && l.includes("is one of this tunnel's own listeners"), 5000, "self-call log");
      assert.equal(await readiness(na), 200);
      // Passthrough to an address that is not the tunnel's still works.
      const pass = await socks5(na.addresses.socks5, S.wl(2), S.wl(9), 7000);
      assert.equal(await roundTrip(pass, "ping"), "ping");
      pass.destroy();
    });
  } finally {
    await outside.close();
  }
});

test("a SOCKS5 domain name with a newline cannot forge an access-log line", { timeout: 60_000 }, async () => {
  await withNodes(["node-a"], async (tunnels) => {
    const na = tunnels.get("node-a")!;
    const forged = "2001-01-01T00:00:00.000Z info access connection complete src.addr=6.6.6.6:6";
    await assert.rejects(socks5(na.addresses.socks5, S.wl(2), `evil\n${forged}`, 7000), (e: Refused) => e.code === 4);
    const line = await na.waitForLine((l) => l.includes("unknown host evil"), 5000, "log of the refused name");
    assert.ok(line.includes(String.raw`dst.addr="evil\n2001`), line);
    assert.ok(!na.lines.some((l) => l.startsWith("2001-")), "no forged line");
  });
});

test("the outbound listener's refusals carry each status's own reason phrase", { timeout: 60_000 }, async () => {
  await withNodes(["node-a"], async (tunnels) => {
    const na = tunnels.get("node-a")!;
    const notConnect = await rawExchange(na.addresses.outbound, "GET / HTTP/1.1\r\nHost: x\r\n\r\n", S.wl(2));
    assert.match(notConnect, /^HTTP\/1\.1 405 Method Not Allowed\r\n/);
    assert.match(notConnect, /\r\nallow: CONNECT\r\n/i);
    const huge = await rawExchange(na.addresses.outbound, `CONNECT a:1 HTTP/1.1\r\nX: ${"a".repeat(9000)}`, S.wl(2));
    assert.match(huge, /^HTTP\/1\.1 431 Request Header Fields Too Large\r\n/);
    const bad = await rawExchange(na.addresses.outbound, "CONNECT nowhere HTTP/1.1\r\n\r\n", S.wl(2));
    assert.match(bad, /^HTTP\/1\.1 400 Bad Request\r\n/);
  });
});

test("the admin request URL comes from the listener's address, never from the client's Host header", { timeout: 60_000 }, async () => {
  await withNodes(["node-a"], async (tunnels) => {
    const na = tunnels.get("node-a")!;
    const forgedHost = await rawExchange(
      na.addresses.admin,
      // Without a token only a Host naming admin itself passes (DNS rebinding), hence the IP here.
      "POST /no_such_path HTTP/1.1\r\nHost: 127.0.0.1/quitquitquit?\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
    );
    assert.match(forgedHost, /^HTTP\/1\.1 404 /, forgedHost);
    assert.match(forgedHost, /invalid path: \/no_such_path/);
    // An absolute-form target gives its path; its authority, like Host, changes nothing.
    const absolute = await rawExchange(na.addresses.admin, "GET http://x/quitquitquit?/server_info HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert.match(absolute, /^HTTP\/1\.1 405 /, absolute);
    const asterisk = await rawExchange(na.addresses.admin, "OPTIONS * HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    assert.match(asterisk, /^HTTP\/1\.1 400 /, asterisk);
    const info = await (await na.admin("/server_info", { headers: { host: "127.0.0.9:1" } })).json() as { state: string; adminAddress: string };
    assert.equal(info.state, "LIVE");
    assert.equal(info.adminAddress, na.addresses.admin);
    assert.equal(await readiness(na), 200);
  });
});
