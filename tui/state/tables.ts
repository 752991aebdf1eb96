/**
 * Table definitions shared by the views and the printers: for each table, where its rows come from,
 * its columns (title, width policy, cell text, sort value, colour) and its default sort.
 *
 * @module
 */

import type {
  ClusterHostInfo,
  ClusterInfo,
  ConnectionInfo,
  HistogramSummary,
  QueueStats,
  Snapshot,
  TaskInfo,
  WorkerInfo,
} from "../../src/admin/wire.ts";
import {
  bar,
  formatBytes,
  formatCount,
  formatDuration,
  formatMs,
  formatPercent,
  formatRate,
  sparkline,
} from "../format.ts";
import { changeCount } from "./derive.ts";
import type { Derived, Screen, TableId, Thresholds, WorkerSample } from "./types.ts";
import { queueKey } from "./types.ts";
import { allQueues, upstreamErrorRate } from "./warnings.ts";

/** One column. Widths are fixed per column (not measured from data) so layouts do not jitter. */
export interface Column<R> {
  readonly id: string;
  readonly title: string;
  readonly align: "left" | "right";
  /** Preferred width in the TUI. */
  readonly width: number;
  /** Narrowest it may be truncated to; without it the column is not shrunk. */
  readonly min?: number;
  /** Takes spare room up to this width. */
  readonly grow?: number;
  /**
   * When the terminal is narrow: 0 never dropped; from 1 to under 2, dropped only after truncatable
   * columns were shrunk; 2 and up, dropped before any shrinking. Higher numbers go first.
   */
  readonly drop: number;
  /** Cell text; `width` is given in the TUI (charts draw to it) and undefined in printers. */
  text(row: R, width?: number): string;
  sort(row: R): number | string;
  color?(row: R, t: Thresholds): string | undefined;
  /** Only drawn in the TUI (charts). */
  readonly tuiOnly?: boolean;
}

/** Where rows come from. */
export interface RowsContext {
  readonly snapshot: Snapshot;
  readonly derived: Derived;
  readonly screen: Screen;
}

/** A table's definition. */
export interface TableDef<R> {
  readonly id: TableId;
  readonly title: string;
  readonly columns: readonly Column<R>[];
  rows(ctx: RowsContext): readonly R[];
  key(row: R): string;
  readonly defaultSort: { readonly column: string; readonly descending: boolean };
}

/** A worker with its recent samples. */
export interface WorkerRow {
  readonly w: WorkerInfo;
  readonly samples: readonly WorkerSample[];
}

/** A queue with its depth history. */
export interface QueueRow {
  readonly q: QueueStats;
  readonly depths: readonly number[];
}

/** A counter, gauge or histogram with its rate and recent change count. */
export interface StatRow {
  readonly name: string;
  readonly value: number;
  readonly rate: number | undefined;
  readonly changes: number;
  readonly histogram: HistogramSummary | undefined;
}

/** A cluster with windowed rates. */
export interface ClusterRow {
  readonly c: ClusterInfo;
  readonly rqPerSec: number | undefined;
  readonly errorRate: number;
  readonly healthy: number;
}

const num = (n: number) => String(n);

function col<R>(c: Column<R>): Column<R> {
  return c;
}

function lagColor(ms: number, t: Thresholds): string | undefined {
  if (ms > 4 * t.lagP99Ms) return "red";
  if (ms > t.lagP99Ms) return "yellow";
  return undefined;
}

function statusColor(status: string): string | undefined {
  if (status === "blocked" || status === "dead") return "red";
  if (status === "starting") return "yellow";
  return undefined;
}

/** Lag p99 history for a worker's sparkline: the client's own samples, or the server's when longer. */
export function lagSeries(row: WorkerRow): readonly number[] {
  const mine = row.samples.map((s) => s.lagP99Ms);
  return row.w.loop.lagHistory.length > mine.length ? row.w.loop.lagHistory : mine;
}

