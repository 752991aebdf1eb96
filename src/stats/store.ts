/**
 * Main-thread stats: the sum of every worker's deltas plus main's own stats, rendered in Envoy's
 * admin formats (`/stats` text and JSON, `/stats/prometheus`).
 *
 * @example Merge a worker delta and read a counter
 * ```ts
 * const store = new StatsStore();
 * store.apply({ counters: [["cluster.a.upstream_rq_total", 3]], gauges: [], histograms: [] });
 * store.counterValue("cluster.a.upstream_rq_total"); // 3
 * ```
 * @module
 */
import type { HistogramSummary } from "../admin/wire.ts";
import { Histogram } from "./histogram.ts";
import type { StatsDelta } from "./scope.ts";

/** Stats whose name starts with this are internal (per-host figures for /clusters), never listed. */
export const HIDDEN_PREFIX = "~";

export class StatsStore {
  readonly counters = new Map<string, number>();
  readonly gauges = new Map<string, number>();
  readonly histograms = new Map<string, Histogram>();
  /** The last flush interval's part of each histogram (Envoy's "interval" quantiles). */
  readonly intervals = new Map<string, Histogram>();
  /** Counter names that have ever been non-zero (`?usedonly`). */
  private used = new Set<string>();

  apply(delta: StatsDelta): void {
    for (const name of delta.removed ?? []) this.remove(name);
    for (const [name, d] of delta.counters) {
      this.counters.set(name, (this.counters.get(name) ?? 0) + d);
      if (d !== 0) this.used.add(name);
    }
    for (const [name, d] of delta.gauges) {
      this.gauges.set(name, (this.gauges.get(name) ?? 0) + d);
      if (d !== 0) this.used.add(name);
    }
    for (const [name, d] of delta.histograms) {
      this.histogram(name).merge(d);
      let iv = this.intervals.get(name);
      if (iv === undefined) this.intervals.set(name, iv = new Histogram());
      iv.merge(d);
      this.used.add(name);
    }
  }

  /** Forget a counter, gauge or histogram (its owner is gone). */
  remove(name: string): void {
    this.counters.delete(name);
    this.gauges.delete(name);
    this.histograms.delete(name);
    this.intervals.delete(name);
    this.used.delete(name);
  }

  /**
   * Forget every stat of a scope that is gone, e.g. `cluster.b.` when cluster `b` left the config,
   * except those under a prefix in `keep` (`cluster.b.x.` belongs to a cluster named `b.x`).
   */
  removeScope(prefix: string, keep: readonly string[] = []): void {
    const owned = (name: string) => name.startsWith(prefix) && !keep.some((k) => k.startsWith(prefix) && name.startsWith(k));
    for (const m of [this.counters, this.gauges, this.histograms]) {
      for (const name of m.keys()) if (owned(name)) this.remove(name);
    }
  }

  /** Start a new interval for the interval quantiles (called once per flush, after all workers). */
  rollInterval(): void {
    for (const h of this.intervals.values()) h.reset();
  }

  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (h === undefined) this.histograms.set(name, h = new Histogram());
    return h;
  }

  addCounter(name: string, n = 1): void {
    this.counters.set(name, (this.counters.get(name) ?? 0) + n);
    if (n !== 0) this.used.add(name);
  }

  setGauge(name: string, value: number): void {
    this.gauges.set(name, value);
    if (value !== 0) this.used.add(name);
  }

  counterValue(name: string): number {
    return this.counters.get(name) ?? 0;
  }

  gaugeValue(name: string): number {
    return this.gauges.get(name) ?? 0;
  }

  /** Envoy's POST /reset_counters: counters to zero, gauges and histograms kept. */
  resetCounters(): void {
    for (const name of this.counters.keys()) this.counters.set(name, 0);
  }

  isUsed(name: string): boolean {
    return this.used.has(name);
  }

  /** Each histogram that has values (hidden ones left out), summarized for the inspector's snapshot. */
  histogramSummaries(): Record<string, HistogramSummary> {
    const out: Record<string, HistogramSummary> = {};
    for (const [name, h] of this.histograms) {
      if (name.startsWith(HIDDEN_PREFIX) || h.count === 0) continue;
      out[name] = { count: h.count, sum: h.sum, p50: h.quantile(0.5), p90: h.quantile(0.9), p99: h.quantile(0.99), max: h.max };
    }
    return out;
  }

  /** Counters and gauges, sorted by name, hidden ones left out. */
  values(filter?: (name: string) => boolean): [string, number][] {
    const out: [string, number][] = [];
    for (const m of [this.counters, this.gauges]) {
      for (const [name, v] of m) {
        if (name.startsWith(HIDDEN_PREFIX)) continue;
        if (filter && !filter(name)) continue;
        out.push([name, v]);
      }
    }
    out.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
    return out;
  }
}
