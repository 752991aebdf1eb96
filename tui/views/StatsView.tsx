import type { PreparedTable } from "../state/select.ts";
import type { TableState, Thresholds } from "../state/types.ts";
import { Table } from "./Table.tsx";

/** Props of {@link StatsView}. */
export interface StatsViewProps {
  readonly table: PreparedTable;
  readonly view: TableState;
  readonly height: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/**
 * Every stat with its value, rate and how many recent flushes changed it; sorted "most changing"
 * first by default (like Envoy's active stats page); `/` filters.
 */
export function StatsView({ table, view, height, width, thresholds }: StatsViewProps) {
  return (
    <Table table={table} view={view} height={height} width={width} focused thresholds={thresholds} empty="no stats" />
  );
}
