/**
 * A log-bucketed histogram (factor 1.1, ~5% resolution from 10 µs to over an hour), cheap to record on
 * a worker and mergeable on main. Values are milliseconds.
 *
 * @example Record and read a percentile
 * ```ts
 * const h = new Histogram();
 * h.record(1.5);
 * h.record(2.5);
 * h.quantile(0.5); // ≈ 1.5
 * ```
 * @module
 */

const FACTOR = 1.1;
const MIN_VALUE = 0.01;
const LOG_FACTOR = Math.log(FACTOR);
/** Bucket 0 holds values ≤ MIN_VALUE; bucket i > 0 holds (MIN·F^(i-1), MIN·F^i]. */
export const BUCKET_COUNT = 1 + Math.ceil(Math.log(3_600_000 / MIN_VALUE) / LOG_FACTOR) + 1;

/** Upper bound of bucket `i` in ms. */
export function bucketUpperBound(i: number): number {
  return i === 0 ? MIN_VALUE : MIN_VALUE * Math.pow(FACTOR, i);
}

export function bucketIndex(value: number): number {
  if (!(value > MIN_VALUE)) return 0;
  const i = Math.ceil(Math.log(value / MIN_VALUE) / LOG_FACTOR);
  return i >= BUCKET_COUNT ? BUCKET_COUNT - 1 : i;
}

/** Sparse histogram delta as it crosses postMessage: `[bucket, count, bucket, count, …]`. */
export interface HistogramDelta {
  buckets: number[];
  count: number;
  sum: number;
  max: number;
}

export class Histogram {
  counts = new Float64Array(BUCKET_COUNT);
  count = 0;
  sum = 0;
  max = 0;

  record(value: number): void {
    this.counts[bucketIndex(value)]!++;
    this.count++;
    this.sum += value;
    if (value > this.max) this.max = value;
  }

  /** Add a delta taken on another thread. */
  merge(delta: HistogramDelta): void {
    const b = delta.buckets;
    for (let i = 0; i < b.length; i += 2) this.counts[b[i]!]! += b[i + 1]!;
    this.count += delta.count;
    this.sum += delta.sum;
    if (delta.max > this.max) this.max = delta.max;
  }

  /** The recorded values as a sparse delta, then clear (worker-side flush). */
  takeDelta(): HistogramDelta | null {
    if (this.count === 0) return null;
    const buckets: number[] = [];
    const c = this.counts;
    for (let i = 0; i < c.length; i++) {
      if (c[i]! > 0) {
        buckets.push(i, c[i]!);
        c[i] = 0;
      }
    }
    const delta = { buckets, count: this.count, sum: this.sum, max: this.max };
    this.count = 0;
    this.sum = 0;
    this.max = 0;
    return delta;
  }

  /** Value at quantile q (0..1), interpolated inside the bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN;
    const target = q * this.count;
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      const n = this.counts[i]!;
      if (n === 0) continue;
      if (seen + n >= target) {
        const lo = i === 0 ? 0 : bucketUpperBound(i - 1);
        const hi = Math.min(bucketUpperBound(i), this.max);
        const frac = n === 0 ? 1 : (target - seen) / n;
        return Math.max(lo, Math.min(hi, lo + (hi - lo) * frac));
      }
      seen += n;
    }
    return this.max;
  }

  /** How many recorded values are ≤ bound (bucket granularity), for Prometheus buckets. */
  countAtOrBelow(bound: number): number {
    let n = 0;
    for (let i = 0; i < this.counts.length && bucketUpperBound(i) <= bound * 1.0000001; i++) n += this.counts[i]!;
    return n;
  }

  reset(): void {
    this.counts.fill(0);
    this.count = 0;
    this.sum = 0;
    this.max = 0;
  }
}
