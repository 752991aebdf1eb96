/**
 * Issue 2, points 6 and 8: a blocked worker shows in /workers and the watchdog counters while the
 * others keep serving; SIGTERM and POST /quitquitquit close listeners, let in-flight requests finish,
 * then exit 0.
 */
import process from "node:process";
import { test } from "node:test";
import assert from "node:assert/strict";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream, type Upstream } from "./helpers/upstream.ts";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";
import { withTimeout } from "./helpers/timeout.ts";
import type { WorkersResponse } from "../src/admin/wire.ts";

function yamlFor(up: Upstream): string {
  return bootstrapYaml({
    routes: `
              - match: { prefix: "/" }
                route: { cluster: up }`,
    clusters: [{ name: "up", endpoints: [up.port] }],
  });
}

test("a blocked worker is reported by /workers and the watchdog; the other keeps serving", { timeout: 60_000 }, async () => {
  const up = await startUpstream("up");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yamlFor(up)), "--concurrency", "2", "--test-hooks"]);
  try {
    const port = weft.listeners.edge!;
    const block = await weft.admin("/debug/block_worker?worker=0&ms=2500", { method: "POST" });
    assert.equal(block.status, 200);
    const blockedAt = Date.now();
    // While worker 0 is held, connections the kernel gives worker 1 are still served.
    let servedDuringBlock = 0;
    await Promise.all(Array.from({ length: 16 }, async () => {
      const c = await RawConnection.open(port);
      const r = await c.request("GET", "/during", {}, "", 10_000);
      assert.equal(r.status, 200);
      if (Date.now() - blockedAt < 2000) servedDuringBlock++;
      c.close();
    }));
    assert.ok(servedDuringBlock > 0, "no request was served while worker 0 was blocked");

    const workers = await eventually("lag reported", async () => {
      const w = await weft.adminJson<WorkersResponse>("/workers");
      return w.workers[0]!.loop.lagMaxMs >= 2000 ? w : null;
    });
    assert.ok(workers.workers[0]!.watchdogMiss >= 1);
    assert.ok(workers.workers[0]!.watchdogMegaMiss >= 1);
    assert.ok(workers.workers[1]!.loop.lagMaxMs < 1000, `worker 1 lag ${workers.workers[1]!.loop.lagMaxMs}`);
    const stats = parseStats(await (await weft.admin("/stats")).text());
    assert.ok(stats["server.worker_0.watchdog_miss"]! >= 1);
    assert.ok(stats["server.worker_0.watchdog_mega_miss"]! >= 1);
    assert.equal(stats["server.worker_1.watchdog_mega_miss"], 0);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("the block hook does not exist without --test-hooks", { timeout: 30_000 }, async () => {
  const up = await startUpstream("up");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yamlFor(up)), "--concurrency", "1"]);
  try {
    assert.equal((await weft.admin("/debug/block_worker?worker=0&ms=10", { method: "POST" })).status, 404);
    assert.equal((await weft.admin("/quitquitquit")).status, 405);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

function withWatchdog(up: Upstream, watchdog: string): string {
  return `watchdogs:\n  worker_watchdog: ${watchdog}\n${yamlFor(up)}`;
}

test("miss_timeout and megamiss_timeout set the watchdog's thresholds", { timeout: 60_000 }, async () => {
  const up = await startUpstream("up");
  const config = withWatchdog(up, "{miss_timeout: 0.1s, megamiss_timeout: 0.3s}");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config), "--concurrency", "2", "--test-hooks"]);
  try {
    // 700 ms of silence: past both configured thresholds, short of the 1 s default megamiss.
    assert.equal((await weft.admin("/debug/block_worker?worker=0&ms=700", { method: "POST" })).status, 200);
    const stats = await eventually("worker 0 answers again, its misses counted", async () => {
      const s = parseStats(await (await weft.admin("/stats")).text());
      const w = await weft.adminJson<WorkersResponse>("/workers");
      return w.workers[0]!.status === "running" && s["server.worker_0.watchdog_mega_miss"]! >= 1 ? s : null;
    }, 20_000);
    assert.ok(stats["server.worker_0.watchdog_miss"]! >= 1);
    assert.equal(stats["server.worker_1.watchdog_mega_miss"], 0);
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

test("multikill_timeout: when enough workers are silent that long at once, the process exits as Envoy's aborts", { timeout: 60_000 }, async () => {
  const up = await startUpstream("up");
  // Three workers at 50%: max(2, ceil(3 × 0.5)) = 2 must be stuck at once.
  const config = withWatchdog(up, "{multikill_timeout: 0.5s, multikill_threshold: {value: 50}}");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config), "--concurrency", "3", "--test-hooks"]);
  try {
    // One stuck worker is not enough: the process stays up past the timeout.
    assert.equal((await weft.admin("/debug/block_worker?worker=0&ms=60000", { method: "POST" })).status, 200);
    await eventually("worker 0 past the multikill timeout", async () => {
      const stats = parseStats(await (await weft.admin("/stats")).text());
      return stats["server.worker_0.watchdog_mega_miss"]! >= 1;
    }, 20_000);
    assert.equal(weft.child.exitCode, null);
    assert.equal((await weft.admin("/debug/block_worker?worker=1&ms=60000", { method: "POST" })).status, 200);
    const started = Date.now();
    assert.equal(await withTimeout(weft.exited, 20_000, "exit after the second worker stalls"), 1);
    // Silence counts from the last answered ping, up to one 50 ms ping interval before the block.
    assert.ok(Date.now() - started >= 400, `exited after ${Date.now() - started} ms`);
    assert.match(weft.log(), /watchdog: 2 of 3 workers silent for over 500 ms \(multikill_timeout, threshold 2\); exiting/);
  } finally {
    await weft.stop();
    await up.close();
  }
});

