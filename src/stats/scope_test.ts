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
