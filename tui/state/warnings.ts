/**
 * Lints over the stream, like tokio-console's warnings. Each is a pure function of the latest
 * snapshot, the bounded histories and the thresholds.
 *
 * @module
 */

import type { Snapshot, WorkerInfo } from "../../src/admin/wire.ts";
import { formatMs, formatPercent } from "../format.ts";
import type { ClusterSample, Imbalance, Thresholds, Warning, WorkerSample } from "./types.ts";
import { queueKey } from "./types.ts";

/**
 * max/mean of per-worker open connections (from the workers' own counters, which count every
 * connection even when the snapshot's connection list is truncated).
 *
 * @example Four workers holding 11, 4, 3 and 2 connections
 * ```ts
 * imbalance(workers).ratio; // 2.2 (max 11, mean 5)
 * ```
 */
export function imbalance(workers: readonly Pick<WorkerInfo, "id" | "openConnections">[]): Imbalance {
  if (workers.length === 0) return { ratio: 0, max: 0, mean: 0, total: 0, busiest: undefined };
  let total = 0;
  let max = -1;
  let busiest: number | undefined;
  for (const w of workers) {
    total += w.openConnections;
    if (w.openConnections > max) {
      max = w.openConnections;
      busiest = w.id;
    }
  }
  const mean = total / workers.length;
  return { ratio: mean > 0 ? max / mean : 0, max, mean, total, busiest };
}

/** Workers whose loop lag p99 is over the threshold. */
export function lintLag(snapshot: Snapshot, t: Thresholds): Warning[] {
  return snapshot.workers
    .filter((w) => w.loop.lagP99Ms > t.lagP99Ms)
    .map((w) => ({
      kind: "lag",
      severity: w.loop.lagP99Ms > 4 * t.lagP99Ms ? "error" : "warn",
      subject: `worker ${w.id}`,
      message: `worker ${w.id} loop lag p99 ${formatMs(w.loop.lagP99Ms)} > ${formatMs(t.lagP99Ms)} (max ${
        formatMs(w.loop.lagMaxMs)
      })`,
    }));
}

/**
 * Workers that are blocked now or missed the watchdog within the kept history. The first snapshot
 * is a baseline: misses counted before the inspector attached do not warn unless still blocked.
 */
export function lintWatchdog(
  snapshot: Snapshot,
  history: Readonly<Record<number, readonly WorkerSample[]>>,
): Warning[] {
  const out: Warning[] = [];
  for (const w of snapshot.workers) {
    const samples = history[w.id] ?? [];
    const first = samples[0];
    const missed = first ? w.watchdogMiss - first.watchdogMiss : 0;
    const blocked = w.status === "blocked";
    if (!blocked && missed <= 0) continue;
    const span = first ? Math.max(0, snapshot.at - first.at) : 0;
    const parts = [
      blocked ? `worker ${w.id} is blocked` : `worker ${w.id} missed the watchdog`,
      missed > 0 ? `${missed}× in the last ${Math.max(1, Math.round(span / 1000))} s` : undefined,
      `last pong ${formatMs(w.lastPongMs)} ago`,
    ].filter((p): p is string => p !== undefined);
    out.push({
      kind: "watchdog",
      severity: blocked ? "error" : "warn",
      subject: `worker ${w.id}`,
      message: parts.join(", "),
    });
  }
  return out;
}

/** Connections spread unevenly: max/mean over the threshold, with enough connections to matter. */
export function lintImbalance(snapshot: Snapshot, t: Thresholds): Warning[] {
  const im = imbalance(snapshot.workers);
  if (snapshot.workers.length < 2 || im.total < t.imbalanceMinConnections || im.ratio <= t.imbalance) return [];
  return [{
    kind: "imbalance",
    severity: "warn",
    subject: `worker ${im.busiest}`,
    message: `connection imbalance ${im.ratio.toFixed(2)}× > ${t.imbalance}× (worker ${im.busiest} holds ${im.max}, mean ${
      im.mean.toFixed(1)
    })`,
  }];
}

/**
 * Whether a depth series "keeps growing": over the last `flushes` steps it never shrank and grew in
 * at least half of them.
 *
 * @example
 * ```ts
 * isGrowing([1, 2, 2, 3, 4, 5], 5); // true
 * isGrowing([1, 2, 1, 3, 4, 5], 5); // false (it shrank once)
 * ```
 */