test("kill_timeout: one worker silent that long ends the process, as Envoy's kill aborts it", { timeout: 60_000 }, async () => {
  const up = await startUpstream("up");
  const config = withWatchdog(up, "{kill_timeout: 0.5s}");
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config), "--concurrency", "2", "--test-hooks"]);
  try {
    // Held far longer than the test: only the watchdog can end it.
    assert.equal((await weft.admin("/debug/block_worker?worker=0&ms=60000", { method: "POST" })).status, 200);
    assert.equal(await withTimeout(weft.exited, 20_000, "exit after worker 0 stalls past kill_timeout"), 1);
    // The silence the watchdog measured (from the last answered ping), not the test's wall clock,
    // which starts after the block was asked for.
    const silent = weft.log().match(/watchdog: worker 0 silent for (\d+) ms \(kill_timeout 500 ms\); exiting/);
    assert.ok(silent, weft.log());
    assert.ok(Number(silent[1]) > 500, `killed after ${silent[1]} ms of silence`);
  } finally {
    await weft.stop();
    await up.close();
  }
});

test("node.id and node.cluster show in /server_info, as Envoy's", { timeout: 30_000 }, async () => {
  const up = await startUpstream("up");
  const config = `node: {id: edge-7, cluster: edge-fleet}\n${yamlFor(up)}`;
  const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", config), "--concurrency", "1"]);
  try {
    const info = await weft.adminJson<{ node: { id: string; cluster: string } }>("/server_info");
    assert.deepEqual(info.node, { id: "edge-7", cluster: "edge-fleet" });
  } finally {
    assert.equal(await weft.stop(), 0);
    await up.close();
  }
});

for (const how of ["SIGTERM", "POST /quitquitquit"] as const) {
  test(`${how}: listeners close, the in-flight request finishes, exit 0`, { timeout: 60_000 }, async () => {
    let release!: () => void;
    const released = new Promise<void>((r) => (release = r));
    let arrived!: () => void;
    const arrivedP = new Promise<void>((r) => (arrived = r));
    const up = await startUpstream("slow", (req, res) => {
      arrived();
      req.resume();
      void released.then(() => res.end("finished"));
    });
    const weft = await startWeft(["proxy", "serve", "-c", writeTempFile("envoy.yaml", yamlFor(up)), "--concurrency", "2"]);
    const port = weft.listeners.edge!;
    const c = await RawConnection.open(port);
    const inflight = c.request("GET", "/slow", {}, "", 20_000);
    await arrivedP;
    if (how === "SIGTERM") process.kill(weft.child.pid!, "SIGTERM");
    else assert.equal((await weft.admin("/quitquitquit", { method: "POST" })).status, 200);
    await eventually("listener closed", () =>
      RawConnection.open(port).then((x) => {
        x.close();
        return false;
      }, () => true));
    release();
    const r = await inflight;
    assert.equal(r.status, 200);
    assert.equal(r.body, "finished");
    assert.equal(r.headers["connection"], "close");
    assert.equal(await weft.exited, 0);
    await up.close();
  });
}
