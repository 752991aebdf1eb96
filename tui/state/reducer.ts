/**
 * The inspector's reducer: `(state, action) → state`, pure. Snapshots go through {@link advance};
 * key intents move selections, sorts, filters and screens. Every table keeps its own selection,
 * scroll, sort and filter, so a trip into a detail and back loses nothing.
 *
 * @module
 */

import type { Snapshot } from "../../src/admin/wire.ts";
import { advance, continues, EMPTY_DERIVED } from "./derive.ts";
import { computeLayout } from "./layout.ts";
import { fitColumns, focusedTable, prepareTable, rowsContext, screenTables } from "./select.ts";
import { TABLES } from "./tables.ts";
import type { Action, Screen, State, TableId, TableState, Thresholds, ViewId } from "./types.ts";
import { DEFAULT_THRESHOLDS, TABLE_IDS, VIEWS } from "./types.ts";

/** Options of {@link initialState}. */
export interface InitOptions {
  readonly thresholds?: Thresholds;
  /** Samples kept per worker and queue (sparkline length). */
  readonly historyLimit?: number;
  readonly columns?: number;
  readonly rows?: number;
  readonly view?: ViewId;
}

function initialTable(id: TableId): TableState {
  const sort = TABLES[id].defaultSort;
  return { selected: 0, selectedKey: undefined, scroll: 0, sortColumn: sort.column, descending: sort.descending, filter: "" };
}

/**
 * The state before any data arrived.
 *
 * @example
 * ```ts
 * const state = initialState({ columns: 80, rows: 24 });
 * ```
 */
export function initialState(options: InitOptions = {}): State {
  const tables = {} as Record<TableId, TableState>;
  for (const id of TABLE_IDS) tables[id] = initialTable(id);
  return {
    thresholds: options.thresholds ?? DEFAULT_THRESHOLDS,
    historyLimit: options.historyLimit ?? 60,
    conn: undefined,
    snapshot: undefined,
    derived: EMPTY_DERIVED,
    droppedBefore: 0,
    paused: false,
    held: [],
    heldSkipped: 0,
    screen: { kind: "list", view: options.view ?? "workers" },
    pane: { tasks: 0, worker: 0 },
    tables,
    filterEdit: undefined,
    help: false,
    viewport: { columns: options.columns ?? 80, rows: options.rows ?? 24 },
  };
}

/** Dropped updates to show: earlier subscriptions' plus the current one's. */
export function droppedUpdates(state: State): number {
  return state.droppedBefore + (state.snapshot?.dropped ?? 0);
}

function setTable(state: State, id: TableId, patch: Partial<TableState>): State {
  return { ...state, tables: { ...state.tables, [id]: { ...state.tables[id], ...patch } } };
}

/**
 * Re-resolves a table's selection after its rows changed: follow the selected key if it is still
 * there, else keep the index (clamped); then keep the selection inside the visible window.
 */
function reconcile(state: State, id: TableId, wanted?: { index?: number; key?: string }): State {
  const ctx = rowsContext(state);
  const t = state.tables[id];
  if (!ctx) return state;
  const prepared = prepareTable(id, ctx, t);
  const n = prepared.rows.length;
  let index = wanted?.index ?? t.selected;
  const key = wanted?.key ?? (wanted?.index === undefined ? t.selectedKey : undefined);
  if (key !== undefined) {
    const found = prepared.keys.indexOf(key);
    if (found >= 0) index = found;
  }
  index = n === 0 ? 0 : Math.min(Math.max(0, index), n - 1);
  const visible = computeLayout(state).panes[id] ?? 1;
  let scroll = Math.min(t.scroll, Math.max(0, n - visible));
  if (index < scroll) scroll = index;
  if (index >= scroll + visible) scroll = index - visible + 1;
  scroll = Math.max(0, scroll);
  const selectedKey = prepared.keys[index];
  if (index === t.selected && scroll === t.scroll && selectedKey === t.selectedKey) return state;
  return setTable(state, id, { selected: index, scroll, selectedKey });
}

