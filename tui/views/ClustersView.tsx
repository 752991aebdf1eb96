import { Box, Text } from "ink";
import type { ClusterInfo } from "../../src/admin/wire.ts";
import { formatCount, formatMs, formatPercent } from "../format.ts";
import type { PreparedTable } from "../state/select.ts";
import type { TableState, Thresholds } from "../state/types.ts";
import { Table } from "./Table.tsx";

/** Props of {@link ClustersView}. */
export interface ClustersViewProps {
  readonly table: PreparedTable;
  readonly view: TableState;
  readonly height: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/** Clusters: healthy hosts, requests, rate, 5xx share, latency. Enter shows a cluster's hosts. */
export function ClustersView({ table, view, height, width, thresholds }: ClustersViewProps) {
  return (
    <Table table={table} view={view} height={height} width={width} focused thresholds={thresholds} empty="no clusters" />
  );
}

/** Props of {@link ClusterDetail}. */
export interface ClusterDetailProps {
  readonly cluster: ClusterInfo | undefined;
  readonly name: string;
  readonly errorRate: number | undefined;
  readonly hosts: PreparedTable;
  readonly view: TableState;
  readonly height: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/** One cluster: a summary line and its hosts with health flags and request totals. */
export function ClusterDetail({ cluster, name, errorRate, hosts, view, height, width, thresholds }: ClusterDetailProps) {
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold>cluster {name}</Text>
        {cluster
          ? (
            <Text>
              {` · ${cluster.type} · ${cluster.lbPolicy} · ${formatCount(cluster.rqTotal)} rq · 5xx ${
                formatPercent(errorRate)
              } · p50 ${formatMs(cluster.rqTimeP50Ms)} · p99 ${formatMs(cluster.rqTimeP99Ms)}`}
            </Text>
          )
          : <Text color="red"> is gone from the latest snapshot</Text>}
      </Text>
      <Table table={hosts} view={view} height={height} width={width} focused thresholds={thresholds} empty="no hosts" />
    </Box>
  );
}
