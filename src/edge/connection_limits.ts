/**
 * Connection limits that span workers: a listener's `max_connections` and the overload manager's
 * `global_downstream_max_connections`. Like Envoy's atomic counters, they live in shared memory: a
 * SharedArrayBuffer with one row per worker (`[total, listener 0, listener 1, …]`). A worker only
 * writes its own row; it reads the others to check a limit. When a worker dies, main zeroes its row.
 *
 * @example
 * ```ts
 * const limits = new ConnectionLimits(shared, workerId, maxWorkers);
 * if (!limits.tryOpen(listenerIndex, listenerMax, globalMax)) socket.destroy();
 * ```
 * @module
 */

export const MAX_LISTENERS = 64;
const ROW = 1 + MAX_LISTENERS;

/** The shared buffer main creates for `maxWorkers` worker slots. */
export function createLimitsBuffer(maxWorkers: number): SharedArrayBuffer {
  return new SharedArrayBuffer(Int32Array.BYTES_PER_ELEMENT * ROW * maxWorkers);
}

/** Main: forget a dead worker's connections. */
export function clearWorkerRow(shared: SharedArrayBuffer, worker: number): void {
  const cells = new Int32Array(shared);
  for (let i = 0; i < ROW; i++) Atomics.store(cells, worker * ROW + i, 0);
}

export type OpenVerdict = "ok" | "listener_overflow" | "global_overflow";

export class ConnectionLimits {
  private cells: Int32Array;
  private rows: number;

  constructor(shared: SharedArrayBuffer, private worker: number) {
    this.cells = new Int32Array(shared);
    this.rows = this.cells.length / ROW;
  }

  private sum(column: number): number {
    let n = 0;
    for (let r = 0; r < this.rows; r++) n += Atomics.load(this.cells, r * ROW + column);
    return n;
  }

  /** Count a new connection on `listener`, unless a limit (null = none) is reached. */
  tryOpen(listener: number, listenerMax: number | null, globalMax: number | null): OpenVerdict {
    if (globalMax !== null && this.sum(0) >= globalMax) return "global_overflow";
    if (listenerMax !== null && this.sum(1 + listener) >= listenerMax) return "listener_overflow";
    const base = this.worker * ROW;
    Atomics.add(this.cells, base, 1);
    Atomics.add(this.cells, base + 1 + listener, 1);
    return "ok";
  }

  close(listener: number): void {
    const base = this.worker * ROW;
    Atomics.sub(this.cells, base, 1);
    Atomics.sub(this.cells, base + 1 + listener, 1);
  }
}
