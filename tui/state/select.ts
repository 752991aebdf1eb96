/**
 * Selectors: filtered and sorted rows of a table, the columns that fit a width, and which table has
 * the keys. Pure; used by the reducer (selection, scroll), the views and the printers.
 *
 * @module
 */

import type { Snapshot } from "../../src/admin/wire.ts";
import type { Column, RowsContext } from "./tables.ts";
import { TABLES } from "./tables.ts";
import type { Derived, Screen, State, TableId, TableState } from "./types.ts";

/**
 * Compiles a filter: a regular expression, case-insensitive unless it holds an upper-case letter
 * (smart case); text that does not parse as a regular expression matches literally.
 *
 * @example Smart case
 * ```ts
 * compileFilter("upstream")("cluster.api.upstream_rq_5xx"); // true
 * compileFilter("Upstream")("cluster.api.upstream_rq_5xx"); // false
 * ```
 */
export function compileFilter(pattern: string): (text: string) => boolean {
  if (pattern === "") return () => true;
  const flags = /[A-Z]/.test(pattern) ? "" : "i";
  try {
    const re = new RegExp(pattern, flags);
    return (text) => re.test(text);
  } catch {
    const needle = flags ? pattern.toLowerCase() : pattern;
    return (text) => (flags ? text.toLowerCase() : text).includes(needle);
  }
}

/** Strict variant for the command line: an invalid expression is an error there. */
export function parseFilterFlag(pattern: string | undefined): (text: string) => boolean {
  if (pattern === undefined || pattern === "") return () => true;
  try {
    new RegExp(pattern);
  } catch (e) {
    throw new Error(`Cannot parse --filter "${pattern}": ${e instanceof Error ? e.message : String(e)}`);
  }
  return compileFilter(pattern);
}

/** The text a row is filtered on: every column's plain text, joined by spaces. */
export function searchText<R>(columns: readonly Column<R>[], row: R): string {
  return columns.filter((c) => !c.tuiOnly).map((c) => c.text(row)).join(" ");
}

/**
 * Whether a row matches: the whole row's text does, or one cell's text alone does (so anchors work
 * on a column: `rq_total$`, `^10\.0\.`).
 */
export function rowMatches<R>(columns: readonly Column<R>[], row: R, match: (text: string) => boolean): boolean {
  const cells = columns.filter((c) => !c.tuiOnly).map((c) => c.text(row));
  return match(cells.join(" ")) || cells.some((cell) => match(cell));
}

function compareValues(a: number | string, b: number | string): number {
  if (typeof a === "number" && typeof b === "number") {
    const an = Number.isNaN(a);
    const bn = Number.isNaN(b);
    if (an || bn) return an === bn ? 0 : an ? 1 : -1;
    return a - b;
  }
  return String(a).localeCompare(String(b), "en", { numeric: true });
}

/** A table's rows, filtered and sorted, with their keys. */
export interface PreparedTable {
  readonly id: TableId;
  readonly columns: readonly Column<unknown>[];
  readonly rows: readonly unknown[];
  readonly keys: readonly string[];
  /** Rows before filtering. */
  readonly total: number;
  readonly sortColumn: Column<unknown> | undefined;
  readonly descending: boolean;
}

/**
 * Rows of table `id` from a snapshot, filtered by `filter` and sorted on `sortColumn`; ties keep the
 * row key order so the order is stable from one flush to the next.
 */
export function prepareTable(
  id: TableId,
  ctx: RowsContext,
  view: Pick<TableState, "sortColumn" | "descending" | "filter">,
  match?: (text: string) => boolean,
): PreparedTable {
  const def = TABLES[id];
  const all = def.rows(ctx);
  const test = match ?? (view.filter === "" ? undefined : compileFilter(view.filter));
  const rows = test === undefined ? [...all] : all.filter((r) => rowMatches(def.columns, r, test));
  const sortColumn = def.columns.find((c) => c.id === view.sortColumn) ?? def.columns[0];
  const dir = view.descending ? -1 : 1;
  const decorated = rows.map((row) => ({ row, key: def.key(row), value: sortColumn ? sortColumn.sort(row) : 0 }));
  decorated.sort((a, b) => {
    const c = compareValues(a.value, b.value);
    if (c !== 0) return c * dir;
    return compareValues(a.key, b.key);
  });
  return {
    id,
    columns: def.columns,
    rows: decorated.map((d) => d.row),
    keys: decorated.map((d) => d.key),
    total: all.length,
    sortColumn,
    descending: view.descending,
  };
}