function queueDepth(w: WorkerInfo, pick: (name: string) => boolean): number {
  return w.queues.filter((q) => pick(q.name)).reduce((n, q) => n + q.depth, 0);
}

const workers: TableDef<WorkerRow> = {
  id: "workers",
  title: "Workers",
  rows: ({ snapshot, derived }) => snapshot.workers.map((w) => ({ w, samples: derived.workers[w.id] ?? [] })),
  key: (r) => String(r.w.id),
  defaultSort: { column: "id", descending: false },
  columns: [
    col<WorkerRow>({ id: "id", title: "ID", align: "right", width: 3, drop: 0, text: (r) => num(r.w.id), sort: (r) => r.w.id }),
    col<WorkerRow>({
      id: "status",
      title: "STATUS",
      align: "left",
      width: 8,
      drop: 1.3,
      text: (r) => r.w.status,
      sort: (r) => r.w.status,
      color: (r) => statusColor(r.w.status),
    }),
    col<WorkerRow>({
      id: "p50",
      title: "P50",
      align: "right",
      width: 6,
      drop: 1.4,
      text: (r) => formatMs(r.w.loop.lagP50Ms),
      sort: (r) => r.w.loop.lagP50Ms,
    }),
    col<WorkerRow>({
      id: "p99",
      title: "P99",
      align: "right",
      width: 6,
      drop: 0,
      text: (r) => formatMs(r.w.loop.lagP99Ms),
      sort: (r) => r.w.loop.lagP99Ms,
      color: (r, t) => lagColor(r.w.loop.lagP99Ms, t),
    }),
    col<WorkerRow>({
      id: "max",
      title: "MAX",
      align: "right",
      width: 6,
      drop: 1.5,
      text: (r) => formatMs(r.w.loop.lagMaxMs),
      sort: (r) => r.w.loop.lagMaxMs,
      color: (r, t) => lagColor(r.w.loop.lagMaxMs, t),
    }),
    col<WorkerRow>({
      id: "lag",
      title: "LAG",
      align: "left",
      width: 10,
      grow: 40,
      min: 6, drop: 1.1,
      tuiOnly: true,
      text: (r, width) => sparkline(lagSeries(r), width ?? 20, 5),
      sort: (r) => r.w.loop.lagP99Ms,
      color: (r, t) => lagColor(r.w.loop.lagP99Ms, t) ?? "cyan",
    }),
    col<WorkerRow>({
      id: "busy",
      title: "BUSY",
      align: "right",
      width: 8,
      drop: 1,
      text: (r, width) =>
        width === undefined
          ? formatPercent(r.w.loop.busy)
          : `${bar(r.w.loop.busy, Math.max(1, width - 5))} ${formatPercent(r.w.loop.busy).padStart(4)}`,
      sort: (r) => r.w.loop.busy,
      color: (r) => (r.w.loop.busy > 0.9 ? "red" : r.w.loop.busy > 0.7 ? "yellow" : undefined),
    }),
    col<WorkerRow>({
      id: "rps",
      title: "RQ/s",
      align: "right",
      width: 6,
      drop: 0,
      text: (r) => formatRate(r.w.requestsPerSec),
      sort: (r) => r.w.requestsPerSec,
    }),
    col<WorkerRow>({
      id: "conns",
      title: "CONN",
      align: "right",
      width: 5,
      drop: 0,
      text: (r) => num(r.w.openConnections),
      sort: (r) => r.w.openConnections,
    }),
    col<WorkerRow>({
      id: "tasks",
      title: "TASK",
      align: "right",
      width: 5,
      drop: 1.2,
      text: (r) => num(r.w.inflightTasks),
      sort: (r) => r.w.inflightTasks,
    }),
    col<WorkerRow>({
      id: "queue",
      title: "Q m/up",
      align: "right",
      width: 6,
      drop: 1.2,
      text: (r) => `${queueDepth(r.w, (n) => n === "main→worker")}/${queueDepth(r.w, (n) => n !== "main→worker")}`,
      sort: (r) => queueDepth(r.w, () => true),
    }),
    col<WorkerRow>({
      id: "wd",
      title: "WD",
      align: "right",
      width: 3,
      drop: 1.2,
      text: (r) => num(r.w.watchdogMiss),
      sort: (r) => r.w.watchdogMiss,
      color: (r) => (r.w.status === "blocked" ? "red" : r.w.watchdogMiss > 0 ? "yellow" : undefined),
    }),
    col<WorkerRow>({
      id: "gen",
      title: "GEN",
      align: "right",
      width: 4,
      drop: 7,
      text: (r) => num(r.w.generation),
      sort: (r) => r.w.generation,
    }),
    col<WorkerRow>({
      id: "dropped",
      title: "DROP",
      align: "right",
      width: 5,
      drop: 6,
      text: (r) => num(r.w.dropped),
      sort: (r) => r.w.dropped,
      color: (r) => (r.w.dropped > 0 ? "yellow" : undefined),
    }),
    col<WorkerRow>({
      id: "totalRequests",
      title: "RQ TOT",
      align: "right",
      width: 8,
      drop: 8,
      text: (r) => formatCount(r.w.totalRequests),
      sort: (r) => r.w.totalRequests,
    }),
  ],
};

