/**
 * In-flight tasks of a worker (proxied requests, tunnelled streams) with their state and how long
 * they have been in it. Bounded: past `limit` tasks new ones are not tracked and `dropped` counts them.
 *
 * @example
 * ```ts
 * const tasks = new TaskTable(0);
 * const t = tasks.start("0.1", "main", "GET", "/"); // reading_request
 * tasks.setState(t, "connecting_upstream");
 * tasks.finish(t);
 * ```
 * @module
 */
import type { TaskInfo, TaskState } from "../admin/wire.ts";

export interface TaskRecord {
  id: string;
  connectionId: string;
  state: TaskState;
  startedAt: number;
  stateAt: number;
  listener: string;
  route: string;
  cluster: string;
  method: string;
  path: string;
  tracked: boolean;
}

export class TaskTable {
  private tasks = new Set<TaskRecord>();
  private nextId = 1;
  dropped = 0;

  constructor(readonly worker: number, readonly limit = 10_000) {}

  get size(): number {
    return this.tasks.size;
  }

  start(connectionId: string, listener: string, method: string, path: string, state: TaskState = "reading_request"): TaskRecord {
    const now = performance.now();
    const t: TaskRecord = {
      id: `${this.worker}.${this.nextId++}`,
      connectionId,
      state,
      startedAt: now,
      stateAt: now,
      listener,
      route: "",
      cluster: "",
      method,
      path,
      tracked: this.tasks.size < this.limit,
    };
    if (t.tracked) this.tasks.add(t);
    else this.dropped++;
    return t;
  }

  setState(t: TaskRecord, state: TaskState): void {
    t.state = state;
    t.stateAt = performance.now();
  }

  finish(t: TaskRecord): void {
    if (t.tracked) this.tasks.delete(t);
  }

  /** Up to `max` tasks, oldest first. */
  list(max: number): TaskInfo[] {
    const now = performance.now();
    const out: TaskInfo[] = [];
    for (const t of this.tasks) {
      if (out.length >= max) break;
      out.push({
        id: t.id,
        worker: this.worker,
        connectionId: t.connectionId,
        state: t.state,
        stateMs: Math.round(now - t.stateAt),
        ageMs: Math.round(now - t.startedAt),
        listener: t.listener,
        route: t.route,
        cluster: t.cluster,
        method: t.method,
        path: t.path,
      });
    }
    return out;
  }
}