/** Rows context of a state, or undefined before the first snapshot. */
export function rowsContext(state: Pick<State, "snapshot" | "derived" | "screen">): RowsContext | undefined {
  return state.snapshot ? { snapshot: state.snapshot, derived: state.derived, screen: state.screen } : undefined;
}

/** Prepares table `id` as the state shows it. */
export function tableOf(state: State, id: TableId): PreparedTable | undefined {
  const ctx = rowsContext(state);
  return ctx ? prepareTable(id, ctx, state.tables[id]) : undefined;
}

/** Convenience for printers and tests: rows of a table straight from a snapshot. */
export function tableFromSnapshot(
  id: TableId,
  snapshot: Snapshot,
  derived: Derived,
  view: Pick<TableState, "sortColumn" | "descending" | "filter">,
  match?: (text: string) => boolean,
  screen: Screen = { kind: "list", view: "workers" },
): PreparedTable {
  return prepareTable(id, { snapshot, derived, screen }, view, match);
}

/** The tables a screen shows, in drawing order. */
export function screenTables(state: Pick<State, "screen" | "help">): readonly TableId[] {
  if (state.help) return [];
  const s = state.screen;
  if (s.kind === "worker") return ["workerConnections", "workerTasks"];
  if (s.kind === "cluster") return ["clusterHosts"];
  if (s.view === "tasks") return ["tasks", "queues"];
  return [s.view];
}

/** The table that has the keys (selection, sort, filter), if any. */
export function focusedTable(state: Pick<State, "screen" | "help" | "pane">): TableId | undefined {
  const tables = screenTables(state);
  if (tables.length <= 1) return tables[0];
  const pane = state.screen.kind === "worker" ? state.pane.worker : state.pane.tasks;
  return tables[pane] ?? tables[0];
}

/** A column placed at a width. */
export interface FittedColumn {
  readonly column: Column<unknown>;
  readonly width: number;
}

/**
 * Chooses and sizes columns to fit `width` cells with one space between columns. Optional columns
 * (`drop` ≥ 2) go first, highest `drop` first; then truncatable columns shrink toward their `min`;
 * then columns with `drop` 1 go. Spare room goes to `grow` columns.
 *
 * @example 80 columns
 * ```ts
 * fitColumns(TABLES.workers.columns, 80).map((f) => f.column.id);
 * ```
 */
export function fitColumns<R>(
  columns: readonly Column<R>[],
  width: number,
): { readonly column: Column<R>; readonly width: number }[] {
  let shown = [...columns];
  const total = (pick: (c: Column<R>) => number) => shown.reduce((n, c) => n + pick(c), 0) + Math.max(0, shown.length - 1);
  const dropOne = (minDrop: number): boolean => {
    let victim = -1;
    shown.forEach((c, i) => {
      const v = shown[victim];
      if (c.drop >= minDrop && (v === undefined || c.drop >= v.drop)) victim = i;
    });
    if (victim < 0) return false;
    shown = shown.filter((_, i) => i !== victim);
    return true;
  };
  while (total((c) => c.width) > width && dropOne(2));
  while (total((c) => c.min ?? c.width) > width && dropOne(1));
  const widths = shown.map((c) => c.width);
  let excess = total((c) => c.width) - width;
  // Shrink one cell at a time from the column with the most room above its minimum.
  while (excess > 0) {
    let best = -1;
    let bestSlack = 0;
    shown.forEach((c, i) => {
      const slack = (widths[i] ?? 0) - (c.min ?? c.width);
      if (slack > bestSlack) {
        best = i;
        bestSlack = slack;
      }
    });
    if (best < 0) break;
    widths[best] = (widths[best] ?? 1) - 1;
    excess--;
  }
  let spare = -excess;
  const growers = shown.map((c, i) => ({ c, i })).filter(({ c }) => c.grow !== undefined);
  while (spare > 0) {
    let gave = false;
    for (const { c, i } of growers) {
      if (spare === 0) break;
      if ((widths[i] ?? 0) < (c.grow ?? 0)) {
        widths[i] = (widths[i] ?? 0) + 1;
        spare--;
        gave = true;
      }
    }
    if (!gave) break;
  }
  return shown.map((column, i) => ({ column, width: widths[i] ?? column.width }));
}
