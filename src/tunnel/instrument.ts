/**
 * The tunnel's bookkeeping on its worker's shared dispatcher (`src/worker/dispatcher.ts`): rows in
 * the connection table (with the tunnel's peer column), tasks for tunnelled connections, and busy
 * time around the tunnel's callbacks. The worker host flushes all of it to main as deltas, as it
 * does the proxy's, so `weft inspect` reads a tunnel like a proxy.
 *
 * @example
 * ```ts
 * const ins = new Instrumentation(dispatcher);
 * const conn = ins.openConnection({ remoteAddress, remotePort, listener: "socks5", kind: "socks5" });
 * ins.addBytes(conn, n, 0);
 * ins.closeConnection(conn.id);
 * ```
 *
 * @module
 */

import type { TaskState } from "../admin/wire.ts";
import type { Dispatcher } from "../worker/dispatcher.ts";
import type { ConnectionRecord } from "../worker/connection_table.ts";
import type { TaskRecord } from "../worker/task_table.ts";

export type LiveConnection = ConnectionRecord;
export type LiveTask = TaskRecord;

export class Instrumentation {
  readonly #conns = new Map<string, ConnectionRecord>();
  readonly #tasks = new Map<string, TaskRecord>();

  constructor(readonly dispatcher: Dispatcher) {}

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

  /** A row's columns changed (peer, requests): it travels with the next flush. */
  touch(row: LiveConnection): void {
    this.dispatcher.connections.touch(row);
  }

  /** Bytes relayed on a row's connection: `bytesIn` from its peer, `bytesOut` to it. */
  addBytes(row: LiveConnection, bytesIn: number, bytesOut: number): void {
    row.bytesIn += bytesIn;
    row.bytesOut += bytesOut;
    row.lastActivityAt = Date.now();
    this.dispatcher.connections.touch(row);
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
    if (conn) {
      conn.requests++;
      this.touch(conn);
    }
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
}
