import { test } from "node:test";
import assert from "node:assert/strict";
import { Histogram } from "./histogram.ts";

test("quantiles are within the 10% bucket resolution", () => {
  const h = new Histogram();
  for (let i = 1; i <= 1000; i++) h.record(i);
  for (const [q, v] of [[0.5, 500], [0.9, 900], [0.99, 990]] as const) {
    const got = h.quantile(q);
    assert.ok(Math.abs(got - v) / v < 0.1, `p${q * 100} = ${got}`);
  }
  assert.equal(h.quantile(1), 1000);
  assert.ok(Number.isNaN(new Histogram().quantile(0.5)));
});

test("a delta merged on main equals the original", () => {
  const w = new Histogram();
  [0.001, 0.5, 3, 3, 70, 12000].forEach((v) => w.record(v));
  const main = new Histogram();
  main.merge(w.takeDelta()!);
  assert.equal(main.count, 6);
  assert.equal(main.max, 12000);
  assert.equal(w.count, 0);
  assert.equal(w.takeDelta(), null);
  assert.equal(main.countAtOrBelow(5), 4);
});
