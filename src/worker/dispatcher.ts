/**
 * A worker's dispatcher: the instrumentation it owns (loop sampler, connection table, task table,
 * queues, stats scope) and the report it flushes to main. Cheap enough to stay on in production, and
 * bounded: what it cannot keep it counts as dropped.
 *
 * @example
 * ```ts
 * const d = new Dispatcher(0, { instrumentation: true });
 * d.loop.start();
 * const row = d.connections.open("127.0.0.1", 40000, "main", "http");
 * d.report(); // { loop, queues, tasks, connChanged: [row], … }
 * ```
 * @module
 */
import { StatsScope } from "../stats/scope.ts";
import { ConnectionTable } from "./connection_table.ts";
import { LoopSampler } from "./loop_sampler.ts";
import type { WorkerReport } from "./messages.ts";
import { QueueTracker } from "./queue_tracker.ts";
import { TaskTable } from "./task_table.ts";

/** Tasks listed per flush; the rest are counted in `tasksTotal`. */
const TASKS_PER_REPORT = 500;

export class Dispatcher {
  readonly loop = new LoopSampler();
  readonly connections: ConnectionTable;
  readonly tasks: TaskTable;
  readonly queues: QueueTracker;
  readonly stats = new StatsScope();
  totalRequests = 0;

  constructor(readonly workerId: number, options: { instrumentation: boolean }) {
    this.loop.enabled = options.instrumentation;
    this.connections = new ConnectionTable(workerId);
    this.tasks = new TaskTable(workerId, undefined, () => this.loop.now());
    this.tasks.enabled = options.instrumentation;
    this.queues = new QueueTracker(workerId);
  }

  /** What changed since the last report; `rollLoop` false for a flush on demand (see `LoopSampler.report`). */
  report(rollLoop = true): WorkerReport {
    const { changed, closed } = this.connections.takeDelta();
    return {
      loop: this.loop.report(rollLoop),
      queues: this.queues.report(),
      tasks: this.tasks.list(TASKS_PER_REPORT),
      tasksTotal: this.tasks.size,
      connChanged: changed,
      connClosed: closed,
      openConnections: this.connections.size,
      totalConnections: this.connections.total,
      totalRequests: this.totalRequests,
      dropped: this.tasks.dropped,
    };
  }
}
