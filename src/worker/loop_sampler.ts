/**
 * Event-loop lag from timer drift, and busy time around weft's own callbacks. Measured by hand
 * because `performance.eventLoopUtilization()` reads zeros on Deno and Bun and
 * `monitorEventLoopDelay()` is wrong on Deno.
 *
 * A timer is armed every `intervalMs`; how late it fires is the lag a socket event queued at that
 * moment would also have waited. The last `windowSize` samples are kept in a ring (bounded memory).
 *
 * @example
 * ```ts
 * const s = new LoopSampler();
 * s.start();
 * s.enter(); handleData(); s.leave(); // handleData reads the time with s.now()
 * s.report(1000).lagP99Ms;
 * ```
 * @module
 */
import type { LoopStats } from "../admin/wire.ts";

export const LAG_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, Infinity];
const HISTORY = 60;
const TIME_ORIGIN = performance.timeOrigin;

export class LoopSampler {
  private ring: Float64Array;
  private ringAt = 0;
  private ringFilled = 0;
  private samplesSinceReport = 0;
  private expected = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private depth = 0;
  private enteredAt = 0;
  private busyMs = 0;
  /** The last interval's figures, for reports that do not roll. */
  private lastRolled: LoopStats | null = null;
  private lastReportAt = performance.now();
  private history: number[] = [];
  /** When false, busy time is not measured (the benchmark's "instrumentation off"). */
  enabled = true;

  constructor(readonly intervalMs = 20, readonly windowSize = 250) {
    this.ring = new Float64Array(windowSize);
  }

  start(): void {
    if (!this.enabled || this.timer !== null) return;
    this.expected = performance.now() + this.intervalMs;
    const tick = () => {
      const now = performance.now();
      const lag = Math.max(0, now - this.expected);
      this.ring[this.ringAt] = lag;
      this.ringAt = (this.ringAt + 1) % this.ring.length;
      if (this.ringFilled < this.ring.length) this.ringFilled++;
      this.samplesSinceReport++;
      this.expected = now + this.intervalMs;
      this.timer = setTimeout(tick, this.intervalMs);
    };
    this.timer = setTimeout(tick, this.intervalMs);
    // Let a worker exit even while sampling (Deno and Bun both honour unref on timers).
    (this.timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
  }

  /** Mark the start of a weft callback (nesting allowed). */
  enter(): void {
    if (this.depth++ === 0) this.enteredAt = performance.now();
  }

  leave(): void {
    if (--this.depth === 0 && this.enabled) this.busyMs += performance.now() - this.enteredAt;
  }

  /**
   * `performance.now()` as of the start of the current callback (read once per callback, not once
   * per use: a clock read costs 40 ns on Bun and 120 ns on Deno); outside a callback, now.
   */
  now(): number {
    return this.depth > 0 ? this.enteredAt : performance.now();
  }

  /** {@linkcode now} as Unix epoch milliseconds, comparable across threads (see `sharedNow`). */
  wallNow(): number {
    return TIME_ORIGIN + this.now();
  }

  /**
   * Figures since the previous report (busy, samples/s) and over the ring window (lag). With
   * `roll` false (an admin read between flushes) busy and samples/s are the last interval's and
   * nothing is reset, so reads on demand neither shorten the interval nor add sparkline points.
   */
  report(roll = true): LoopStats {
    const now = performance.now();
    const samples = this.ring.slice(0, this.ringFilled).sort();
    // The pending sample: a blocked loop shows its lag before the timer fires.
    const pendingLag = this.timer !== null ? Math.max(0, now - this.expected) : 0;
    const pick = (q: number) => samples.length === 0 ? 0 : samples[Math.min(samples.length - 1, Math.floor(q * samples.length))]!;
    const lagP99 = Math.max(pick(0.99), pendingLag);
    const lag = {
      lagP50Ms: round(pick(0.5)),
      lagP99Ms: round(lagP99),
      lagMaxMs: round(Math.max(samples.length ? samples[samples.length - 1]! : 0, pendingLag)),
    };
    if (!roll && this.lastRolled !== null) return { ...this.lastRolled, ...lag, lagHistory: [...this.history] };
    const wall = Math.max(1, now - this.lastReportAt);
    // A callback still running counts up to now.
    let busy = this.busyMs;
    if (this.depth > 0) {
      busy += now - this.enteredAt;
      this.enteredAt = now;
    }
    const histogram = LAG_BUCKETS_MS.map(() => 0);
    for (const v of samples) histogram[LAG_BUCKETS_MS.findIndex((b) => v <= b)]!++;
    this.history.push(round(lagP99));
    if (this.history.length > HISTORY) this.history.shift();
    const stats: LoopStats = {
      ...lag,
      busy: this.enabled ? Math.min(1, busy / wall) : 0,
      samplesPerSec: Math.round((this.samplesSinceReport * 1000) / wall),
      lagHistory: [...this.history],
      lagHistogram: histogram,
      lagBucketsMs: LAG_BUCKETS_MS.map((b) => (b === Infinity ? -1 : b)),
    };
    this.busyMs = 0;
    this.samplesSinceReport = 0;
    this.lastReportAt = now;
    this.lastRolled = stats;
    return stats;
  }
}

function round(v: number): number {
  return Math.round(v * 100) / 100;
}