export function isGrowing(depths: readonly number[], flushes: number): boolean {
  if (flushes < 1 || depths.length < flushes + 1) return false;
  const tail = depths.slice(-(flushes + 1));
  let ups = 0;
  for (let i = 1; i < tail.length; i++) {
    const a = tail[i - 1] ?? 0;
    const b = tail[i] ?? 0;
    if (b < a) return false;
    if (b > a) ups++;
  }
  return ups >= Math.ceil(flushes / 2);
}

/** Queues whose depth keeps growing. */
export function lintQueueGrowth(
  snapshot: Snapshot,
  history: Readonly<Record<string, readonly number[]>>,
  t: Thresholds,
): Warning[] {
  const out: Warning[] = [];
  for (const q of allQueues(snapshot)) {
    const depths = history[queueKey(q)] ?? [];
    if (!isGrowing(depths, t.queueGrowthFlushes)) continue;
    const from = depths[depths.length - 1 - t.queueGrowthFlushes] ?? 0;
    out.push({
      kind: "queue-growth",
      severity: "warn",
      subject: `queue ${queueKey(q)}`,
      message: `queue ${q.name} on worker ${q.worker} keeps growing: ${from} → ${q.depth} over ${t.queueGrowthFlushes} flushes (oldest waits ${
        formatMs(q.oldestWaitMs)
      })`,
    });
  }
  return out;
}

/**
 * 5xx share of upstream requests per cluster: over the kept window when it saw enough requests,
 * else over the process lifetime (only until a window exists).
 */
export function upstreamErrorRate(
  cluster: { readonly rqTotal: number; readonly rq5xx: number },
  samples: readonly ClusterSample[],
): { readonly rate: number; readonly requests: number; readonly windowed: boolean } {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (first && last && samples.length >= 2) {
    const requests = last.rqTotal - first.rqTotal;
    const errors = last.rq5xx - first.rq5xx;
    return { rate: requests > 0 ? errors / requests : 0, requests: Math.max(0, requests), windowed: true };
  }
  return {
    rate: cluster.rqTotal > 0 ? cluster.rq5xx / cluster.rqTotal : 0,
    requests: cluster.rqTotal,
    windowed: false,
  };
}

/** Clusters answering 5xx above the threshold. */
export function lintUpstream5xx(
  snapshot: Snapshot,
  history: Readonly<Record<string, readonly ClusterSample[]>>,
  t: Thresholds,
): Warning[] {
  const out: Warning[] = [];
  for (const c of snapshot.clusters) {
    const e = upstreamErrorRate(c, history[c.name] ?? []);
    if (e.requests < t.errorMinRequests || e.rate <= t.errorRate) continue;
    out.push({
      kind: "upstream-5xx",
      severity: e.rate > 4 * t.errorRate ? "error" : "warn",
      subject: `cluster ${c.name}`,
      message: `cluster ${c.name} upstream 5xx ${formatPercent(e.rate)} > ${formatPercent(t.errorRate)} (${
        e.windowed ? `last ${e.requests} requests` : `${e.requests} requests since start`
      })`,
    });
  }
  return out;
}

/** All lints, errors first, in a stable order. */
export function computeWarnings(
  snapshot: Snapshot,
  history: {
    readonly workers: Readonly<Record<number, readonly WorkerSample[]>>;
    readonly queues: Readonly<Record<string, readonly number[]>>;
    readonly clusters: Readonly<Record<string, readonly ClusterSample[]>>;
  },
  t: Thresholds,
): Warning[] {
  const all = [
    ...lintWatchdog(snapshot, history.workers),
    ...lintLag(snapshot, t),
    ...lintUpstream5xx(snapshot, history.clusters, t),
    ...lintQueueGrowth(snapshot, history.queues, t),
    ...lintImbalance(snapshot, t),
  ];
  return all
    .map((w, i) => ({ w, i }))
    .sort((a, b) => (a.w.severity === b.w.severity ? a.i - b.i : a.w.severity === "error" ? -1 : 1))
    .map((x) => x.w);
}

/**
 * Every queue in a snapshot: the top-level list, plus per-worker queues it does not already hold.
 */
export function allQueues(snapshot: Snapshot): Snapshot["queues"] {
  const seen = new Set(snapshot.queues.map(queueKey));
  const extra = snapshot.workers.flatMap((w) => w.queues).filter((q) => !seen.has(queueKey(q)));
  return extra.length === 0 ? snapshot.queues : [...snapshot.queues, ...extra];
}