function connectionColumns(): readonly Column<ConnectionInfo>[] {
  return [
    col<ConnectionInfo>({ id: "id", title: "ID", align: "left", width: 8, drop: 0, text: (c) => c.id, sort: (c) => connOrder(c.id) }),
    col<ConnectionInfo>({ id: "worker", title: "W", align: "right", width: 3, drop: 0, text: (c) => num(c.worker), sort: (c) => c.worker }),
    col<ConnectionInfo>({
      id: "remote",
      title: "REMOTE",
      align: "left",
      width: 21,
      min: 12,
      grow: 46,
      drop: 0,
      text: (c) => (c.remoteAddress.includes(":") ? `[${c.remoteAddress}]:${c.remotePort}` : `${c.remoteAddress}:${c.remotePort}`),
      sort: (c) => `${c.remoteAddress}:${String(c.remotePort).padStart(5, "0")}`,
    }),
    col<ConnectionInfo>({ id: "listener", title: "LISTENER", align: "left", width: 14, min: 8, drop: 3, text: (c) => c.listener, sort: (c) => c.listener }),
    col<ConnectionInfo>({ id: "kind", title: "KIND", align: "left", width: 6, drop: 4, text: (c) => c.kind, sort: (c) => c.kind }),
    col<ConnectionInfo>({ id: "age", title: "AGE", align: "right", width: 7, drop: 1, text: (c) => formatDuration(c.ageMs), sort: (c) => c.ageMs }),
    col<ConnectionInfo>({ id: "requests", title: "RQ", align: "right", width: 6, drop: 0, text: (c) => formatCount(c.requests), sort: (c) => c.requests }),
    col<ConnectionInfo>({ id: "bytesIn", title: "IN", align: "right", width: 6, drop: 2, text: (c) => formatBytes(c.bytesIn), sort: (c) => c.bytesIn }),
    col<ConnectionInfo>({ id: "bytesOut", title: "OUT", align: "right", width: 6, drop: 2, text: (c) => formatBytes(c.bytesOut), sort: (c) => c.bytesOut }),
    col<ConnectionInfo>({ id: "idle", title: "IDLE", align: "right", width: 7, drop: 1, text: (c) => formatDuration(c.idleMs), sort: (c) => c.idleMs }),
    col<ConnectionInfo>({ id: "peer", title: "PEER", align: "left", width: 24, min: 10, drop: 5, text: (c) => c.peer ?? "", sort: (c) => c.peer ?? "" }),
  ];
}

