/**
 * Issue 6, points 1 and 2: under steady load (keep-alive and new-connection requests, 30 s), a hot
 * restart and then a live reload to a changed route table complete with zero failed requests and
 * zero resets; the route change takes effect. An invalid reload changes nothing and says why.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { startUpstream, type Upstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { Load } from "./helpers/load.ts";
import { freePort } from "./helpers/ports.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";

function config(port: number, adminPort: number, cluster: string, a: Upstream, b: Upstream): string {
  return bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: ${cluster} }`,
    clusters: [{ name: "a", endpoints: [a.port] }, { name: "b", endpoints: [b.port] }],
    flush: "0.5s",
  }).replace("port_value: 0 } }\n    filter_chains", `port_value: ${port} } }\n    filter_chains`)
    .replace("port_value: 0 } }\nstats_flush", `port_value: ${adminPort} } }\nstats_flush`);
}

/**
 * Without net.ipv4.tcp_migrate_req, connections waiting in the parent's accept queue when it closes
 * its listener are reset by the kernel (SO_REUSEPORT groups do not hand them over). CI sets it.
 */
function requireMigrateReq(): void {
  const path = "/proc/sys/net/ipv4/tcp_migrate_req";
  if (readFileSync(path, "utf8").trim() === "1") return;
  try {
    writeFileSync(path, "1");
  } catch {
    assert.fail(`${path} is 0 and cannot be set here: hot restart needs it to hand over queued connections (see README, Operations)`);
  }
}

test("hot restart, then live reload, under load: no failed request, route change applied", { timeout: 180_000 }, async () => {
  requireMigrateReq();
  const a = await startUpstream("a", (req, res) => {
    req.resume();
    res.end("from a");
  });
  const b = await startUpstream("b", (req, res) => {
    req.resume();
    res.end("from b");
  });
  const port = await freePort();
  const adminPort = await freePort();
  const path = writeTempFile("envoy.yaml", config(port, adminPort, "a", a, b));
  const baseId = 1000 + Math.floor(Math.random() * 100000);
  const common = ["proxy", "serve", "-c", path, "--concurrency", "2", "--base-id", String(baseId), "--drain-time-s", "3", "--parent-shutdown-time-s", "8"];
  const parent = await startWeft([...common, "--restart-epoch", "0"]);
  let child: Awaited<ReturnType<typeof startWeft>> | null = null;
  const load = new Load({ port, keepAlive: 4, newConnections: 2, path: "/x" });
  const began = Date.now();
  try {
    await new Promise((r) => setTimeout(r, 8000));
    // Hot restart: epoch 1 binds the same port, takes the admin address, and the parent drains.
    child = await startWeft([...common, "--restart-epoch", "1"]);
    assert.equal(child.adminPort, adminPort);
    assert.equal(await parent.exited, 0);
    const info = await child.adminJson<{ hotRestartEpoch: number }>("/server_info");
    assert.equal(info.hotRestartEpoch, 1);
    // Counters carried over from the parent: the child counts every request since epoch 0 began.
    const carried = parseStats(await (await child.admin("/stats")).text());
    assert.ok(carried["http.edge.downstream_rq_total"]! >= load.result.requests * 0.9, `child counted ${carried["http.edge.downstream_rq_total"]} of ${load.result.requests}`);
    assert.equal(carried["server.hot_restart_epoch"], 1);
    await new Promise((r) => setTimeout(r, 6000));

    // An invalid reload changes nothing and reports path and line.
    const good = readFileSync(path, "utf8");
    writeFileSync(path, good.replace("route: { cluster: a }", "route: { cluster: nowhere }"));
    const rejected = await child.admin("/reload", { method: "POST" });
    assert.equal(rejected.status, 400);
    assert.match(await rejected.text(), /envoy\.yaml:\d+:\d+: static_resources\.listeners\[0\]\.filter_chains\[0\]\.filters\[0\]\.typed_config\.route_config\.virtual_hosts\[0\]\.routes\[0\]\.route\.cluster: .*nowhere/);
    const dump = await child.adminJson<{ configs: { last_reload_attempt?: { ok: boolean; errors: string[] } }[] }>("/config_dump");
    assert.equal(dump.configs[1]!.last_reload_attempt!.ok, false);
    assert.match(dump.configs[1]!.last_reload_attempt!.errors[0]!, /:\d+:\d+: .*route\.cluster/);
    load.mark();
    await new Promise((r) => setTimeout(r, 1000));
    assert.deepEqual([...load.recent.keys()], ["from a"]);

    // A valid reload to a changed route table (SIGHUP) takes effect without failures.
    writeFileSync(path, good.replace("route: { cluster: a }", "route: { cluster: b }"));
    process.kill(child.child.pid!, "SIGHUP");
    await eventually("route change", async () => {
      load.mark();
      await new Promise((r) => setTimeout(r, 300));
      return load.recent.size === 1 && load.recent.has("from b");
    }, 10_000);
    // Keep the load on after the reload, and for at least 30 s in all.
    await new Promise((r) => setTimeout(r, Math.max(8000, 31_000 - (Date.now() - began))));
    const result = await load.stop();
    assert.ok(Date.now() - began >= 30_000);
    assert.deepEqual(result.failures, []);
    assert.ok(result.requests > 3000, `only ${result.requests} requests`);
    assert.ok(result.bodies.get("from a")! > 0 && result.bodies.get("from b")! > 0);
    const stats = parseStats(await (await child.admin("/stats")).text());
    assert.equal(stats["server.reload_rejected"], 1);
    assert.equal(stats["server.reload_success"], 1);
  } finally {
    await load.stop();
    await parent.stop("SIGKILL");
    if (child) assert.equal(await child.stop(), 0);
    await a.close();
    await b.close();
  }
});
