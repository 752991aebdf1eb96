import { test } from "node:test";
import assert from "node:assert/strict";
import { createLoadBalancer, pickWeighted } from "./load_balancer.ts";

const hosts = (weights: number[]) => weights.map((weight, i) => ({ i, weight, activeRequests: 0, currentWeight: 0 }));

test("round robin cycles; weighted round robin is smooth and proportional", () => {
  const lb = createLoadBalancer("ROUND_ROBIN");
  const h = hosts([1, 1, 1]);
  assert.deepEqual([0, 1, 2, 3, 4, 5].map(() => lb.pick(h)!.i), [0, 1, 2, 0, 1, 2]);
  const w = hosts([5, 1, 1]);
  const seq = Array.from({ length: 7 }, () => lb.pick(w)!.i);
  assert.deepEqual(seq.filter((x) => x === 0).length, 5);
  assert.notDeepEqual(seq.slice(0, 5), [0, 0, 0, 0, 0]);
  assert.equal(lb.pick([]), null);
});

test("random respects weights", () => {
  const lb = createLoadBalancer("RANDOM");
  const h = hosts([3, 1]);
  const counts = [0, 0];
  for (let i = 0; i < 4000; i++) counts[lb.pick(h)!.i]!++;
  assert.ok(counts[0]! > 2700 && counts[0]! < 3300, String(counts));
});

test("least request prefers the host with fewer active requests", () => {
  const lb = createLoadBalancer("LEAST_REQUEST");
  const h = hosts([1, 1]);
  h[0]!.activeRequests = 10;
  for (let i = 0; i < 50; i++) assert.equal(lb.pick(h)!.i, 1);
});

test("pickWeighted spreads by weight", () => {
  const c = [{ name: "a", weight: 90 }, { name: "b", weight: 10 }];
  let a = 0;
  for (let i = 0; i < 2000; i++) if (pickWeighted(c, 100).name === "a") a++;
  assert.ok(a > 1700 && a < 1900, String(a));
});
