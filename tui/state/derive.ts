/**
 * Folding one snapshot into the derived figures: bounded histories, stat rates, the change record
 * behind the "most changing" order, imbalance and warnings.
 *
 * @module
 */

import type { Snapshot } from "../../src/admin/wire.ts";
import type { ClusterSample, Derived, Thresholds, WorkerSample } from "./types.ts";
import { queueKey } from "./types.ts";
import { allQueues, computeWarnings, imbalance } from "./warnings.ts";

/** Flushes remembered per stat for the "most changing" order. */
export const CHANGE_WINDOW = 10;
const CHANGE_MASK = (1 << CHANGE_WINDOW) - 1;
/** Cluster totals kept for windowed 5xx rates. */
export const CLUSTER_WINDOW = 10;

export const EMPTY_DERIVED: Derived = {
  workers: {},
  queues: {},
  clusters: {},
  rates: {},
  changes: {},
  imbalance: { ratio: 0, max: 0, mean: 0, total: 0, busiest: undefined },
  warnings: [],
};

/**
 * Whether `next` continues the stream of `prev` (same process, moving forward). A restarted or
 * different instance starts the histories afresh.
 */
export function continues(prev: Snapshot | undefined, next: Snapshot): boolean {
  return prev !== undefined && prev.server.pid === next.server.pid && next.seq > prev.seq && next.at >= prev.at;
}

function push<T>(list: readonly T[] | undefined, item: T, limit: number): readonly T[] {
  const base = list ?? [];
  const start = Math.max(0, base.length + 1 - limit);
  return [...base.slice(start), item];
}

/** Number of set bits: how many of the remembered flushes changed the stat. */
export function changeCount(mask: number | undefined): number {
  let m = (mask ?? 0) & CHANGE_MASK;
  let n = 0;
  while (m) {
    m &= m - 1;
    n++;
  }
  return n;
}

/**
 * Folds `next` into `derived`, given the snapshot it follows (`prev`).
 *
 * @example Rates from two snapshots one second apart
 * ```ts
 * const d1 = advance(EMPTY_DERIVED, undefined, s1, DEFAULT_THRESHOLDS, 60);
 * const d2 = advance(d1, s1, s2, DEFAULT_THRESHOLDS, 60);
 * d2.rates["http.ingress_http.downstream_rq_total"]; // requests per second
 * ```
 */
export function advance(
  derived: Derived,
  prev: Snapshot | undefined,
  next: Snapshot,
  thresholds: Thresholds,
  limit: number,
): Derived {
  const base = continues(prev, next) ? derived : EMPTY_DERIVED;
  const from = base === derived ? prev : undefined;

  const workers: Record<number, readonly WorkerSample[]> = {};
  for (const w of next.workers) {
    workers[w.id] = push(base.workers[w.id], {
      at: next.at,
      lagP99Ms: w.loop.lagP99Ms,
      busy: w.loop.busy,
      requestsPerSec: w.requestsPerSec,
      watchdogMiss: w.watchdogMiss,
      openConnections: w.openConnections,
    }, limit);
  }

  const queues: Record<string, readonly number[]> = {};
  for (const q of allQueues(next)) queues[queueKey(q)] = push(base.queues[queueKey(q)], q.depth, limit);

  const clusters: Record<string, readonly ClusterSample[]> = {};
  for (const c of next.clusters) {
    clusters[c.name] = push(base.clusters[c.name], { at: next.at, rqTotal: c.rqTotal, rq5xx: c.rq5xx }, CLUSTER_WINDOW);
  }

  const rates: Record<string, number> = {};
  const changes: Record<string, number> = {};
  const dt = from ? (next.at - from.at) / 1000 : 0;
  for (const [name, value] of Object.entries(next.stats)) {
    const before = from?.stats[name];
    const changed = before !== undefined && before !== value;
    changes[name] = (((base.changes[name] ?? 0) << 1) | (changed ? 1 : 0)) & CHANGE_MASK;
    if (before !== undefined && dt > 0) rates[name] = (value - before) / dt;
  }
  for (const [name, h] of Object.entries(next.histograms)) {
    const before = from?.histograms[name];
    const changed = before !== undefined && before.count !== h.count;
    changes[name] = (((base.changes[name] ?? 0) << 1) | (changed ? 1 : 0)) & CHANGE_MASK;
    if (before !== undefined && dt > 0) rates[name] = (h.count - before.count) / dt;
  }

  const history = { workers, queues, clusters };
  return {
    ...history,
    rates,
    changes,
    imbalance: imbalance(next.workers),
    warnings: computeWarnings(next, history, thresholds),
  };
}
