import { Box, Text } from "ink";
import { fit } from "../format.ts";
import type { FittedColumn, PreparedTable } from "../state/select.ts";
import { fitColumns } from "../state/select.ts";
import type { TableState, Thresholds } from "../state/types.ts";

/** Props of {@link Table}. */
export interface TableProps {
  readonly table: PreparedTable;
  readonly view: TableState;
  /** Data rows to draw (the column titles take one more line). */
  readonly height: number;
  readonly width: number;
  /** Whether this table has the keys (selection drawn, titles bold). */
  readonly focused: boolean;
  readonly thresholds: Thresholds;
  /** Shown on the title line when given (two-pane screens). */
  readonly title?: string;
  /** Text when there are no rows. */
  readonly empty?: string;
}

/** Columns of `table` as they fit `width` (one cell is kept for the selection gutter). */
export function fittedColumns(table: PreparedTable, width: number): FittedColumn[] {
  return fitColumns(table.columns, Math.max(1, width - 1));
}

function rowRange(table: PreparedTable, view: TableState, height: number): string {
  const n = table.rows.length;
  if (n === 0) return table.total > 0 ? `0 of ${table.total}` : "0";
  const first = Math.min(view.scroll + 1, n);
  const last = Math.min(view.scroll + height, n);
  const of = n === table.total ? `${n}` : `${n} (of ${table.total})`;
  return first === 1 && last === n ? of : `${first}-${last} of ${of}`;
}

/**
 * A sortable, scrolling table drawn to an exact height: optional title line, column titles (the
 * sort column marked ▲/▼), then `height` rows, the selected one marked and inverted.
 */
export function Table({ table, view, height, width, focused, thresholds, title, empty }: TableProps) {
  const cols = fittedColumns(table, width);
  const sortId = table.sortColumn?.id;
  const header = cols
    .map(({ column, width: w }) => {
      const mark = column.id === sortId ? (table.descending ? "▼" : "▲") : "";
      return fit(column.title + mark, w, column.align);
    })
    .join(" ");
  const shown = table.rows.slice(view.scroll, view.scroll + height);
  const lines = shown.map((row, i) => {
    const index = view.scroll + i;
    const selected = focused && index === view.selected;
    return (
      <Text key={table.keys[index] ?? index} wrap="truncate" inverse={selected}>
        {selected ? "›" : " "}
        {cols.map(({ column, width: w }, ci) => (
          <Text key={column.id} color={column.color?.(row, thresholds)}>
            {(ci > 0 ? " " : "") + fit(column.text(row, w), w, column.align)}
          </Text>
        ))}
      </Text>
    );
  });
  return (
    <Box flexDirection="column" width={width} height={height + 1 + (title === undefined ? 0 : 1)} overflow="hidden">
      {title !== undefined
        ? (
          <Text wrap="truncate" bold={focused} dimColor={!focused}>
            {focused ? "▸ " : "  "}
            {title} <Text dimColor>[{rowRange(table, view, height)}]</Text>
          </Text>
        )
        : null}
      <Text wrap="truncate" bold={focused} dimColor={!focused} underline={focused}>
        {" "}
        {header}
      </Text>
      {lines}
      {lines.length === 0 && height > 0
        ? <Text dimColor wrap="truncate">{` ${empty ?? (table.total > 0 ? "no rows match the filter" : "none")}`}</Text>
        : null}
    </Box>
  );
}
