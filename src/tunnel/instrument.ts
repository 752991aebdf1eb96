/**
 * Per-worker instrumentation for the tunnel, on the shared worker dispatcher (`src/worker/`): its
 * connection table, task table and loop sampler (timer-drift lag, busy time around the tunnel's
 * callbacks), reported in the admin wire types so `weft inspect` reads a tunnel like a proxy.
 *
 * The tunnel ships whole rows when main asks (admin reads, the event stream) rather than the
 * proxy's per-flush deltas; the delta buffers are emptied on a timer so they stay bounded.
 *
 * @example
 * ```ts
 * const ins = new Instrumentation(0);
 * ins.start();
 * const conn = ins.openConnection({ remoteAddress, remotePort, listener: "socks5", kind: "socks5" });
 * conn.bytesIn += n;
 * ins.closeConnection(conn.id);
 * ins.workerInfo(); // WorkerInfo
 * ```
 *
 * @module
 */

import type { ConnectionInfo, LoopStats, TaskInfo, TaskState, WorkerInfo } from "../admin/wire.ts";
import { Dispatcher } from "../worker/dispatcher.ts";
import { type ConnectionRecord, toInfo } from "../worker/connection_table.ts";
import type { TaskRecord } from "../worker/task_table.ts";

/** How often loop figures are taken (the admin's flush interval). */
const FLUSH_INTERVAL_MS = 1000;
/** Tasks listed per report. */
const TASKS_PER_REPORT = 500;

export type LiveConnection = ConnectionRecord;
export type LiveTask = TaskRecord;

export class Instrumentation {
  readonly worker: number;
  readonly dispatcher: Dispatcher;
  readonly #conns = new Map<string, ConnectionRecord>();
  readonly #tasks = new Map<string, TaskRecord>();
  #deltaTimer: ReturnType<typeof setInterval> | undefined;
  /** Loop figures of the last complete flush interval (reports reset the sampler's window). */
  #loop: LoopStats;
  #lastRequests = 0;
  #lastRateAt = Date.now();
  #rate = 0;

  constructor(worker: number) {
    this.worker = worker;
    this.dispatcher = new Dispatcher(worker, { instrumentation: true });
    this.#loop = this.dispatcher.loop.report();
  }

  /** Starts the loop sampler. */
  start(): void {
    this.dispatcher.loop.start();
    this.#deltaTimer = setInterval(() => {
      this.#loop = this.dispatcher.loop.report();
      this.dispatcher.connections.takeDelta();
    }, FLUSH_INTERVAL_MS);
    (this.#deltaTimer as { unref?: () => void }).unref?.();
  }

  stop(): void {
    this.dispatcher.loop.stop();
    if (this.#deltaTimer) clearInterval(this.#deltaTimer);
  }

  /** Marks the start and end of a tunnel callback (busy time). */
  enter(): void {
    this.dispatcher.loop.enter();
  }

  leave(): void {
    this.dispatcher.loop.leave();
  }

  openConnection(c: { remoteAddress: string; remotePort: number; listener: string; kind: string; peer?: string }): LiveConnection {
    const row = this.dispatcher.connections.open(c.remoteAddress, c.remotePort, c.listener, c.kind);
    if (c.peer) row.peer = c.peer;
    this.#conns.set(row.id, row);
    return row;
  }

  closeConnection(id: string): void {
    const row = this.#conns.get(id);
    if (!row) return;
    this.#conns.delete(id);
    this.dispatcher.connections.close(row);
  }

  /**
   * A task for a tunnelled connection. `forwarded`: this worker carries a stream another worker
   * accepted (its `connectionId` names that worker's connection), which that worker has counted.
   */
  openTask(
    t: { connectionId: string; state: TaskState; listener: string; route: string; cluster: string; forwarded?: boolean },
  ): LiveTask {
    const task = this.dispatcher.tasks.start(t.connectionId, t.listener, "CONNECT", t.route, t.state);
    task.route = t.route;
    task.cluster = t.cluster;
    this.#tasks.set(task.id, task);
    if (t.forwarded) return task;
    this.dispatcher.totalRequests++;
    const conn = this.#conns.get(t.connectionId);
    if (conn) conn.requests++;
    return task;
  }

  setTaskState(t: LiveTask, state: TaskState): void {
    this.dispatcher.tasks.setState(t, state);
  }

  closeTask(id: string): void {
    const t = this.#tasks.get(id);
    if (!t) return;
    this.#tasks.delete(id);
    this.dispatcher.tasks.finish(t);
  }

  get openConnections(): number {
    return this.dispatcher.connections.size;
  }

  connections(extra: ConnectionInfo[] = []): ConnectionInfo[] {
    const now = Date.now();
    const out: ConnectionInfo[] = [];
    for (const row of this.dispatcher.connections.rowsList()) out.push(toInfo(row, now));
    return out.concat(extra);
  }

  tasks(): TaskInfo[] {
    return this.dispatcher.tasks.list(TASKS_PER_REPORT);
  }

  workerInfo(status = "running"): WorkerInfo {
    const d = this.dispatcher;
    const now = Date.now();
    const dt = (now - this.#lastRateAt) / 1000;
    if (dt >= 1) {
      this.#rate = (d.totalRequests - this.#lastRequests) / dt;
      this.#lastRequests = d.totalRequests;
      this.#lastRateAt = now;
    }
    return {
      id: this.worker,
      status,
      generation: 0,
      loop: this.#loop,
      queues: d.queues.report(),
      inflightTasks: d.tasks.size,
      openConnections: d.connections.size,
      totalConnections: d.connections.total,
      totalRequests: d.totalRequests,
      requestsPerSec: this.#rate,
      watchdogMiss: 0,
      watchdogMegaMiss: 0,
      lastPongMs: 0,
      dropped: d.tasks.dropped,
    };
  }
}
