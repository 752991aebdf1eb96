/**
 * The protocol between main and its workers. Every main→worker message carries a sequence number and
 * its send time, so main can show the depth and oldest wait of each worker's inbound queue exactly
 * (the worker acknowledges each one).
 *
 * @module
 */
import type { ConnectionInfo, LoopStats, QueueStats, TaskInfo } from "../admin/wire.ts";
import type { StatsDelta } from "../stats/scope.ts";

interface Sequenced {
  seq: number;
  /** `performance.timeOrigin + performance.now()` on main: comparable across threads. */
  sentAt: number;
}

export interface InitOptions {
  workerId: number;
  flushIntervalMs: number;
  /** Dispatcher busy-time and lag sampling (the connection and task tables are always on). */
  instrumentation: boolean;
  /** Enables the `block` and `crash` messages (tests only). */
  testHooks: boolean;
  /** Mode-specific payload: the proxy's bootstrap snapshot, the tunnel's state. */
  payload: unknown;
  /** Real ports of listeners configured with port 0, resolved by the first worker. */
  resolvedPorts: Record<string, number>;
}

export type MainToWorker =
  | (Sequenced & { type: "init"; init: InitOptions })
  | (Sequenced & { type: "update"; payload: unknown; version: string })
  | (Sequenced & { type: "ping" })
  /** Flush stats and the report now (an admin read wants current figures). */
  | (Sequenced & { type: "flush" })
  | (Sequenced & { type: "drain"; options: DrainOptions })
  | (Sequenced & { type: "block"; ms: number })
  | (Sequenced & { type: "crash" })
  /** A port to every other worker, by worker id (pools created with `peerChannels`). */
  | (Sequenced & { type: "peers"; ports: Record<number, MessagePort> })
  /** That worker died and is not replaced: stop sending to it. */
  | (Sequenced & { type: "peer_gone"; worker: number });

/**
 * How a worker drains. Shutdown closes idle connections at once and force-closes the rest at the
 * deadline; a hot-restart parent keeps serving keep-alive requests, closing each connection after a
 * response (all at once, or with a probability that grows over `drainTimeMs`, Envoy's gradual).
 */
export interface DrainOptions {
  closeIdle: boolean;
  strategy: "gradual" | "immediate";
  /** Over how long gradual draining ramps up to closing every connection. */
  drainTimeMs: number;
  /** Connections still open then are closed. */
  deadlineMs: number;
}

export interface UpdateResult {
  listeners: BoundListener[];
  errors: string[];
}

export interface BoundListener {
  name: string;
  hostname: string;
  port: number;
}

/** A worker's instrumentation since its last flush. */
export interface WorkerReport {
  loop: LoopStats;
  queues: QueueStats[];
  tasks: TaskInfo[];
  tasksTotal: number;
  /** Connection rows opened or changed since the last flush, and ids closed. */
  connChanged: ConnectionInfo[];
  connClosed: string[];
  openConnections: number;
  totalConnections: number;
  totalRequests: number;
  dropped: number;
}

export type WorkerToMain =
  | { type: "ready"; workerId: number; listeners: BoundListener[] }
  | { type: "startup_error"; workerId: number; message: string }
  | { type: "ack"; seq: number }
  | { type: "pong"; seq: number }
  | { type: "flush"; workerId: number; stats: StatsDelta; report: WorkerReport }
  | { type: "drained"; workerId: number }
  | ({ type: "updated"; workerId: number; version: string } & UpdateResult);

/** Milliseconds on a clock shared by all threads of the process. */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}
