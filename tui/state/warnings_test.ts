import { test } from "node:test";
import assert from "node:assert/strict";
import { fixtures, later } from "../testing.ts";
import { advance, EMPTY_DERIVED } from "./derive.ts";
import { DEFAULT_THRESHOLDS, type Derived, type Thresholds } from "./types.ts";
import type { Snapshot } from "../../src/admin/wire.ts";
import {
  computeWarnings,
  imbalance,
  isGrowing,
  lintImbalance,
  lintLag,
  lintQueueGrowth,
  lintUpstream5xx,
  lintWatchdog,
  upstreamErrorRate,
} from "./warnings.ts";

function fold(snapshots: Snapshot[], t: Thresholds = DEFAULT_THRESHOLDS): Derived {
  let d = EMPTY_DERIVED;
  let prev: Snapshot | undefined;
  for (const s of snapshots) {
    d = advance(d, prev, s, t, 60);
    prev = s;
  }
  return d;
}

test("imbalance is max/mean of the workers' open connections", () => {
  const [a] = fixtures();
  const im = imbalance(a.workers);
  assert.deepEqual(im, { ratio: 2.2, max: 11, mean: 5, total: 20, busiest: 0 });
  assert.deepEqual(imbalance([]), { ratio: 0, max: 0, mean: 0, total: 0, busiest: undefined });
  assert.equal(imbalance([{ id: 0, openConnections: 0 }, { id: 1, openConnections: 0 }]).ratio, 0);
});

test("imbalance warns over the threshold, with enough connections and workers", () => {
  const [a] = fixtures();
  const [w] = lintImbalance(a, DEFAULT_THRESHOLDS);
  assert.equal(w?.kind, "imbalance");
  assert.match(w?.message ?? "", /2\.20× > 2× \(worker 0 holds 11, mean 5\.0\)/);
  assert.deepEqual(lintImbalance(a, { ...DEFAULT_THRESHOLDS, imbalance: 2.5 }), []);
  assert.deepEqual(lintImbalance(a, { ...DEFAULT_THRESHOLDS, imbalanceMinConnections: 21 }), []);
});

test("lag warns for each worker whose p99 is over the threshold", () => {
  const [a] = fixtures();
  const ws = lintLag(a, DEFAULT_THRESHOLDS);
  assert.deepEqual(ws.map((w) => w.subject), ["worker 2"]);
  assert.match(ws[0]?.message ?? "", /worker 2 loop lag p99 83ms > 50ms/);
  assert.equal(ws[0]?.severity, "warn");
  assert.equal(lintLag(a, { ...DEFAULT_THRESHOLDS, lagP99Ms: 20 })[0]?.severity, "error", "over 4× the threshold");
  assert.deepEqual(lintLag(a, { ...DEFAULT_THRESHOLDS, lagP99Ms: 100 }), []);
});

test("watchdog: misses before attaching are a baseline; new misses and a blocked worker warn", () => {
  const [a, b] = fixtures();
  assert.deepEqual(lintWatchdog(a, fold([a]).workers), [], "worker 3 had 2 misses before we attached");
  const d = fold([a, b]);
  const [w] = lintWatchdog(b, d.workers);
  assert.equal(w?.subject, "worker 3");
  assert.equal(w?.severity, "error");
  assert.match(w?.message ?? "", /worker 3 is blocked, 1× in the last 1 s, last pong 1\.25s ago/);
  const c = later(a, 1, (s) => {
    const w3 = s.workers[3];
    if (w3) w3.watchdogMiss = 5;
  });
  const [missed] = lintWatchdog(c, fold([a, c]).workers);
  assert.equal(missed?.severity, "warn");
  assert.match(missed?.message ?? "", /missed the watchdog, 3× in the last 1 s/);
});

test("isGrowing: never shrinking and growing in at least half of the flushes", () => {
  assert.equal(isGrowing([1, 2, 2, 3, 4, 5], 5), true);
  assert.equal(isGrowing([1, 2, 1, 3, 4, 5], 5), false);
  assert.equal(isGrowing([0, 0, 0, 0, 0, 1], 5), false);
  assert.equal(isGrowing([9, 1, 2, 3, 4], 3), true, "only the last flushes count");
  assert.equal(isGrowing([1, 2, 3], 5), false, "not enough history");
});

test("a queue that keeps growing warns with its depth change", () => {
  const [a] = fixtures();
  const grow = (depth: number, n: number) =>
    later(a, n, (s) => {
      for (const q of s.queues) if (q.name === "upstream:api" && q.worker === 2) q.depth = depth;
    });
  const series = [3, 4, 5, 5, 6, 8].map((d, i) => grow(d, i));
  const last = series.at(-1)!;
  const ws = lintQueueGrowth(last, fold(series).queues, DEFAULT_THRESHOLDS);
  assert.deepEqual(ws.map((w) => w.subject), ["queue upstream:api@2"]);
  assert.match(ws[0]?.message ?? "", /queue upstream:api on worker 2 keeps growing: 3 → 8 over 5 flushes/);
  assert.deepEqual(lintQueueGrowth(last, fold(series.slice(2)).queues, DEFAULT_THRESHOLDS), [], "4 flushes are not enough");
});

test("upstream 5xx: windowed from consecutive snapshots, lifetime until then", () => {
  const [a, b] = fixtures();
  const api = b.clusters.find((c) => c.name === "api")!;
  const d = fold([a, b]);
  const e = upstreamErrorRate(api, d.clusters.api ?? []);
  assert.deepEqual(e, { rate: 18 / 200, requests: 200, windowed: true });
  const ws = lintUpstream5xx(b, d.clusters, DEFAULT_THRESHOLDS);
  assert.deepEqual(ws.map((w) => w.subject), ["cluster api"]);
  assert.match(ws[0]?.message ?? "", /cluster api upstream 5xx 9\.0% > 5\.0% \(last 200 requests\)/);
  // Lifetime share of api in the first snapshot is 900/20100 = 4.5%: under the threshold.
  assert.deepEqual(lintUpstream5xx(a, fold([a]).clusters, DEFAULT_THRESHOLDS), []);
  assert.deepEqual(lintUpstream5xx(b, d.clusters, { ...DEFAULT_THRESHOLDS, errorMinRequests: 500 }), []);
});

test("all warnings of the second fixture, errors first", () => {
  const [a, b] = fixtures();
  const d = fold([a, b]);
  assert.deepEqual(
    computeWarnings(b, d, DEFAULT_THRESHOLDS).map((w) => `${w.severity} ${w.kind} ${w.subject}`),
    ["error watchdog worker 3", "warn lag worker 2", "warn upstream-5xx cluster api", "warn imbalance worker 0"],
  );
  assert.deepEqual(d.warnings, computeWarnings(b, d, DEFAULT_THRESHOLDS));
});
