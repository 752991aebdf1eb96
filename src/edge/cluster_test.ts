import { test } from "node:test";
import assert from "node:assert/strict";
import type { Cluster, Endpoint } from "../config/types.ts";
import { StatsScope } from "../stats/scope.ts";
import { StatsStore } from "../stats/store.ts";
import { ClusterRuntime } from "./cluster.ts";
import type { WorkerContext } from "./context.ts";
import { DnsRefresher } from "./dns.ts";

/** What ClusterRuntime reads of its worker: the stats scope. No socket is opened here. */
function workerWith(stats: StatsScope): WorkerContext {
  return { dispatcher: { stats } } as unknown as WorkerContext;
}

const STRICT_DNS: Cluster = {
  name: "svc",
  type: "STRICT_DNS",
  connectTimeoutMs: 1000,
  lbPolicy: "ROUND_ROBIN",
  dnsRefreshRateMs: 1000,
  endpoints: [{ address: { address: "svc.internal", port: 8080 }, weight: 1 }],
};

const hostStatNames = (names: Iterable<string>) => [...names].filter((n) => n.startsWith("~host.svc."));

test("per-host stats of hosts that left the cluster are removed, in the worker and on main", async () => {
  // Each DNS answer has 10 addresses, 9 of them new: 1,000 addresses pass through the membership.
  let round = 0;
  const answer = () => Array.from({ length: 10 }, (_, i) => `10.${Math.floor((round * 9 + i) / 250)}.${(round * 9 + i) % 250}.1`);
  const dns = new DnsRefresher((host) => Promise.resolve(host === "svc.internal" ? answer() : []));
  const endpoints = new Map<string, Endpoint[]>();
  const scope = new StatsScope();
  const store = new StatsStore();
  dns.resolved("svc", -Infinity);
  assert.equal(await dns.refresh([STRICT_DNS], endpoints, 0), true);
  const cluster = new ClusterRuntime(workerWith(scope), STRICT_DNS, endpoints.get("svc")!);
  store.apply(scope.takeDelta());
  const perHost = hostStatNames([...store.counters.keys(), ...store.gauges.keys()]).length / 10;
  assert.ok(perHost > 0, "every host has stats");
  const workerStats = scope.size;
  const seen = new Set<string>();
  for (round = 1; seen.size < 1000; round++) {
    assert.equal(await dns.refresh([STRICT_DNS], endpoints, round * 1000), true, `round ${round}: the answer changed`);
    cluster.setEndpoints(endpoints.get("svc")!);
    for (const h of cluster.hosts) {
      seen.add(h.key);
      h.stats.rqTotal.inc();
    }
    store.apply(scope.takeDelta());
    const onMain = hostStatNames([...store.counters.keys(), ...store.gauges.keys()]);
    assert.equal(onMain.length, 10 * perHost, `round ${round}: main keeps the stats of the 10 current hosts only`);
    assert.equal(scope.size, workerStats, `round ${round}: the worker keeps as many stats as before`);
  }
  assert.equal(seen.size, 1000);
  // A host that stays keeps its figures: the one address each answer shares with the previous one.
  const kept = cluster.hosts.find((h) => store.counterValue(`~host.svc.${h.key}.rq_total`) === 2);
  assert.ok(kept !== undefined, "the host present in the last two answers counted both rounds");
});

test("a changed cluster takes over its cluster.<name>.* stats; removed later, it takes every one of them along", () => {
  const scope = new StatsScope();
  const store = new StatsStore();
  const clusterStats = () => [...store.counters.keys(), ...store.gauges.keys(), ...store.histograms.keys()].filter((n) => n.startsWith("cluster.svc."));
  const endpoints: Endpoint[] = [{ address: { address: "10.0.0.1", port: 8080 }, weight: 1 }];
  const before = new ClusterRuntime(workerWith(scope), STRICT_DNS, endpoints);
  before.stats.countResponse(503);
  before.stats.rqTime.record(2);
  // Counted by some users only (tcp_proxy's byte counts): made on first use, owned all the same.
  before.stats.counter("upstream_cx_rx_bytes_total").inc(5);
  store.apply(scope.takeDelta());
  assert.equal(store.counterValue("cluster.svc.upstream_rq_503"), 1);

  const after = new ClusterRuntime(workerWith(scope), { ...STRICT_DNS, connectTimeoutMs: 2000 }, endpoints, before.stats);
  before.retire();
  after.stats.countResponse(200);
  store.apply(scope.takeDelta());
  assert.equal(store.counterValue("cluster.svc.upstream_rq_completed"), 2, "counted on across the change");
  assert.equal(store.counterValue("cluster.svc.upstream_rq_503"), 1);

  after.remove();
  store.apply(scope.takeDelta());
  assert.deepEqual(clusterStats(), [], "no stat of the removed cluster is left on main, the 503 counted before the change included");
  assert.equal(scope.size, 0, "nor in the worker");
});
