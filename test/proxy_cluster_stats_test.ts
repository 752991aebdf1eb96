/**
 * Issue 17: cluster-level stats live as long as the cluster, as in Envoy. A reload that removes a
 * cluster removes its `cluster.<name>.*` stats (counters, gauges, histograms; in every worker and
 * on main); a cluster changed in place keeps counting where it was (Envoy builds the new cluster
 * while the old one still holds the same-named stats, so they carry over).
 *
 * @module
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { writeFileSync } from "node:fs";
import { bootstrapYaml, parseStats } from "./helpers/bootstrap.ts";
import { startUpstream, type Upstream } from "./helpers/upstream.ts";
import { startWeft, type WeftProcess, writeTempFile } from "./helpers/weft_process.ts";
import { withTimeout } from "./helpers/timeout.ts";

function config(a: Upstream, b: Upstream | null, aTimeout: string): string {
  return bootstrapYaml({
    routes: `${b === null ? "" : `
              - match: { prefix: "/b" }
                route: { cluster: b }`}
              - match: { prefix: "/" }
                route: { cluster: a }`,
    clusters: [{ name: "a", endpoints: [a.port], connectTimeout: aTimeout }, ...(b === null ? [] : [{ name: "b", endpoints: [b.port] }])],
  });
}

/** Every stat name and histogram that `/stats` (text), `?format=json` and Prometheus show for cluster `name`. */
async function statsOfCluster(weft: WeftProcess, name: string): Promise<{ text: string[]; json: string[]; prometheus: string[] }> {
  const text = await (await weft.admin("/stats")).text();
  const json = await weft.adminJson<{ stats: ({ name: string } | { histograms: { computed_quantiles: { name: string }[] } })[] }>("/stats?format=json");
  const prometheus = await (await weft.admin("/stats/prometheus")).text();
  const prefix = `cluster.${name}.`;
  return {
    text: text.split("\n").filter((l) => l.startsWith(prefix)),
    json: json.stats.flatMap((s) => ("name" in s ? [s.name] : s.histograms.computed_quantiles.map((h) => h.name))).filter((n) => n.startsWith(prefix)),
    prometheus: prometheus.split("\n").filter((l) => l.includes(`envoy_cluster_name="${name}"`)),
  };
}

async function get(weft: WeftProcess, path: string): Promise<string> {
  const r = await withTimeout(fetch(`http://127.0.0.1:${weft.listeners.edge}${path}`), 10_000, `GET ${path}`);
  assert.equal(r.status, 200, path);
  return await r.text();
}

async function reload(weft: WeftProcess, path: string, yaml: string): Promise<void> {
  writeFileSync(path, yaml);
  const r = await weft.admin("/reload", { method: "POST" });
  const body = await r.text();
  assert.equal(r.status, 200, body);
}

test("a reload that removes a cluster removes its cluster.<name>.* stats; a changed cluster keeps counting", { timeout: 60_000 }, async () => {
  const a = await startUpstream("a");
  const b = await startUpstream("b");
  const path = writeTempFile("envoy.yaml", config(a, b, "1s"));
  const weft = await startWeft(["proxy", "serve", "-c", path, "--concurrency", "2"]);
  try {
    for (let i = 0; i < 3; i++) assert.match(await get(weft, "/a"), /upstream=a/);
    for (let i = 0; i < 2; i++) assert.match(await get(weft, "/b"), /upstream=b/);
    const before = await statsOfCluster(weft, "b");
    const stats = parseStats(before.text.join("\n"));
    assert.equal(stats["cluster.b.upstream_rq_total"], 2);
    assert.equal(stats["cluster.b.upstream_rq_200"], 2);
    assert.equal(stats["cluster.b.membership_total"], 1, "main's own gauge");
    assert.ok(before.json.includes("cluster.b.upstream_rq_time"), "the histogram is there");
    assert.ok(before.prometheus.length > 0);

    // b removed, a changed (connect_timeout): b's stats go, a's carry over.
    await reload(weft, path, config(a, null, "2s"));
    assert.deepEqual(await statsOfCluster(weft, "b"), { text: [], json: [], prometheus: [] });
    assert.match(await get(weft, "/b"), /upstream=a/, "the route to b went with it");
    const after = parseStats((await statsOfCluster(weft, "a")).text.join("\n"));
    assert.equal(after["cluster.a.upstream_rq_total"], 4, "a counted on from 3 across its change");
    assert.equal(after["cluster.a.upstream_rq_200"], 4);

    // b back: its stats start from 0, nothing of the old b survived anywhere.
    await reload(weft, path, config(a, b, "2s"));
    assert.match(await get(weft, "/b"), /upstream=b/);
    const again = parseStats((await statsOfCluster(weft, "b")).text.join("\n"));
    assert.equal(again["cluster.b.upstream_rq_total"], 1);
    assert.equal(again["cluster.b.upstream_rq_200"], 1);
  } finally {
    await weft.stop();
    await a.close();
    await b.close();
  }
});