/**
 * Reconciles the shown tables. New data keeps the selection at its index, like htop: rows move under
 * the cursor and nothing scrolls by itself. The user's own reordering (sort, invert, filter) follows
 * the selected row instead.
 */
function reconcileShown(state: State): State {
  let s = state;
  for (const id of screenTables(state)) s = reconcile(s, id, { index: s.tables[id].selected });
  return s;
}

function applySnapshot(state: State, snapshot: Snapshot): State {
  const prev = state.snapshot;
  const sameStream = continues(prev, snapshot);
  const derived = advance(state.derived, prev, snapshot, state.thresholds, state.historyLimit);
  const droppedBefore = sameStream || !prev ? state.droppedBefore : state.droppedBefore + (prev.dropped ?? 0);
  return reconcileShown({ ...state, snapshot, derived, droppedBefore });
}

function visibleSortColumns(state: State, id: TableId): string[] {
  const fitted = fitColumns(TABLES[id].columns, state.viewport.columns);
  return fitted.map((f) => f.column.id);
}

function listScreen(view: ViewId): Screen {
  return { kind: "list", view };
}

function currentView(screen: Screen): ViewId {
  return screen.kind === "list" ? screen.view : screen.from;
}

function enter(state: State): State {
  const id = focusedTable(state);
  const ctx = rowsContext(state);
  if (!id || !ctx) return state;
  const t = state.tables[id];
  const prepared = prepareTable(id, ctx, t);
  const row = prepared.rows[t.selected];
  if (row === undefined) return state;
  const from = currentView(state.screen);
  const openWorker = (worker: number, table: TableId, key: string | undefined): State => {
    const sameWorker = state.screen.kind === "worker" && state.screen.worker === worker;
    let s: State = {
      ...state,
      screen: { kind: "worker", worker, from },
      pane: { ...state.pane, worker: table === "workerTasks" ? 1 : 0 },
    };
    if (!sameWorker) {
      s = setTable(s, "workerConnections", { selected: 0, scroll: 0, selectedKey: undefined });
      s = setTable(s, "workerTasks", { selected: 0, scroll: 0, selectedKey: undefined });
    }
    s = reconcile(s, "workerConnections", table === "workerConnections" && key ? { key } : undefined);
    return reconcile(s, "workerTasks", table === "workerTasks" && key ? { key } : undefined);
  };
  switch (id) {
    case "workers":
      return openWorker((row as { w: { id: number } }).w.id, "workerConnections", undefined);
    case "connections":
      return openWorker((row as { worker: number }).worker, "workerConnections", prepared.keys[t.selected]);
    case "tasks":
      return openWorker((row as { worker: number }).worker, "workerTasks", prepared.keys[t.selected]);
    case "queues":
      return openWorker((row as { q: { worker: number } }).q.worker, "workerTasks", undefined);
    case "clusters": {
      const name = (row as { c: { name: string } }).c.name;
      const same = state.screen.kind === "cluster" && state.screen.cluster === name;
      let s: State = { ...state, screen: { kind: "cluster", cluster: name, from } };
      if (!same) s = setTable(s, "clusterHosts", { selected: 0, scroll: 0, selectedKey: undefined });
      return reconcile(s, "clusterHosts");
    }
    default:
      return state;
  }
}

function resume(state: State): State {
  let s: State = { ...state, paused: false, held: [], heldSkipped: 0 };
  for (const snap of state.held) s = applySnapshot(s, snap);
  return s;
}

/**
 * The reducer.
 *
 * @example Two snapshots, then sort the workers by the next column
 * ```ts
 * let s = initialState();
 * s = reducer(s, { type: "snapshot", snapshot: first });
 * s = reducer(s, { type: "snapshot", snapshot: second });
 * s = reducer(s, { type: "sort", delta: 1 });
 * ```
 */
