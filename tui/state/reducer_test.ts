import { test } from "node:test";
import assert from "node:assert/strict";
import type { Snapshot } from "../../src/admin/wire.ts";
import { fixtures, later } from "../testing.ts";
import { droppedUpdates, initialState, reducer } from "./reducer.ts";
import { computeLayout } from "./layout.ts";
import { tableOf } from "./select.ts";
import type { Action, State } from "./types.ts";

function run(state: State, ...actions: Action[]): State {
  return actions.reduce(reducer, state);
}

function fed(options: Parameters<typeof initialState>[0] = {}): State {
  const [a, b] = fixtures();
  return run(initialState(options), { type: "snapshot", snapshot: a }, { type: "snapshot", snapshot: b });
}

const snap = (snapshot: Snapshot): Action => ({ type: "snapshot", snapshot });

test("the reducer is pure: the previous state is not modified", () => {
  const [a, b] = fixtures();
  const s1 = run(initialState(), snap(a));
  const frozen = JSON.stringify(s1);
  run(s1, snap(b), { type: "move", delta: 2 }, { type: "sort", delta: 1 }, { type: "view", view: "stats" });
  assert.equal(JSON.stringify(s1), frozen);
});

test("stat rates come from consecutive snapshots", () => {
  const s = fed();
  assert.equal(s.snapshot?.seq, 42);
  assert.equal(s.derived.rates["http.ingress_http.downstream_rq_total"], 670);
  assert.equal(s.derived.rates["cluster.api.upstream_rq_5xx"], 18);
  assert.equal(s.derived.rates["server.concurrency"], 0);
  assert.equal(s.derived.rates["http.ingress_http.downstream_rq_time"], 670, "histograms rate by count");
  assert.deepEqual(run(initialState(), snap(fixtures()[0])).derived.rates, {}, "no rates from one snapshot");
});

test("history per worker is bounded", () => {
  const [a] = fixtures();
  let s = initialState({ historyLimit: 3 });
  for (let i = 0; i < 5; i++) s = reducer(s, snap(later(a, i, (x) => void (x.workers[0]!.loop.lagP99Ms = i))));
  assert.deepEqual(s.derived.workers[0]?.map((w) => w.lagP99Ms), [2, 3, 4]);
  assert.equal(Object.values(s.derived.queues).every((q) => q.length === 3), true);
});

test("stats default to the most changing first", () => {
  const [a, b] = fixtures();
  let s = run(initialState(), snap(a), snap(b), { type: "view", view: "stats" });
  for (let i = 1; i <= 3; i++) {
    // Only memory changes in later flushes, so it becomes the most changing stat.
    s = reducer(s, snap(later(b, i, (x) => void (x.stats["server.memory_allocated"] = 1000 + i))));
  }
  const t = tableOf(s, "stats")!;
  assert.equal(t.sortColumn?.id, "changes");
  assert.equal(t.keys[0], "server.memory_allocated");
  assert.equal(t.keys.at(-1), "server.worker_3.watchdog_mega_miss");
});

test("a snapshot from another process starts histories afresh and keeps the dropped count", () => {
  const [a, b] = fixtures();
  a.dropped = 3;
  const restarted = later(b, 0, (x) => {
    x.server.pid = 99;
    x.seq = 1;
    x.dropped = 1;
  });
  const s = run(initialState(), snap(a), snap(restarted));
  assert.deepEqual(s.derived.rates, {});
  assert.equal(s.derived.workers[0]?.length, 1);
  assert.equal(droppedUpdates(s), 4);
});

test("pause holds snapshots and resume applies them all", () => {
  const [a, b] = fixtures();
  let s = run(initialState(), snap(a), { type: "toggle-pause" }, snap(b), snap(later(b, 1)));
  assert.equal(s.paused, true);
  assert.equal(s.snapshot?.seq, 41, "the view stays frozen");
  assert.equal(s.held.length, 2);
  s = reducer(s, { type: "toggle-pause" });
  assert.equal(s.paused, false);
  assert.equal(s.snapshot?.seq, 43);
  assert.equal(s.derived.workers[0]?.length, 3, "held snapshots reached the history");
});

