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
import { SlotSet } from "./slot_set.ts";

/** One in-flight task. A class, and its id formatted only when read: one is made per request. */
export class TaskRecord {
  route = "";
  cluster = "";
  stateAt: number;
  /** Index in the table's {@linkcode SlotSet} while in flight. */
  slot = -1;
  constructor(
    readonly worker: number,
    readonly seq: number,
    readonly connectionId: string,
    public state: TaskState,
    readonly startedAt: number,
    readonly listener: string,
    readonly method: string,
    readonly path: string,
    readonly tracked: boolean,
  ) {
    this.stateAt = startedAt;
  }

  /** `<worker>.<sequence>`, unique in the process. */
  get id(): string {
    return `${this.worker}.${this.seq}`;
  }
}

export class TaskTable {
  private tasks = new SlotSet<TaskRecord>();
  private nextId = 1;
  dropped = 0;
  /**
   * When false (`--no-instrumentation`), nothing is tracked: `start` hands out one shared, untracked
   * record and reads no clock, so the benchmark's "instrumentation off" leaves out the task table too.
   */
  enabled = true;
  private readonly inert: TaskRecord;

  constructor(readonly worker: number, readonly limit = 10_000, private clock: () => number = () => performance.now()) {
    this.inert = new TaskRecord(worker, 0, "", "reading_request", 0, "", "", "", false);
  }

  get size(): number {
    return this.tasks.size;
  }

  start(connectionId: string, listener: string, method: string, path: string, state: TaskState = "reading_request"): TaskRecord {
    if (!this.enabled) return this.inert;
    const t = new TaskRecord(this.worker, this.nextId++, connectionId, state, this.clock(), listener, method, path, this.tasks.size < this.limit);
    if (t.tracked) this.tasks.add(t);
    else this.dropped++;
    return t;
  }

  setState(t: TaskRecord, state: TaskState): void {
    if (!t.tracked) return; // listed nowhere: no clock read
    t.state = state;
    t.stateAt = this.clock();
  }

  finish(t: TaskRecord): void {
    if (t.tracked) this.tasks.delete(t);
  }

  /** Up to `max` tasks, oldest first. */
  list(max: number): TaskInfo[] {
    const now = performance.now();
    const out: TaskInfo[] = [];
    // Oldest first (the set's own order is not the order of arrival).
    const inFlight = this.tasks.items.slice().sort((a, b) => a.seq - b.seq);
    for (const t of inFlight) {
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
