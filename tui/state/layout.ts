/**
 * How the screen's rows are shared out. The reducer needs the visible row count of each table to
 * keep the selection in view, and the views draw exactly these heights, so both use this function.
 *
 * @module
 */

import type { State, TableId } from "./types.ts";

/** Row budget of one frame. */
export interface Layout {
  readonly columns: number;
  readonly rows: number;
  /** Header (2 lines) + view tabs (1 line). */
  readonly top: number;
  /** Warnings panel lines, title included. */
  readonly warnings: number;
  /** Warnings listed (the rest are summarised as "… N more"). */
  readonly warningsShown: number;
  /** Key hints / filter prompt. */
  readonly footer: number;
  /** Everything between the tabs and the warnings panel. */
  readonly body: number;
  /** Connections view: share bars (title line included) and how many workers per line. */
  readonly shares: { readonly lines: number; readonly perLine: number };
  /** Worker detail: summary lines and histogram bar height. */
  readonly detail: { readonly summary: number; readonly histogram: number };
  /** Data rows visible per table of the current screen. */
  readonly panes: Readonly<Partial<Record<TableId, number>>>;
}

const MIN_ROWS = 1;

/** Per-table data rows when a body of `rows` lines is split into titled panes. */
function split(rows: number, first: number): [number, number] {
  const a = Math.max(MIN_ROWS, Math.ceil(rows * first));
  return [a, Math.max(MIN_ROWS, rows - a)];
}

/**
 * Computes the layout for a state.
 *
 * @example 80×24 on the workers view without warnings
 * ```ts
 * computeLayout(state).panes.workers; // 18 (24 − 3 top − 1 warnings − 1 footer − 1 column titles)
 * ```
 */
export function computeLayout(state: Pick<State, "viewport" | "derived" | "screen" | "help" | "snapshot">): Layout {
  const columns = Math.max(20, state.viewport.columns);
  const rows = Math.max(10, state.viewport.rows);
  const top = 3;
  const footer = 1;
  const count = state.derived.warnings.length;
  const cap = rows >= 40 ? 8 : rows >= 30 ? 5 : 3;
  const warningsShown = count <= cap ? count : cap - 1;
  const warnings = count === 0 ? 1 : 1 + warningsShown + (count > warningsShown ? 1 : 0);
  const body = Math.max(3, rows - top - footer - warnings);
  const panes: Partial<Record<TableId, number>> = {};
  let shares = { lines: 0, perLine: 1 };
  let detail = { summary: 0, histogram: 0 };
  const s = state.screen;
  if (state.help) {
    // Help fills the body.
  } else if (s.kind === "worker") {
    const histogram = rows >= 40 ? 4 : rows >= 30 ? 2 : 1;
    detail = { summary: 2, histogram };
    // summary + histogram title, bars, labels + two panes (title + column titles each)
    const rest = body - detail.summary - (histogram + 2) - 4;
    const [a, b] = split(rest, 0.5);
    panes.workerConnections = a;
    panes.workerTasks = b;
  } else if (s.kind === "cluster") {
    panes.clusterHosts = Math.max(MIN_ROWS, body - 2);
  } else if (s.view === "connections") {
    const workers = state.snapshot?.workers.length ?? 0;
    const maxLines = Math.max(1, Math.floor((body - 1) / 3));
    let perLine = Math.max(1, Math.ceil(workers / maxLines));
    perLine = Math.min(Math.max(1, Math.floor(columns / 16)), Math.max(perLine, 1));
    const entryLines = workers === 0 ? 0 : Math.min(maxLines, Math.ceil(workers / perLine));
    shares = { lines: 1 + entryLines, perLine };
    panes.connections = Math.max(MIN_ROWS, body - shares.lines - 1);
  } else if (s.view === "tasks") {
    const [a, b] = split(body - 4, 0.6);
    panes.tasks = a;
    panes.queues = b;
  } else {
    panes[s.view] = Math.max(MIN_ROWS, body - 1);
  }
  return { columns, rows, top, warnings, warningsShown, footer, body, shares, detail, panes };
}
