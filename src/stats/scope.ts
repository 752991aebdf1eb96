/**
 * Worker-side stats: counters, gauges and histograms that a worker updates on its hot path and
 * flushes to main as deltas every `stats_flush_interval` (Envoy's thread-local stats). Each stat is
 * resolved once by name, so the hot path is a field increment.
 *
 * @example Count and flush
 * ```ts
 * const scope = new StatsScope();
 * const rq = scope.counter("http.ingress_http.downstream_rq_total");
 * rq.inc();
 * const delta = scope.takeDelta(); // { counters: [["http.ingress_http.downstream_rq_total", 1]], … }
 * ```
 * @module
 */
import { Histogram, type HistogramDelta } from "./histogram.ts";

export class Counter {
  value = 0;
  flushed = 0;
  announced = false;
  constructor(readonly name: string) {}
  inc(n = 1): void {
    this.value += n;
  }
}

/** A gauge kept as a running delta: every worker adds its part and main sums them. */
export class Gauge {
  value = 0;
  flushed = 0;
  announced = false;
  constructor(readonly name: string) {}
  inc(): void {
    this.value++;
  }
  dec(): void {
    this.value--;
  }
  add(n: number): void {
    this.value += n;
  }
}

export interface StatsDelta {
  /**
   * Stats this worker dropped since its last flush (a host that left its cluster, a removed
   * cluster): main forgets
   * them before it applies the values below, which may bring a name back with a fresh start.
   */
  removed?: string[];
  counters: [string, number][];
  gauges: [string, number][];
  histograms: [string, HistogramDelta][];
}

export class StatsScope {
  private counters = new Map<string, Counter>();
  private gauges = new Map<string, Gauge>();
  private histograms = new Map<string, Histogram>();
  /** Names dropped since the last flush that main knows of. */
  private removed: string[] = [];

  /** How many stats the scope holds. */
  get size(): number {
    return this.counters.size + this.gauges.size + this.histograms.size;
  }

  counter(name: string): Counter {
    let c = this.counters.get(name);
    if (c === undefined) this.counters.set(name, c = new Counter(name));
    return c;
  }

  gauge(name: string): Gauge {
    let g = this.gauges.get(name);
    if (g === undefined) this.gauges.set(name, g = new Gauge(name));
    return g;
  }

  histogram(name: string): Histogram {
    let h = this.histograms.get(name);
    if (h === undefined) this.histograms.set(name, h = new Histogram());
    return h;
  }

  /**
   * Drop stats whose owner is gone (Envoy's per-host stats live as long as their host, a cluster's
   * as long as the cluster). Handles already taken keep working but are never flushed again; asking
   * for the name again starts a new stat at 0.
   */
  remove(names: Iterable<string>): void {
    for (const name of names) {
      const stat = this.counters.get(name) ?? this.gauges.get(name);
      if (stat !== undefined) {
        this.counters.delete(name);
        this.gauges.delete(name);
        if (stat.announced) this.removed.push(name);
      } else if (this.histograms.delete(name)) {
        // Main may hold values of it from earlier flushes; a histogram keeps no announced flag.
        this.removed.push(name);
      }
    }
  }

  /** What changed since the last call. Stats that exist but never moved are sent once as 0 so main knows them. */
  takeDelta(): StatsDelta {
    const counters: [string, number][] = [];
    for (const c of this.counters.values()) {
      if (c.value !== c.flushed || !c.announced) {
        counters.push([c.name, c.value - c.flushed]);
        c.flushed = c.value;
        c.announced = true;
      }
    }
    const gauges: [string, number][] = [];
    for (const g of this.gauges.values()) {
      if (g.value !== g.flushed || !g.announced) {
        gauges.push([g.name, g.value - g.flushed]);
        g.flushed = g.value;
        g.announced = true;
      }
    }
    const histograms: [string, HistogramDelta][] = [];
    for (const [name, h] of this.histograms) {
      const d = h.takeDelta();
      if (d !== null) histograms.push([name, d]);
    }
    const removed = this.removed;
    this.removed = [];
    return { ...(removed.length > 0 ? { removed } : {}), counters, gauges, histograms };
  }
}
