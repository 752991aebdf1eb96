import { Box, Text } from "ink";
import type { WorkerInfo } from "../../src/admin/wire.ts";
import { bar, fit, formatPercent } from "../format.ts";
import type { PreparedTable } from "../state/select.ts";
import type { Imbalance, TableState, Thresholds } from "../state/types.ts";
import { Table } from "./Table.tsx";

/** Props of {@link ConnectionsView}. */
export interface ConnectionsViewProps {
  readonly workers: readonly WorkerInfo[];
  readonly imbalance: Imbalance;
  /** Connections the instance holds in all (the snapshot may list fewer). */
  readonly connectionsTotal: number;
  readonly table: PreparedTable;
  readonly view: TableState;
  /** Lines for the share block (title included), workers per line, and table rows. */
  readonly sharesLines: number;
  readonly perLine: number;
  readonly height: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/** The imbalance line: "imbalance 2.20× (max 11 on worker 0, mean 5.0, 20 open)". */
export function imbalanceText(im: Imbalance): string {
  if (im.total === 0) return "imbalance - (no open connections)";
  return `imbalance ${im.ratio.toFixed(2)}× (max ${im.max} on worker ${im.busiest}, mean ${im.mean.toFixed(1)}, ${im.total} open)`;
}

/** Per-worker share bars and the imbalance figure, then the affinity table. */
export function ConnectionsView(props: ConnectionsViewProps) {
  const { workers, imbalance: im, thresholds: t, width } = props;
  const lines = Math.max(0, props.sharesLines - 1);
  const perLine = Math.max(1, props.perLine);
  const entryWidth = Math.floor(width / perLine);
  const rows: WorkerInfo[][] = [];
  for (let i = 0; i < lines; i++) rows.push(workers.slice(i * perLine, (i + 1) * perLine));
  const hidden = workers.length - lines * perLine;
  const over = im.ratio > t.imbalance && im.total >= t.imbalanceMinConnections;
  const countWidth = String(Math.max(0, ...workers.map((w) => w.openConnections))).length;
  const labelWidth = String(Math.max(0, ...workers.map((w) => w.id))).length + 1;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold>Affinity</Text>{" "}
        <Text color={over ? "yellow" : "green"}>{imbalanceText(im)}</Text>
        {props.connectionsTotal > props.table.total
          ? <Text dimColor>{`  listing ${props.table.total} of ${props.connectionsTotal}`}</Text>
          : null}
      </Text>
      {rows.map((group, li) => (
        <Text key={li} wrap="truncate">
          {group.map((w, gi) => {
            const share = im.total > 0 ? w.openConnections / im.total : 0;
            const last = li === rows.length - 1 && gi === group.length - 1 && hidden > 0 ? ` +${hidden}` : "";
            const label = `w${w.id}`.padEnd(labelWidth);
            const tail = ` ${String(w.openConnections).padStart(countWidth)} ${formatPercent(share).padStart(4)}`;
            const barWidth = Math.max(1, entryWidth - label.length - tail.length - 3 - last.length);
            const busiest = over && w.id === im.busiest;
            return (
              <Text key={w.id}>
                {gi > 0 ? "  " : ""}
                {label}{" "}
                <Text color={busiest ? "yellow" : "blue"}>{bar(share, barWidth)}</Text>
                {fit(tail, tail.length)}
                {last}
              </Text>
            );
          })}
        </Text>
      ))}
      <Table
        table={props.table}
        view={props.view}
        height={props.height}
        width={width}
        focused
        thresholds={t}
        empty="no open connections"
      />
    </Box>
  );
}
