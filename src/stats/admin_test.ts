import { test } from "node:test";
import assert from "node:assert/strict";
import { AdminRegistry } from "../admin/registry.ts";
import { registerStatsAdmin } from "./admin.ts";
import { StatsScope } from "./scope.ts";
import { StatsStore } from "./store.ts";

function statsAdmin(): AdminRegistry {
  const scope = new StatsScope();
  scope.counter("cluster.backend.upstream_rq_200").inc(3);
  scope.counter("http.ingress_http.downstream_rq_2xx").inc(2);
  const store = new StatsStore();
  store.apply(scope.takeDelta());
  const admin = new AdminRegistry({ token: null });
  registerStatsAdmin(admin, store, () => Promise.resolve());
  return admin;
}

async function get(admin: AdminRegistry, path: string): Promise<[number, string]> {
  const r = await admin.handle(new Request(`http://admin${path}`));
  return [r.status, await r.text()];
}

test("/stats?filter= is an RE2 partial match: RE2 syntax, linear time, RE2's refusals", async () => {
  const admin = statsAdmin();
  assert.deepEqual(await get(admin, "/stats?filter=rq_2xx"), [200, "http.ingress_http.downstream_rq_2xx: 2\n"]);
  assert.deepEqual(await get(admin, `/stats?filter=${encodeURIComponent("(?i)^CLUSTER\\.")}`), [200, "cluster.backend.upstream_rq_200: 3\n"]);
  // Backtracking engines take 2^30 steps on each name here; RE2 answers at once.
  const started = performance.now();
  assert.deepEqual(await get(admin, `/stats?filter=${encodeURIComponent("^([a-z_.0-9]+)+0$")}`), [200, "cluster.backend.upstream_rq_200: 3\n"]);
  assert.deepEqual(await get(admin, `/stats?filter=${encodeURIComponent("^([a-z_.0-9]+)+!$")}`), [200, ""]);
  assert.ok(performance.now() - started < 1000, `${performance.now() - started} ms`);
  const [status, body] = await get(admin, `/stats?filter=${encodeURIComponent("(a)\\1")}`);
  assert.equal(status, 400);
  assert.equal(body, "Invalid re2 regex: (a)\\1: uses a backreference (\\1), which RE2 does not support\n");
});