/** "3.12" sorts after "3.9": compare worker, then the per-worker counter numerically. */
function connOrder(id: string): number {
  const [w, n] = id.split(".");
  const a = Number(w);
  const b = Number(n);
  return Number.isFinite(a) && Number.isFinite(b) ? a * 1e9 + b : Number.NaN;
}

const STATE_COLORS: Readonly<Record<string, string>> = {
  connecting_upstream: "yellow",
  tunnel_connecting: "yellow",
  waiting_response: "cyan",
  streaming: "green",
  tunnel_streaming: "green",
};

function taskColumns(): readonly Column<TaskInfo>[] {
  return [
    col<TaskInfo>({ id: "id", title: "ID", align: "left", width: 9, drop: 0, text: (t) => t.id, sort: (t) => t.id }),
    col<TaskInfo>({ id: "worker", title: "W", align: "right", width: 3, drop: 0, text: (t) => num(t.worker), sort: (t) => t.worker }),
    col<TaskInfo>({
      id: "state",
      title: "STATE",
      align: "left",
      width: 19,
      min: 10,
      drop: 0,
      text: (t) => t.state,
      sort: (t) => t.state,
      color: (t) => STATE_COLORS[t.state],
    }),
    col<TaskInfo>({
      id: "stateMs",
      title: "IN STATE",
      align: "right",
      width: 9,
      drop: 0,
      text: (t) => formatDuration(t.stateMs),
      sort: (t) => t.stateMs,
      color: (t) => (t.stateMs > 10_000 ? "red" : t.stateMs > 1000 ? "yellow" : undefined),
    }),
    col<TaskInfo>({ id: "age", title: "AGE", align: "right", width: 7, drop: 2, text: (t) => formatDuration(t.ageMs), sort: (t) => t.ageMs }),
    col<TaskInfo>({ id: "route", title: "ROUTE", align: "left", width: 16, min: 8, drop: 1, text: (t) => t.route, sort: (t) => t.route }),
    col<TaskInfo>({ id: "cluster", title: "CLUSTER/DEST", align: "left", width: 16, min: 8, drop: 0, text: (t) => t.cluster, sort: (t) => t.cluster }),
    col<TaskInfo>({ id: "method", title: "METHOD", align: "left", width: 7, drop: 4, text: (t) => t.method, sort: (t) => t.method }),
    col<TaskInfo>({ id: "path", title: "PATH", align: "left", width: 18, min: 8, grow: 80, drop: 3, text: (t) => t.path, sort: (t) => t.path }),
    col<TaskInfo>({ id: "conn", title: "CONN", align: "left", width: 8, drop: 5, text: (t) => t.connectionId, sort: (t) => connOrder(t.connectionId) }),
    col<TaskInfo>({ id: "listener", title: "LISTENER", align: "left", width: 14, min: 8, drop: 6, text: (t) => t.listener, sort: (t) => t.listener }),
  ];
}

const connections: TableDef<ConnectionInfo> = {
  id: "connections",
  title: "Connections",
  rows: ({ snapshot }) => snapshot.connections,
  key: (c) => c.id,
  defaultSort: { column: "worker", descending: false },
  columns: connectionColumns(),
};

const tasks: TableDef<TaskInfo> = {
  id: "tasks",
  title: "Tasks",
  rows: ({ snapshot }) => snapshot.tasks,
  key: (t) => t.id,
  defaultSort: { column: "stateMs", descending: true },
  columns: taskColumns(),
};

