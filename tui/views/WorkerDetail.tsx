import { Box, Text } from "ink";
import type { WorkerInfo } from "../../src/admin/wire.ts";
import { formatCount, formatMs, formatPercent, formatRate } from "../format.ts";
import type { PreparedTable } from "../state/select.ts";
import type { TableState, Thresholds, WorkerSample } from "../state/types.ts";
import { Sparkline } from "./Sparkline.tsx";
import { Table } from "./Table.tsx";

/** Props of {@link WorkerDetail}. */
export interface WorkerDetailProps {
  readonly id: number;
  readonly worker: WorkerInfo | undefined;
  readonly samples: readonly WorkerSample[];
  readonly connections: PreparedTable;
  readonly connectionsView: TableState;
  readonly connectionsHeight: number;
  readonly tasks: PreparedTable;
  readonly tasksView: TableState;
  readonly tasksHeight: number;
  /** 0: connections have the keys; 1: tasks. */
  readonly pane: 0 | 1;
  /** Bar lines of the lag histogram. */
  readonly histogramHeight: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

const EIGHTHS = [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/** Bucket labels: "≤1ms" for each upper bound, ">100ms" for the overflow bucket. */
export function histogramLabels(bounds: readonly number[], buckets: number): string[] {
  const labels: string[] = [];
  for (let i = 0; i < buckets; i++) {
    const b = bounds[i];
    labels.push(b !== undefined ? `≤${formatMs(b)}` : `>${formatMs(bounds[bounds.length - 1] ?? 0)}`);
  }
  return labels;
}

/**
 * A vertical bar chart as `height` text lines (top first) and a label line "≤1ms:120 ≤2ms:34 …",
 * one column per bucket, each as wide as its label.
 *
 * @example
 * ```ts
 * histogramLines([4, 8, 2], [1, 5], 1, 80).labels; // "≤1.0ms:4 ≤5.0ms:8 >5.0ms:2"
 * ```
 */
export function histogramLines(
  counts: readonly number[],
  bounds: readonly number[],
  height: number,
  maxWidth: number,
): { readonly bars: string[]; readonly labels: string } {
  const cells = histogramLabels(bounds, counts.length).map((l, i) => `${l}:${formatCount(counts[i] ?? 0)}`);
  const max = Math.max(0, ...counts);
  const bars: string[] = [];
  for (let line = 0; line < height; line++) {
    const fromBottom = height - 1 - line;
    bars.push(
      counts
        .map((c, i) => {
          const w = cells[i]?.length ?? 1;
          const eighths = max > 0 ? Math.round((c / max) * height * 8) : 0;
          const here = Math.min(8, Math.max(0, eighths - fromBottom * 8));
          const glyph = c > 0 && eighths === 0 && fromBottom === 0 ? "▁" : EIGHTHS[here] ?? " ";
          return glyph.repeat(w) + " ";
        })
        .join("")
        .slice(0, maxWidth),
    );
  }
  return { bars, labels: cells.join(" ").slice(0, maxWidth) };
}

/** A worker's detail: figures, lag histogram, and its connections and tasks (p switches pane). */
export function WorkerDetail(props: WorkerDetailProps) {
  const { worker: w, width, thresholds: t } = props;
  const lag = props.samples.map((s) => s.lagP99Ms);
  if (!w) {
    return (
      <Box flexDirection="column" width={width}>
        <Text color="red">worker {props.id} is not in the latest snapshot (esc goes back)</Text>
      </Box>
    );
  }
  const hist = histogramLines(w.loop.lagHistogram, w.loop.lagBucketsMs, props.histogramHeight, width);
  const queues = w.queues.map((q) => `${q.name} ${q.depth}${q.depth > 0 ? ` (oldest ${formatMs(q.oldestWaitMs)})` : ""}`);
  const sparkWidth = Math.max(0, Math.min(40, width - 52));
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate">
        <Text bold>worker {w.id}</Text> ·{" "}
        <Text color={w.status === "running" ? "green" : "red"}>{w.status}</Text>
        {w.generation > 0 ? ` · respawned ${w.generation}×` : ""} · lag p50{" "}
        {formatMs(w.loop.lagP50Ms)} p99{" "}
        <Text color={w.loop.lagP99Ms > t.lagP99Ms ? "yellow" : undefined}>{formatMs(w.loop.lagP99Ms)}</Text> max{" "}
        {formatMs(w.loop.lagMaxMs)} · busy {formatPercent(w.loop.busy)} · {formatRate(w.requestsPerSec)} rq/s
      </Text>
      <Text wrap="truncate">
        {w.openConnections} conns open / {formatCount(w.totalConnections)} total · {w.inflightTasks} tasks · watchdog{" "}
        <Text color={w.watchdogMiss > 0 ? "yellow" : undefined}>{w.watchdogMiss} miss</Text> {w.watchdogMegaMiss} mega ·
        last pong {formatMs(w.lastPongMs)} · dropped {w.dropped}
        {queues.length > 0 ? ` · queues: ${queues.join(", ")}` : ""}
      </Text>
      <Text wrap="truncate" bold>
        Loop lag histogram <Text dimColor>({formatCount(w.loop.samplesPerSec)} samples/s)</Text>
        {sparkWidth > 0
          ? (
            <Text>
              {"   p99 history "}
              <Sparkline values={lag} width={sparkWidth} scaleMax={5} color="cyan" />
            </Text>
          )
          : null}
      </Text>
      {hist.bars.map((line, i) => <Text key={i} color="cyan" wrap="truncate">{line}</Text>)}
      <Text wrap="truncate" dimColor>{hist.labels}</Text>
      <Table
        title="Connections"
        table={props.connections}
        view={props.connectionsView}
        height={props.connectionsHeight}
        width={width}
        focused={props.pane === 0}
        thresholds={t}
        empty="no open connections"
      />
      <Table
        title="Tasks"
        table={props.tasks}
        view={props.tasksView}
        height={props.tasksHeight}
        width={width}
        focused={props.pane === 1}
        thresholds={t}
        empty="no task in flight"
      />
    </Box>
  );
}