test("views switch by number and cycle with tab, wrapping", () => {
  let s = fed();
  s = reducer(s, { type: "view", view: "clusters" });
  assert.deepEqual(s.screen, { kind: "list", view: "clusters" });
  s = reducer(s, { type: "cycle-view", delta: 1 });
  assert.deepEqual(s.screen, { kind: "list", view: "workers" });
  s = reducer(s, { type: "cycle-view", delta: -1 });
  assert.deepEqual(s.screen, { kind: "list", view: "clusters" });
});

test("the selection follows its row when the order changes, and is clamped", () => {
  const [, b] = fixtures();
  let s = run(fed(), { type: "sort", delta: 1 }); // workers by status
  s = run(s, { type: "view", view: "workers" });
  s = run(initialState(), snap(b), { type: "move", delta: 2 });
  assert.equal(s.tables.workers.selectedKey, "2");
  s = run(s, { type: "invert" }); // ids descending: 3 2 1 0
  assert.equal(s.tables.workers.selectedKey, "2");
  assert.equal(s.tables.workers.selected, 1);
  s = run(s, { type: "move", delta: -10 });
  assert.equal(s.tables.workers.selected, 0);
  s = run(s, { type: "end" });
  assert.equal(s.tables.workers.selectedKey, "0");
});

test("scrolling keeps the selection on screen", () => {
  const [, b] = fixtures();
  let s = run(initialState({ rows: 20, columns: 80 }), snap(b), { type: "view", view: "connections" });
  const visible = computeLayout(s).panes.connections ?? 0;
  assert.ok(visible > 1 && visible < 20, `a short table (${visible} rows)`);
  s = run(s, { type: "end" });
  assert.equal(s.tables.connections.selected, 19);
  assert.equal(s.tables.connections.scroll, 20 - visible);
  s = run(s, { type: "move", delta: -1 });
  assert.equal(s.tables.connections.scroll, 20 - visible, "moving up inside the window does not scroll");
  s = run(s, { type: "home" });
  assert.equal(s.tables.connections.scroll, 0);
  s = run(s, { type: "page", delta: 1 });
  assert.equal(s.tables.connections.selected, visible);
  assert.equal(s.tables.connections.scroll, 1);
});

test("sorting cycles over the columns shown at this width", () => {
  let s = fed({ columns: 80 });
  const order: string[] = [];
  for (let i = 0; i < 13; i++) {
    s = reducer(s, { type: "sort", delta: 1 });
    order.push(s.tables.workers.sortColumn);
  }
  assert.deepEqual(order.slice(0, 12), ["status", "p50", "p99", "max", "lag", "busy", "rps", "conns", "tasks", "queue", "wd", "id"]);
  assert.ok(!order.includes("gen"), "GEN is not shown at 80 columns");
  s = reducer(s, { type: "sort", delta: -1 });
  assert.equal(s.tables.workers.sortColumn, "id");
});

test("enter opens a worker; esc comes back with sort, scroll and selection kept", () => {
  let s = run(fed(), { type: "sort", delta: 1 }, { type: "sort", delta: 1 }, { type: "sort", delta: 1 }, { type: "invert" });
  assert.equal(s.tables.workers.sortColumn, "p99");
  assert.equal(s.tables.workers.selectedKey, "0", "the selection followed worker 0 to the bottom");
  s = run(s, { type: "home" }, { type: "move", delta: 1 });
  const before = s.tables.workers;
  assert.equal(before.selectedKey, "3", "p99 descending: worker 2 (83ms), then worker 3 (3.0ms)");
  s = reducer(s, { type: "enter" });
  assert.deepEqual(s.screen, { kind: "worker", worker: 3, from: "workers" });
  assert.deepEqual([...(tableOf(s, "workerConnections")?.keys ?? [])].sort(), ["3.8", "3.9"]);
  assert.equal(tableOf(s, "workerTasks")?.rows.length, 1);
  s = run(s, { type: "move", delta: 1 }, { type: "back" });
  assert.deepEqual(s.screen, { kind: "list", view: "workers" });
  assert.deepEqual(s.tables.workers, before);
});