const queues: TableDef<QueueRow> = {
  id: "queues",
  title: "Queues",
  rows: ({ snapshot, derived }) => allQueues(snapshot).map((q) => ({ q, depths: derived.queues[queueKey(q)] ?? [] })),
  key: (r) => queueKey(r.q),
  defaultSort: { column: "depth", descending: true },
  columns: [
    col<QueueRow>({ id: "worker", title: "W", align: "right", width: 3, drop: 0, text: (r) => num(r.q.worker), sort: (r) => r.q.worker }),
    col<QueueRow>({ id: "name", title: "QUEUE", align: "left", width: 24, min: 12, grow: 48, drop: 0, text: (r) => r.q.name, sort: (r) => r.q.name }),
    col<QueueRow>({
      id: "depth",
      title: "DEPTH",
      align: "right",
      width: 6,
      drop: 0,
      text: (r) => num(r.q.depth),
      sort: (r) => r.q.depth,
      color: (r) => (r.q.depth > 0 ? "yellow" : undefined),
    }),
    col<QueueRow>({
      id: "oldest",
      title: "OLDEST",
      align: "right",
      width: 8,
      drop: 0,
      text: (r) => (r.q.depth > 0 ? formatMs(r.q.oldestWaitMs) : "-"),
      sort: (r) => r.q.oldestWaitMs,
      color: (r) => (r.q.oldestWaitMs > 1000 ? "red" : undefined),
    }),
    col<QueueRow>({
      id: "trend",
      title: "TREND",
      align: "left",
      width: 10,
      min: 6,
      drop: 2,
      tuiOnly: true,
      text: (r, width) => sparkline(r.depths, width ?? 10, 1),
      sort: (r) => r.q.depth,
      color: () => "cyan",
    }),
    col<QueueRow>({ id: "total", title: "TOTAL", align: "right", width: 8, drop: 3, text: (r) => formatCount(r.q.total), sort: (r) => r.q.total }),
    col<QueueRow>({
      id: "dropped",
      title: "DROPPED",
      align: "right",
      width: 8,
      drop: 1,
      text: (r) => formatCount(r.q.dropped),
      sort: (r) => r.q.dropped,
      color: (r) => (r.q.dropped > 0 ? "red" : undefined),
    }),
  ],
};

const stats: TableDef<StatRow> = {
  id: "stats",
  title: "Stats",
  rows: ({ snapshot, derived }) => [
    ...Object.entries(snapshot.stats).map(([name, value]) => ({
      name,
      value,
      rate: derived.rates[name],
      changes: changeCount(derived.changes[name]),
      histogram: undefined,
    })),
    ...Object.entries(snapshot.histograms).map(([name, h]) => ({
      name,
      value: h.count,
      rate: derived.rates[name],
      changes: changeCount(derived.changes[name]),
      histogram: h,
    })),
  ],
  key: (r) => r.name,
  defaultSort: { column: "changes", descending: true },
  columns: [
    col<StatRow>({ id: "name", title: "NAME", align: "left", width: 36, min: 20, grow: 200, drop: 0, text: (r) => r.name, sort: (r) => r.name }),
    col<StatRow>({
      id: "value",
      title: "VALUE",
      align: "right",
      width: 12,
      drop: 0,
      text: (r) => (Number.isInteger(r.value) ? String(r.value) : r.value.toFixed(3)),
      sort: (r) => r.value,
    }),
    col<StatRow>({
      id: "rate",
      title: "RATE/s",
      align: "right",
      width: 9,
      drop: 0,
      text: (r) => formatRate(r.rate),
      sort: (r) => Math.abs(r.rate ?? 0),
      color: (r) => (r.rate !== undefined && r.rate !== 0 ? "green" : undefined),
    }),
    col<StatRow>({
      id: "changes",
      title: "CHG",
      align: "right",
      width: 4,
      drop: 1,
      text: (r) => num(r.changes),
      // "Most changing": how many recent flushes changed it, then how fast it moves.
      sort: (r) => r.changes * 1e12 + Math.min(1e12 - 1, Math.abs(r.rate ?? 0)),
    }),
    col<StatRow>({
      id: "summary",
      title: "P50/P99/MAX",
      align: "left",
      width: 22,
      min: 12,
      drop: 2,
      text: (r) =>
        r.histogram ? `${formatMs(r.histogram.p50)} ${formatMs(r.histogram.p99)} ${formatMs(r.histogram.max)}` : "",
      sort: (r) => r.histogram?.p99 ?? -1,
    }),
  ],
};