export function reducer(state: State, action: Action): State {
  switch (action.type) {
    case "snapshot":
      if (state.paused) {
        const held = [...state.held, action.snapshot];
        const over = Math.max(0, held.length - state.historyLimit);
        return { ...state, held: held.slice(over), heldSkipped: state.heldSkipped + over };
      }
      return applySnapshot(state, action.snapshot);
    case "rewind": {
      let s: State = { ...state, snapshot: undefined, derived: EMPTY_DERIVED, held: [], heldSkipped: 0 };
      for (const snap of action.snapshots) s = applySnapshot(s, snap);
      return s;
    }
    case "conn":
      return { ...state, conn: action.conn };
    case "resize":
      if (action.columns === state.viewport.columns && action.rows === state.viewport.rows) return state;
      return reconcileShown({ ...state, viewport: { columns: action.columns, rows: action.rows } });
    case "view":
      return reconcileShown({ ...state, screen: listScreen(action.view), help: false });
    case "cycle-view": {
      const i = VIEWS.indexOf(currentView(state.screen));
      const next = VIEWS[(i + action.delta + VIEWS.length) % VIEWS.length] ?? "workers";
      return reconcileShown({ ...state, screen: listScreen(next), help: false });
    }
    case "move":
    case "page":
    case "home":
    case "end": {
      const id = focusedTable(state);
      if (!id) return state;
      const t = state.tables[id];
      const page = computeLayout(state).panes[id] ?? 1;
      const index = action.type === "move"
        ? t.selected + action.delta
        : action.type === "page"
        ? t.selected + action.delta * page
        : action.type === "home"
        ? 0
        : Number.MAX_SAFE_INTEGER;
      return reconcile(state, id, { index });
    }
    case "sort": {
      const id = focusedTable(state);
      if (!id) return state;
      const t = state.tables[id];
      const ids = visibleSortColumns(state, id);
      if (ids.length === 0) return state;
      const at = ids.indexOf(t.sortColumn);
      const next = ids[at < 0 ? 0 : (at + action.delta + ids.length) % ids.length] ?? t.sortColumn;
      return reconcile(setTable(state, id, { sortColumn: next }), id);
    }
    case "invert": {
      const id = focusedTable(state);
      if (!id) return state;
      return reconcile(setTable(state, id, { descending: !state.tables[id].descending }), id);
    }
    case "enter":
      return state.help ? state : enter(state);
    case "back": {
      if (state.help) return { ...state, help: false };
      if (state.screen.kind !== "list") return reconcileShown({ ...state, screen: listScreen(state.screen.from) });
      const id = focusedTable(state);
      if (id && state.tables[id].filter !== "") return reconcile(setTable(state, id, { filter: "" }), id);
      return state;
    }
    case "switch-pane": {
      if (state.screen.kind === "worker") {
        return reconcileShown({ ...state, pane: { ...state.pane, worker: state.pane.worker === 0 ? 1 : 0 } });
      }
      if (state.screen.kind === "list" && state.screen.view === "tasks") {
        return reconcileShown({ ...state, pane: { ...state.pane, tasks: state.pane.tasks === 0 ? 1 : 0 } });
      }
      return state;
    }
    case "filter-start": {
      const id = focusedTable(state);
      if (!id) return state;
      return { ...state, filterEdit: { table: id, previous: state.tables[id].filter } };
    }
    case "filter-input":
    case "filter-backspace": {
      const edit = state.filterEdit;
      if (!edit) return state;
      const current = state.tables[edit.table].filter;
      const filter = action.type === "filter-input" ? current + action.text : Array.from(current).slice(0, -1).join("");
      return reconcile(setTable(state, edit.table, { filter }), edit.table);
    }
    case "filter-commit":
      return { ...state, filterEdit: undefined };
    case "filter-cancel": {
      const edit = state.filterEdit;
      if (!edit) return state;
      return reconcile(setTable({ ...state, filterEdit: undefined }, edit.table, { filter: edit.previous }), edit.table);
    }
    case "toggle-pause":
      return state.paused ? resume(state) : { ...state, paused: true };
    case "toggle-help":
      return { ...state, help: !state.help };
  }
}
