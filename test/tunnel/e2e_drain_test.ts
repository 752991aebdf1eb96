/**
 * Done-when 6: SIGTERM (or POST /quitquitquit) stops accepting, lets established tunnels finish,
 * and force-closes what remains after the termination deadline.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { join } from "node:path";
import { baseConfig, echoServer, eventually, makeWorkdir, roundTrip, slot, socks5, startTunnel, type TunnelProcess, withTimeout, writeConfig } from "./_harness.ts";

const S = slot(4);

async function readiness(t: TunnelProcess): Promise<number> {
  const r = await fetch(`http://${t.addresses.readiness}/healthz/ready`);
  await r.body?.cancel();
  return r.status;
}

test("SIGTERM drains: no new connections, a held stream finishes, then exit", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echo = await echoServer(S.wl(3), 7000);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await Promise.all([
      startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca, extra: ["--termination-deadline-ms", "30000"] }),
      startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca }),
    ]);
    a = na;
    b = nb;
    const held = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
    assert.equal(await roundTrip(held, "before"), "before");
    na.signal("SIGTERM");
    await eventually(async () => (await readiness(na).catch(() => 0)) === 503, 10_000, "not ready while draining");
    // New connections are refused, the held stream keeps flowing.
    await assert.rejects(socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000));
    for (let i = 0; i < 5; i++) assert.equal(await roundTrip(held, `during ${i}`), `during ${i}`);
    assert.equal(na.child.exitCode, null, "still running while a tunnel is open");
    // The client finishes; the drain completes well before the 30 s deadline.
    held.end();
    const t0 = Date.now();
    assert.equal(await withTimeout(na.exited, 10_000, "exit after drain"), 0);
    assert.ok(Date.now() - t0 < 10_000);
    assert.match(na.stderr.join(""), /drained in \d+ ms, 0 connection\(s\) force-closed/);
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    await echo.close();
    await work.cleanup();
  }
});

test("the termination deadline force-closes what remains (POST /quitquitquit)", { timeout: 120_000 }, async () => {
  const work = await makeWorkdir();
  const path = join(work.dir, "local.yaml");
  await writeConfig(path, baseConfig(S));
  const echo = await echoServer(S.wl(3), 7000);
  let a: TunnelProcess | undefined, b: TunnelProcess | undefined;
  try {
    const [na, nb] = await Promise.all([
      startTunnel({ name: "node-a", config: path, node: "node-a", bind: S.nodeA, ca: work.ca }),
      startTunnel({ name: "node-b", config: path, node: "node-b", bind: S.nodeB, ca: work.ca, extra: ["--termination-deadline-ms", "500"] }),
    ]);
    a = na;
    b = nb;
    const held = await socks5(na.addresses.socks5, S.wl(2), S.wl(3), 7000);
    assert.equal(await roundTrip(held, "hi"), "hi");
    // The client sees its tunnel end (EOF) when the destination force-closes it.
    const closed = new Promise<void>((r) => {
      held.once("end", () => r());
      held.once("close", () => r());
    });
    const quit = await nb.admin("/quitquitquit", { method: "POST" });
    assert.equal(quit.status, 200);
    await quit.body?.cancel();
    await withTimeout(closed, 10_000, "held stream force-closed at the deadline");
    assert.equal(await withTimeout(nb.exited, 10_000, "exit"), 0);
    assert.match(nb.stderr.join(""), /[1-9]\d* connection\(s\) force-closed/);
  } finally {
    await Promise.all([a?.stop(), b?.stop()]);
    await echo.close();
    await work.cleanup();
  }
});
