import type { PreparedTable } from "../state/select.ts";
import type { TableState, Thresholds } from "../state/types.ts";
import { Table } from "./Table.tsx";

/** Props of {@link WorkersView}. */
export interface WorkersViewProps {
  readonly table: PreparedTable;
  readonly view: TableState;
  readonly height: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/**
 * One row per worker loop: status, lag p50/p99/max with a sparkline of recent p99, busy bar,
 * requests/s, open connections, in-flight tasks, queue depths (main→worker / upstream), watchdog misses.
 */
export function WorkersView({ table, view, height, width, thresholds }: WorkersViewProps) {
  return (
    <Table
      table={table}
      view={view}
      height={height}
      width={width}
      focused
      thresholds={thresholds}
      empty="no workers reported"
    />
  );
}