const clusters: TableDef<ClusterRow> = {
  id: "clusters",
  title: "Clusters",
  rows: ({ snapshot, derived }) =>
    snapshot.clusters.map((c) => {
      const samples = derived.clusters[c.name] ?? [];
      const a = samples[samples.length - 2];
      const b = samples[samples.length - 1];
      const dt = a && b ? (b.at - a.at) / 1000 : 0;
      return {
        c,
        rqPerSec: a && b && dt > 0 ? (b.rqTotal - a.rqTotal) / dt : undefined,
        errorRate: upstreamErrorRate(c, samples).rate,
        healthy: c.hosts.filter((h) => h.healthFlags === "healthy").length,
      };
    }),
  key: (r) => r.c.name,
  defaultSort: { column: "name", descending: false },
  columns: [
    col<ClusterRow>({ id: "name", title: "CLUSTER", align: "left", width: 20, min: 10, grow: 40, drop: 0, text: (r) => r.c.name, sort: (r) => r.c.name }),
    col<ClusterRow>({ id: "type", title: "TYPE", align: "left", width: 11, drop: 4, text: (r) => r.c.type, sort: (r) => r.c.type }),
    col<ClusterRow>({ id: "lb", title: "LB", align: "left", width: 13, min: 8, drop: 5, text: (r) => r.c.lbPolicy, sort: (r) => r.c.lbPolicy }),
    col<ClusterRow>({
      id: "hosts",
      title: "HEALTHY",
      align: "right",
      width: 7,
      drop: 0,
      text: (r) => `${r.healthy}/${r.c.hosts.length}`,
      sort: (r) => (r.c.hosts.length ? r.healthy / r.c.hosts.length : 1),
      color: (r) => (r.healthy === 0 && r.c.hosts.length > 0 ? "red" : r.healthy < r.c.hosts.length ? "yellow" : undefined),
    }),
    col<ClusterRow>({ id: "cx", title: "CX", align: "right", width: 5, drop: 3, text: (r) => num(r.c.hosts.reduce((n, h) => n + h.cxActive, 0)), sort: (r) => r.c.hosts.reduce((n, h) => n + h.cxActive, 0) }),
    col<ClusterRow>({ id: "rq", title: "RQ", align: "right", width: 8, drop: 1, text: (r) => formatCount(r.c.rqTotal), sort: (r) => r.c.rqTotal }),
    col<ClusterRow>({ id: "rps", title: "RQ/s", align: "right", width: 7, drop: 0, text: (r) => formatRate(r.rqPerSec), sort: (r) => r.rqPerSec ?? -1 }),
    col<ClusterRow>({
      id: "errors",
      title: "5XX",
      align: "right",
      width: 6,
      drop: 0,
      text: (r) => formatPercent(r.errorRate),
      sort: (r) => r.errorRate,
      color: (r, t) => (r.errorRate > 4 * t.errorRate ? "red" : r.errorRate > t.errorRate ? "yellow" : undefined),
    }),
    col<ClusterRow>({ id: "p50", title: "P50", align: "right", width: 7, drop: 2, text: (r) => formatMs(r.c.rqTimeP50Ms), sort: (r) => r.c.rqTimeP50Ms }),
    col<ClusterRow>({ id: "p99", title: "P99", align: "right", width: 7, drop: 0, text: (r) => formatMs(r.c.rqTimeP99Ms), sort: (r) => r.c.rqTimeP99Ms }),
  ],
};

