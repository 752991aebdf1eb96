import { test } from "node:test";
import assert from "node:assert/strict";
import { StatsScope } from "./scope.ts";
import { StatsStore } from "./store.ts";

test("a removed stat leaves main with the next flush; asked for again, it starts at 0", () => {
  const scope = new StatsScope();
  const store = new StatsStore();
  scope.counter("~host.c.10.0.0.1:80.rq_total").inc(5);
  scope.gauge("~host.c.10.0.0.1:80.cx_active").inc();
  store.apply(scope.takeDelta());
  assert.equal(store.counterValue("~host.c.10.0.0.1:80.rq_total"), 5);

  scope.remove(["~host.c.10.0.0.1:80.rq_total", "~host.c.10.0.0.1:80.cx_active"]);
  assert.equal(scope.size, 0);
  // The host comes back within the same flush interval: main forgets the old figures first.
  scope.counter("~host.c.10.0.0.1:80.rq_total").inc();
  const delta = scope.takeDelta();
  assert.deepEqual(delta.removed, ["~host.c.10.0.0.1:80.rq_total", "~host.c.10.0.0.1:80.cx_active"]);
  store.apply(delta);
  assert.equal(store.counterValue("~host.c.10.0.0.1:80.rq_total"), 1);
  assert.equal(store.gauges.has("~host.c.10.0.0.1:80.cx_active"), false);
  assert.equal(scope.takeDelta().removed, undefined, "a removal is sent once");
});

test("a stat removed before its first flush is never announced to main", () => {
  const scope = new StatsScope();
  scope.counter("~host.c.10.0.0.2:80.rq_total").inc();
  scope.remove(["~host.c.10.0.0.2:80.rq_total"]);
  assert.deepEqual(scope.takeDelta(), { counters: [], gauges: [], histograms: [] });
});

test("a removed histogram leaves the worker and main, cumulative and interval figures alike", () => {
  const scope = new StatsScope();
  const store = new StatsStore();
  scope.histogram("cluster.b.upstream_rq_time").record(3);
  store.apply(scope.takeDelta());
  assert.equal(store.histograms.get("cluster.b.upstream_rq_time")?.count, 1);
  scope.remove(["cluster.b.upstream_rq_time"]);
  assert.equal(scope.size, 0);
  store.apply(scope.takeDelta());
  assert.equal(store.histograms.has("cluster.b.upstream_rq_time"), false);
  assert.equal(store.intervals.has("cluster.b.upstream_rq_time"), false);
});

test("removeScope forgets a removed cluster's stats on main, not those of a cluster whose name extends it", () => {
  const store = new StatsStore();
  store.apply({
    counters: [["cluster.b.upstream_rq_total", 2], ["cluster.b.x.upstream_rq_total", 5], ["cluster.bx.upstream_rq_total", 7]],
    gauges: [["cluster.b.membership_total", 1]],
    histograms: [],
  });
  store.histogram("cluster.b.upstream_rq_time").record(1);
  store.removeScope("cluster.b.", ["cluster.b.x.", "cluster.bx."]);
  assert.deepEqual(store.values(), [["cluster.b.x.upstream_rq_total", 5], ["cluster.bx.upstream_rq_total", 7]]);
  assert.equal(store.histograms.has("cluster.b.upstream_rq_time"), false);
});