test("enter on a connection or a task opens its worker with that row selected", () => {
  let s = run(fed(), { type: "view", view: "connections" }, { type: "end" });
  const key = s.tables.connections.selectedKey;
  assert.equal(key, "3.9");
  s = reducer(s, { type: "enter" });
  assert.deepEqual(s.screen, { kind: "worker", worker: 3, from: "connections" });
  assert.equal(s.pane.worker, 0);
  assert.equal(s.tables.workerConnections.selectedKey, "3.9");
  s = run(s, { type: "back" }, { type: "view", view: "tasks" });
  const task = s.tables.tasks.selectedKey;
  assert.equal(task, "3.8#8", "longest in state first");
  s = reducer(s, { type: "enter" });
  assert.equal(s.pane.worker, 1);
  assert.equal(s.tables.workerTasks.selectedKey, "3.8#8");
});

test("enter on a cluster shows its hosts", () => {
  const s = run(fed(), { type: "view", view: "clusters" }, { type: "move", delta: 1 }, { type: "enter" });
  assert.deepEqual(s.screen, { kind: "cluster", cluster: "backend", from: "clusters" });
  assert.deepEqual(tableOf(s, "clusterHosts")?.keys, ["10.0.1.10:8080", "10.0.1.11:8080", "10.0.1.12:8080"]);
});

test("p switches the pane in the tasks view; each pane keeps its own sort", () => {
  let s = run(fed(), { type: "view", view: "tasks" }, { type: "switch-pane" }, { type: "invert" });
  assert.equal(s.pane.tasks, 1);
  assert.equal(s.tables.queues.descending, false);
  assert.equal(s.tables.tasks.descending, true);
  s = reducer(s, { type: "switch-pane" });
  assert.equal(s.pane.tasks, 0);
});

test("filter: typed live, backspace, esc restores, enter keeps, esc in the list clears", () => {
  let s = run(fed(), { type: "view", view: "stats" }, { type: "filter-start" });
  assert.deepEqual(s.filterEdit, { table: "stats", previous: "" });
  s = run(s, { type: "filter-input", text: "5x" }, { type: "filter-input", text: "xx" }, { type: "filter-backspace" });
  assert.equal(s.tables.stats.filter, "5xx");
  assert.deepEqual(tableOf(s, "stats")?.keys.map((k) => k.split(".")[1]).sort(), ["api", "backend", "ingress_http"]);
  s = reducer(s, { type: "filter-cancel" });
  assert.equal(s.tables.stats.filter, "");
  assert.equal(s.filterEdit, undefined);
  s = run(s, { type: "filter-start" }, { type: "filter-input", text: "api" }, { type: "filter-commit" });
  assert.equal(s.tables.stats.filter, "api");
  assert.equal(s.filterEdit, undefined);
  s = run(s, { type: "view", view: "workers" }, { type: "view", view: "stats" });
  assert.equal(s.tables.stats.filter, "api", "kept across views");
  s = reducer(s, { type: "back" });
  assert.equal(s.tables.stats.filter, "");
});

test("help toggles and esc closes it", () => {
  let s = reducer(fed(), { type: "toggle-help" });
  assert.equal(s.help, true);
  s = reducer(s, { type: "back" });
  assert.equal(s.help, false);
});

test("rewind rebuilds derived state from the frames given", () => {
  const [a, b] = fixtures();
  const c = later(b, 1);
  const live = run(initialState(), snap(a), snap(b));
  const rewound = run(initialState(), snap(a), snap(b), snap(c), { type: "rewind", snapshots: [a, b] });
  assert.deepEqual(rewound.derived, live.derived);
  assert.equal(rewound.snapshot?.seq, b.seq);
});

test("connection state changes are kept for the header", () => {
  const s = reducer(initialState(), {
    type: "conn",
    conn: { kind: "reconnecting", url: "http://x", attempt: 2, delayMs: 1000, retryAt: 5000, error: "connection refused" },
  });
  assert.equal(s.conn?.kind, "reconnecting");
});