const clusterHosts: TableDef<ClusterHostInfo> = {
  id: "clusterHosts",
  title: "Hosts",
  rows: ({ snapshot, screen }) =>
    screen.kind === "cluster" ? snapshot.clusters.find((c) => c.name === screen.cluster)?.hosts ?? [] : [],
  key: (h) => h.address,
  defaultSort: { column: "address", descending: false },
  columns: [
    col<ClusterHostInfo>({ id: "address", title: "ADDRESS", align: "left", width: 21, min: 12, grow: 46, drop: 0, text: (h) => h.address, sort: (h) => h.address }),
    col<ClusterHostInfo>({
      id: "health",
      title: "HEALTH",
      align: "left",
      width: 18,
      min: 8,
      drop: 0,
      text: (h) => h.healthFlags,
      sort: (h) => h.healthFlags,
      color: (h) => (h.healthFlags === "healthy" ? "green" : "red"),
    }),
    col<ClusterHostInfo>({ id: "weight", title: "WEIGHT", align: "right", width: 6, drop: 3, text: (h) => num(h.weight), sort: (h) => h.weight }),
    col<ClusterHostInfo>({ id: "cxActive", title: "CX", align: "right", width: 5, drop: 0, text: (h) => num(h.cxActive), sort: (h) => h.cxActive }),
    col<ClusterHostInfo>({ id: "cxTotal", title: "CX TOT", align: "right", width: 7, drop: 2, text: (h) => formatCount(h.cxTotal), sort: (h) => h.cxTotal }),
    col<ClusterHostInfo>({
      id: "cxFail",
      title: "CX FAIL",
      align: "right",
      width: 7,
      drop: 2,
      text: (h) => formatCount(h.cxConnectFail),
      sort: (h) => h.cxConnectFail,
      color: (h) => (h.cxConnectFail > 0 ? "yellow" : undefined),
    }),
    col<ClusterHostInfo>({ id: "rqTotal", title: "RQ", align: "right", width: 8, drop: 0, text: (h) => formatCount(h.rqTotal), sort: (h) => h.rqTotal }),
    col<ClusterHostInfo>({ id: "rqActive", title: "ACTIVE", align: "right", width: 6, drop: 1, text: (h) => num(h.rqActive), sort: (h) => h.rqActive }),
    col<ClusterHostInfo>({
      id: "rqError",
      title: "ERR",
      align: "right",
      width: 6,
      drop: 0,
      text: (h) => formatCount(h.rqError),
      sort: (h) => h.rqError,
      color: (h) => (h.rqError > 0 ? "yellow" : undefined),
    }),
    col<ClusterHostInfo>({ id: "rqTimeout", title: "TIMEOUT", align: "right", width: 7, drop: 1, text: (h) => formatCount(h.rqTimeout), sort: (h) => h.rqTimeout }),
  ],
};

const workerConnections: TableDef<ConnectionInfo> = {
  ...connections,
  id: "workerConnections",
  title: "Connections",
  rows: ({ snapshot, screen }) =>
    screen.kind === "worker" ? snapshot.connections.filter((c) => c.worker === screen.worker) : [],
  defaultSort: { column: "age", descending: true },
};

const workerTasks: TableDef<TaskInfo> = {
  ...tasks,
  id: "workerTasks",
  rows: ({ snapshot, screen }) => (screen.kind === "worker" ? snapshot.tasks.filter((t) => t.worker === screen.worker) : []),
};

/** Every table by id. The row type is erased here; each definition is internally consistent. */
export const TABLES: Readonly<Record<TableId, TableDef<unknown>>> = {
  workers: workers as unknown as TableDef<unknown>,
  connections: connections as unknown as TableDef<unknown>,
  tasks: tasks as unknown as TableDef<unknown>,
  queues: queues as unknown as TableDef<unknown>,
  stats: stats as unknown as TableDef<unknown>,
  clusters: clusters as unknown as TableDef<unknown>,
  workerConnections: workerConnections as unknown as TableDef<unknown>,
  workerTasks: workerTasks as unknown as TableDef<unknown>,
  clusterHosts: clusterHosts as unknown as TableDef<unknown>,
};
