/**
 * The inspector's state and actions. Everything here is plain, immutable data so the reducer stays a
 * pure function and tests can build states by hand.
 *
 * @module
 */

import type { Snapshot } from "../../src/admin/wire.ts";
import type { ConnState, SourceEvent } from "../client/source.ts";

/** The five top-level views, in key order (1–5). */
export const VIEWS = ["workers", "connections", "tasks", "stats", "clusters"] as const;
export type ViewId = typeof VIEWS[number];

/** Every table the inspector draws; each keeps its own selection, scroll, sort and filter. */
export const TABLE_IDS = [
  "workers",
  "connections",
  "tasks",
  "queues",
  "stats",
  "clusters",
  "workerConnections",
  "workerTasks",
  "clusterHosts",
] as const;
export type TableId = typeof TABLE_IDS[number];

/** What fills the body: a list view or a detail reached with enter (tokio-console's `ViewState`). */
export type Screen =
  | { readonly kind: "list"; readonly view: ViewId }
  | { readonly kind: "worker"; readonly worker: number; readonly from: ViewId }
  | { readonly kind: "cluster"; readonly cluster: string; readonly from: ViewId };

/** Per-table view state, kept when going into a detail and back. */
export interface TableState {
  /** Index of the selected row among the filtered, sorted rows. */
  readonly selected: number;
  /** Key of the selected row, so the selection follows the row when the order changes. */
  readonly selectedKey: string | undefined;
  /** Index of the first row shown. */
  readonly scroll: number;
  /** Column id sorted on. */
  readonly sortColumn: string;
  readonly descending: boolean;
  /** Regular expression (smart case; a literal match when it does not parse). */
  readonly filter: string;
}

/** Lint thresholds; every one has a `weft inspect` flag. */
export interface Thresholds {
  /** Worker loop lag p99 above this warns (ms). */
  readonly lagP99Ms: number;
  /** max/mean of per-worker open connections above this warns. */
  readonly imbalance: number;
  /** …but only with at least this many open connections in total. */
  readonly imbalanceMinConnections: number;
  /** Upstream 5xx / requests above this warns (fraction). */
  readonly errorRate: number;
  /** …but only over at least this many requests. */
  readonly errorMinRequests: number;
  /** A queue that did not shrink over this many flushes and grew in at least half of them warns. */
  readonly queueGrowthFlushes: number;
}

export const DEFAULT_THRESHOLDS: Thresholds = {
  lagP99Ms: 50,
  imbalance: 2,
  imbalanceMinConnections: 8,
  errorRate: 0.05,
  errorMinRequests: 20,
  queueGrowthFlushes: 5,
};

export type WarningKind = "lag" | "watchdog" | "imbalance" | "queue-growth" | "upstream-5xx";

/** A lint result (tokio-console's "warnings"). */
export interface Warning {
  readonly kind: WarningKind;
  readonly severity: "warn" | "error";
  /** What it is about: "worker 2", "cluster api", "queue upstream:backend@1". */
  readonly subject: string;
  readonly message: string;
}

/** One flush worth of a worker's figures, kept for sparklines and lints. */
export interface WorkerSample {
  readonly at: number;
  readonly lagP99Ms: number;
  readonly busy: number;
  readonly requestsPerSec: number;
  readonly watchdogMiss: number;
  readonly openConnections: number;
}

/** Cumulative cluster totals at one flush, for windowed rates. */
export interface ClusterSample {
  readonly at: number;
  readonly rqTotal: number;
  readonly rq5xx: number;
}

/** max/mean of per-worker open connections. */
export interface Imbalance {
  readonly ratio: number;
  readonly max: number;
  readonly mean: number;
  readonly total: number;
  /** Worker id with the most connections. */
  readonly busiest: number | undefined;
}

/** Everything computed from consecutive snapshots. Bounded: histories keep `historyLimit` entries. */
export interface Derived {
  readonly workers: Readonly<Record<number, readonly WorkerSample[]>>;
  /** Queue depth history by {@link queueKey}. */
  readonly queues: Readonly<Record<string, readonly number[]>>;
  readonly clusters: Readonly<Record<string, readonly ClusterSample[]>>;
  /** Per-second rate of every stat between the last two snapshots. */
  readonly rates: Readonly<Record<string, number>>;
  /** Per stat: a bit per recent flush (newest lowest), set when the value changed. */
  readonly changes: Readonly<Record<string, number>>;
  readonly imbalance: Imbalance;
  readonly warnings: readonly Warning[];
}

/** The whole inspector state. */
export interface State {
  readonly thresholds: Thresholds;
  readonly historyLimit: number;
  readonly conn: ConnState | undefined;
  readonly snapshot: Snapshot | undefined;
  readonly derived: Derived;
  /** Dropped updates counted by earlier subscriptions (each subscription's `dropped` restarts at 0). */
  readonly droppedBefore: number;
  /** Live pause: snapshots received while paused wait here (bounded) and are applied on resume. */
  readonly paused: boolean;
  readonly held: readonly Snapshot[];
  readonly heldSkipped: number;
  readonly screen: Screen;
  /** Which pane has the keys in two-pane screens (Tasks: tasks/queues; worker detail: connections/tasks). */
  readonly pane: { readonly tasks: 0 | 1; readonly worker: 0 | 1 };
  readonly tables: Readonly<Record<TableId, TableState>>;
  /** Set while `/` is being typed: the table it applies to and the filter to restore on esc. */
  readonly filterEdit: { readonly table: TableId; readonly previous: string } | undefined;
  readonly help: boolean;
  readonly viewport: { readonly columns: number; readonly rows: number };
}

/** Everything the reducer understands: source events plus user intents. */
export type Action =
  | SourceEvent
  | { readonly type: "resize"; readonly columns: number; readonly rows: number }
  | { readonly type: "view"; readonly view: ViewId }
  | { readonly type: "cycle-view"; readonly delta: 1 | -1 }
  | { readonly type: "move"; readonly delta: number }
  | { readonly type: "page"; readonly delta: 1 | -1 }
  | { readonly type: "home" }
  | { readonly type: "end" }
  | { readonly type: "sort"; readonly delta: 1 | -1 }
  | { readonly type: "invert" }
  | { readonly type: "enter" }
  | { readonly type: "back" }
  | { readonly type: "switch-pane" }
  | { readonly type: "filter-start" }
  | { readonly type: "filter-input"; readonly text: string }
  | { readonly type: "filter-backspace" }
  | { readonly type: "filter-commit" }
  | { readonly type: "filter-cancel" }
  | { readonly type: "toggle-pause" }
  | { readonly type: "toggle-help" };

/** Key of a queue across snapshots. */
export function queueKey(q: { readonly worker: number; readonly name: string }): string {
  return `${q.name}@${q.worker}`;
}
