import { Box } from "ink";
import type { PreparedTable } from "../state/select.ts";
import type { TableState, Thresholds } from "../state/types.ts";
import { Table } from "./Table.tsx";

/** Props of {@link TasksView}. */
export interface TasksViewProps {
  readonly tasks: PreparedTable;
  readonly tasksView: TableState;
  readonly tasksHeight: number;
  /** In-flight tasks the instance holds in all (the snapshot may list fewer). */
  readonly tasksTotal: number;
  readonly queues: PreparedTable;
  readonly queuesView: TableState;
  readonly queuesHeight: number;
  /** 0: tasks have the keys; 1: queues. */
  readonly pane: 0 | 1;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/** In-flight tasks across workers, and the queues (main→worker, pending upstream) with depth and oldest wait. */
export function TasksView(props: TasksViewProps) {
  const listed = props.tasksTotal > props.tasks.total ? `, listing ${props.tasks.total} of ${props.tasksTotal}` : "";
  return (
    <Box flexDirection="column" width={props.width}>
      <Table
        title={`Tasks in flight${listed}`}
        table={props.tasks}
        view={props.tasksView}
        height={props.tasksHeight}
        width={props.width}
        focused={props.pane === 0}
        thresholds={props.thresholds}
        empty="no task in flight"
      />
      <Table
        title="Queues (p switches pane)"
        table={props.queues}
        view={props.queuesView}
        height={props.queuesHeight}
        width={props.width}
        focused={props.pane === 1}
        thresholds={props.thresholds}
        empty="no queues"
      />
    </Box>
  );
}
