/**
 * `--no-instrumentation` (the benchmark's "instrumentation off") turns off what the dispatcher
 * measures for the inspector — loop lag and busy time, the task table — and nothing else: the
 * connection table stays exact and requests are proxied as usual.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import type { ConnectionsResponse, TasksResponse, WorkersResponse } from "../src/admin/wire.ts";
import { bootstrapYaml } from "./helpers/bootstrap.ts";
import { RawConnection } from "./helpers/http_client.ts";
import { startUpstream } from "./helpers/upstream.ts";
import { eventually, startWeft, writeTempFile } from "./helpers/weft_process.ts";

for (const instrumented of [true, false]) {
  test(`instrumentation ${instrumented ? "on" : "off"}: an in-flight request ${instrumented ? "is" : "is not"} a task; its connection is listed either way`, { timeout: 30_000 }, async () => {
    // The upstream holds each response until the test releases it, so the request stays in flight.
    let release: (() => void) | null = null;
    let arrived!: () => void;
    const requestArrived = new Promise<void>((r) => (arrived = r));
    const up = await startUpstream("up", (_req, res) => {
      release = () => res.end("done");
      arrived();
    });
    const yaml = bootstrapYaml({
      routes: `
              - match: { prefix: "/" }
                route: { cluster: up }`,
      clusters: [{ name: "up", endpoints: [up.port] }],
    });
    const args = ["proxy", "serve", "-c", writeTempFile("envoy.yaml", yaml), "--concurrency", "1"];
    const weft = await startWeft(instrumented ? args : [...args, "--no-instrumentation"]);
    const c = await RawConnection.open(weft.listeners.edge!);
    try {
      const response = c.request("GET", "/held", {}, "", 20_000);
      response.catch(() => {}); // awaited below; a failed assertion first must not leave it unhandled
      await requestArrived;
      // Connections and tasks arrive in the same worker report: once the connection shows, so
      // would its task.
      const conns = await eventually("the connection in /connections", async () => {
        const body = await (await weft.admin("/connections")).json() as ConnectionsResponse;
        return body.connections.length === 1 && body.connections[0]!.requests === 1 ? body : null;
      });
      assert.equal(conns.total, 1);
      const tasks = await (await weft.admin("/tasks")).json() as TasksResponse;
      if (instrumented) {
        assert.equal(tasks.tasks.length, 1);
        assert.equal(tasks.tasks[0]!.path, "/held");
        assert.equal(tasks.tasks[0]!.state, "waiting_response");
      } else {
        assert.deepEqual(tasks.tasks, []);
      }
      const workers = await (await weft.admin("/workers")).json() as WorkersResponse;
      if (!instrumented) assert.equal(workers.workers[0]!.loop.busy, 0);
      release!();
      const r = await response;
      assert.equal(r.status, 200);
      assert.equal(r.body, "done");
    } finally {
      c.close();
      await weft.stop();
      await up.close();
    }
  });
}
