/**
 * Wire types of weft's own admin endpoints (`/workers`, `/connections`, `/tasks`, `/events`,
 * `/server_info`, `/clusters?format=json`). This file is the only part of `src/` that `tui/` imports:
 * it is plain types, so the inspector can attach to any instance, local or remote.
 *
 * All times are milliseconds; absolute times are Unix epoch milliseconds.
 *
 * @module
 */

export type Mode = "proxy" | "tunnel";
export type ServerState = "LIVE" | "DRAINING" | "PRE_INITIALIZING" | "INITIALIZING";

/** `/server_info` (Envoy's fields, plus weft's). */
export interface ServerInfo {
  mode: Mode;
  version: string;
  /** "deno" or "bun", with the runtime's version. */
  runtime: string;
  state: ServerState;
  /** Seconds since this process started (Envoy's `uptime_current_epoch`). */
  uptimeS: number;
  concurrency: number;
  pid: number;
  hotRestartEpoch: number;
  /** The admin address as bound, e.g. "127.0.0.1:9901". */
  adminAddress: string;
  /** Stats flush interval the snapshots follow. */
  flushIntervalMs: number;
}

/** Event-loop figures of one worker over the last sampler window (a few seconds). */
export interface LoopStats {
  /** Timer-drift lag percentiles and maximum over the window. */
  lagP50Ms: number;
  lagP99Ms: number;
  lagMaxMs: number;
  /** Fraction (0..1) of wall time spent inside weft's own callbacks over the last flush interval. */
  busy: number;
  /** Lag samples taken per second (falls when the loop is blocked). */
  samplesPerSec: number;
  /** Recent per-flush lag p99 values, oldest first, bounded (for sparklines). */
  lagHistory: number[];
  /** Lag histogram over the window: counts per bucket, bucket upper bounds in `lagBucketsMs`. */
  lagHistogram: number[];
  lagBucketsMs: number[];
}

/** A queue's depth and how long its oldest entry has waited. */
export interface QueueStats {
  /** "main→worker", or "upstream:<cluster>" for requests waiting for an upstream connection, or "hbone:<dest>". */
  name: string;
  worker: number;
  depth: number;
  oldestWaitMs: number;
  /** Entries ever enqueued, and dropped because the queue was full. */
  total: number;
  dropped: number;
}

export type TaskState =
  | "reading_request"
  | "connecting_upstream"
  | "waiting_response"
  | "streaming"
  | "tunnel_connecting"
  | "tunnel_streaming";

/** An in-flight task: a proxied request, or a tunnelled connection. */
export interface TaskInfo {
  id: string;
  worker: number;
  connectionId: string;
  state: TaskState;
  /** Time in the current state, and since the task started. */
  stateMs: number;
  ageMs: number;
  listener: string;
  /** Route name (or virtual host / match) and cluster for the proxy; destination for the tunnel. */
  route: string;
  cluster: string;
  method: string;
  path: string;
}

/** One open downstream connection, opened and closed from real socket events. */
export interface ConnectionInfo {
  /** `<worker>.<n>`: unique per process. */
  id: string;
  worker: number;
  remoteAddress: string;
  remotePort: number;
  listener: string;
  openedAt: number;
  ageMs: number;
  requests: number;
  bytesIn: number;
  bytesOut: number;
  lastActivityAt: number;
  idleMs: number;
  /** "http", an upgrade type once switched ("websocket", …), "tcp" (tcp_proxy), "hbone", "socks5", "connect". */
  kind: string;
  /** Tunnel only: peer identity / destination. */
  peer?: string;
}

/** `/workers` rows. */
export interface WorkerInfo {
  id: number;
  /** "running", "blocked" (watchdog missed), "dead", "starting". */
  status: string;
  /** Respawns of this worker slot (lifecycle). */
  generation: number;
  loop: LoopStats;
  queues: QueueStats[];
  inflightTasks: number;
  openConnections: number;
  totalConnections: number;
  totalRequests: number;
  requestsPerSec: number;
  watchdogMiss: number;
  watchdogMegaMiss: number;
  /** Milliseconds since the worker's last watchdog answer. */
  lastPongMs: number;
  /** Instrumentation records dropped because a bounded buffer was full (tasks, samples). */
  dropped: number;
}

export interface ClusterHostInfo {
  address: string;
  /** Envoy health flags: "healthy" or e.g. "/failed_active_hc". */
  healthFlags: string;
  weight: number;
  cxActive: number;
  cxTotal: number;
  cxConnectFail: number;
  rqTotal: number;
  rqActive: number;
  rqError: number;
  rqTimeout: number;
}

export interface ClusterInfo {
  name: string;
  type: string;
  lbPolicy: string;
  hosts: ClusterHostInfo[];
  /** upstream_rq_time percentiles over the process lifetime. */
  rqTimeP50Ms: number;
  rqTimeP99Ms: number;
  rqTotal: number;
  rq5xx: number;
}

/** Histogram summary as carried in snapshots. */
export interface HistogramSummary {
  count: number;
  sum: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** What the event stream (`GET /events`, server-sent events, event name `snapshot`) pushes every flush. */
export interface Snapshot {
  seq: number;
  at: number;
  server: ServerInfo;
  workers: WorkerInfo[];
  /** Up to `connectionsLimit` connections, most recently active first; `connectionsTotal` counts all. */
  connections: ConnectionInfo[];
  connectionsTotal: number;
  tasks: TaskInfo[];
  tasksTotal: number;
  queues: QueueStats[];
  /** Counters and gauges by Envoy stat name. */
  stats: Record<string, number>;
  histograms: Record<string, HistogramSummary>;
  clusters: ClusterInfo[];
  /** Snapshots the server skipped for this subscriber because it was slow (tokio-console's `dropped`). */
  dropped: number;
}

/** `GET /connections` body. */
export interface ConnectionsResponse {
  total: number;
  connections: ConnectionInfo[];
}

/** `GET /tasks` body. */
export interface TasksResponse {
  tasks: TaskInfo[];
  queues: QueueStats[];
}

/** `GET /workers` body. */
export interface WorkersResponse {
  concurrency: number;
  workers: WorkerInfo[];
}
