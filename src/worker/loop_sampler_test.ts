import { test } from "node:test";
import assert from "node:assert/strict";
import { LoopSampler } from "./loop_sampler.ts";

const spin = (ms: number) => {
  const until = performance.now() + ms;
  while (performance.now() < until) { /* busy */ }
};

test("now() is the callback's start inside a callback (nested too), the current time outside", () => {
  const s = new LoopSampler();
  const before = performance.now();
  s.enter();
  const at = s.now();
  assert.ok(at >= before);
  spin(3);
  assert.equal(s.now(), at);
  s.enter();
  assert.equal(s.now(), at);
  s.leave();
  assert.equal(s.now(), at);
  assert.ok(Math.abs(s.wallNow() - (performance.timeOrigin + at)) < 1e-6);
  s.leave();
  assert.ok(s.now() >= at + 3);
});

test("busy time counts the time inside callbacks, and nothing when disabled", () => {
  const on = new LoopSampler();
  on.enter();
  spin(20);
  on.leave();
  assert.ok(on.report().busy > 0);
  const off = new LoopSampler();
  off.enabled = false;
  off.enter();
  spin(20);
  off.leave();
  assert.equal(off.report().busy, 0);
});

test("a report on demand (no roll) keeps the interval's busy and samples/s and adds no sparkline point", async () => {
  const s = new LoopSampler(5);
  s.start();
  try {
    await new Promise((r) => setTimeout(r, 100));
    s.enter();
    spin(20);
    s.leave();
    const interval = s.report();
    assert.ok(interval.samplesPerSec > 0 && interval.busy > 0);
    const onDemand = s.report(false);
    assert.equal(onDemand.samplesPerSec, interval.samplesPerSec);
    assert.equal(onDemand.busy, interval.busy);
    assert.deepEqual(onDemand.lagHistory, interval.lagHistory);
    // The interval still runs from the rolled report: the next one counts the samples since then.
    await new Promise((r) => setTimeout(r, 60));
    assert.ok(s.report().samplesPerSec > 0);
  } finally {
    s.stop();
  }
});
