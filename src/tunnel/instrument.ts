/**
 * Per-worker instrumentation for the tunnel, reported in the admin wire types (`src/admin/wire.ts`):
 * a connection table, a task table (one task per tunnelled connection) and a timer-drift loop-lag
 * sampler. Bounded and cheap: tables are maps keyed by id, the sampler keeps a fixed ring.
 *
 * This is the tunnel's small local equivalent of the shared worker dispatcher (`src/worker/`), to be
 * replaced by it once that exists.
 *
 * @example
 * ```ts
 * const ins = new Instrumentation(0);
 * const conn = ins.openConnection({ remoteAddress, remotePort, listener: "socks5", kind: "socks5" });
 * conn.bytesIn += n; ins.closeConnection(conn.id);
 * ins.workerInfo(); // WorkerInfo
 * ```
 *
 * @module
 */

import type {
  ConnectionInfo,
  LoopStats,
  TaskInfo,
  TaskState,
  WorkerInfo,
} from "../admin/wire.ts";

const LAG_BUCKETS_MS = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, Infinity];
const SAMPLE_INTERVAL_MS = 50;
const RING = 200; // 10 s of samples
const HISTORY = 60;

export interface LiveConnection {
  id: string;
  remoteAddress: string;
  remotePort: number;
  listener: string;
  kind: string;
  peer?: string;
  openedAt: number;
  lastActivityAt: number;
  bytesIn: number;
  bytesOut: number;
  requests: number;
}

export interface LiveTask {
  id: string;
  connectionId: string;
  state: TaskState;
  startedAt: number;
  stateAt: number;
  listener: string;
  route: string;
  cluster: string;
}

export class Instrumentation {
  readonly worker: number;
  readonly #conns = new Map<string, LiveConnection>();
  readonly #tasks = new Map<string, LiveTask>();
  #nConn = 0;
  #nTask = 0;
  totalConnections = 0;
  totalRequests = 0;
  dropped = 0;
  #lag = new Float64Array(RING);
  #lagN = 0;
  #history: number[] = [];
  #timer: ReturnType<typeof setInterval> | undefined;
  #last = 0;
  #lastRequests = 0;
  #lastRateAt = Date.now();
  #rate = 0;

  constructor(worker: number) {
    this.worker = worker;
  }

  /** Starts the loop-lag sampler (timer drift). */
  start(): void {
    this.#last = performance.now();
    this.#timer = setInterval(() => {
      const now = performance.now();
      const lag = Math.max(0, now - this.#last - SAMPLE_INTERVAL_MS);
      this.#last = now;
      this.#lag[this.#lagN++ % RING] = lag;
    }, SAMPLE_INTERVAL_MS);
    (this.#timer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
  }

  openConnection(
    c: Omit<
      LiveConnection,
      "id" | "openedAt" | "lastActivityAt" | "bytesIn" | "bytesOut" | "requests"
    >,
  ): LiveConnection {
    const now = Date.now();
    const conn: LiveConnection = {
      ...c,
      id: `${this.worker}.${++this.#nConn}`,
      openedAt: now,
      lastActivityAt: now,
      bytesIn: 0,
      bytesOut: 0,
      requests: 0,
    };
    this.#conns.set(conn.id, conn);
    this.totalConnections++;
    return conn;
  }

  closeConnection(id: string): void {
    this.#conns.delete(id);
  }

  openTask(t: Omit<LiveTask, "id" | "startedAt" | "stateAt">): LiveTask {
    const now = Date.now();
    const task: LiveTask = {
      ...t,
      id: `${this.worker}.${++this.#nTask}`,
      startedAt: now,
      stateAt: now,
    };
    this.#tasks.set(task.id, task);
    this.totalRequests++;
    return task;
  }

  setTaskState(t: LiveTask, state: TaskState): void {
    t.state = state;
    t.stateAt = Date.now();
  }

  closeTask(id: string): void {
    this.#tasks.delete(id);
  }

  get openConnections(): number {
    return this.#conns.size;
  }

  connections(extra: ConnectionInfo[] = []): ConnectionInfo[] {
    const now = Date.now();
    const out: ConnectionInfo[] = [];
    for (const c of this.#conns.values()) {
      const info: ConnectionInfo = {
        id: c.id,
        worker: this.worker,
        remoteAddress: c.remoteAddress,
        remotePort: c.remotePort,
        listener: c.listener,
        openedAt: c.openedAt,
        ageMs: now - c.openedAt,
        requests: c.requests,
        bytesIn: c.bytesIn,
        bytesOut: c.bytesOut,
        lastActivityAt: c.lastActivityAt,
        idleMs: now - c.lastActivityAt,
        kind: c.kind,
      };
      if (c.peer !== undefined) info.peer = c.peer;
      out.push(info);
    }
    return out.concat(extra);
  }

  tasks(): TaskInfo[] {
    const now = Date.now();
    return [...this.#tasks.values()].map((t) => ({
      id: t.id,
      worker: this.worker,
      connectionId: t.connectionId,
      state: t.state,
      stateMs: now - t.stateAt,
      ageMs: now - t.startedAt,
      listener: t.listener,
      route: t.route,
      cluster: t.cluster,
      method: "CONNECT",
      path: t.route,
    }));
  }

  loopStats(): LoopStats {
    const n = Math.min(this.#lagN, RING);
    const samples = Array.from(this.#lag.subarray(0, n)).sort((a, b) => a - b);
    const pct = (
      p: number,
    ) => (n ? samples[Math.min(n - 1, Math.floor(p * n))]! : 0);
    const hist = LAG_BUCKETS_MS.map(() => 0);
    for (const s of samples) hist[LAG_BUCKETS_MS.findIndex((b) => s <= b)]!++;
    const p99 = pct(0.99);
    this.#history.push(p99);
    if (this.#history.length > HISTORY) this.#history.shift();
    return {
      lagP50Ms: pct(0.5),
      lagP99Ms: p99,
      lagMaxMs: n ? samples[n - 1]! : 0,
      busy: 0,
      samplesPerSec: 1000 / SAMPLE_INTERVAL_MS,
      lagHistory: [...this.#history],
      lagHistogram: hist,
      lagBucketsMs: LAG_BUCKETS_MS.map((b) => (Number.isFinite(b) ? b : 1e9)),
    };
  }

  workerInfo(status = "running"): WorkerInfo {
    const now = Date.now();
    const dt = (now - this.#lastRateAt) / 1000;
    if (dt >= 1) {
      this.#rate = (this.totalRequests - this.#lastRequests) / dt;
      this.#lastRequests = this.totalRequests;
      this.#lastRateAt = now;
    }
    return {
      id: this.worker,
      status,
      generation: 0,
      loop: this.loopStats(),
      queues: [],
      inflightTasks: this.#tasks.size,
      openConnections: this.#conns.size,
      totalConnections: this.totalConnections,
      totalRequests: this.totalRequests,
      requestsPerSec: this.#rate,
      watchdogMiss: 0,
      watchdogMegaMiss: 0,
      lastPongMs: 0,
      dropped: this.dropped,
    };
  }
}
