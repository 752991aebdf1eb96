import { Box, Text } from "ink";
import { formatMs, formatPercent } from "../format.ts";
import { BINDINGS } from "../keys.ts";
import type { Thresholds } from "../state/types.ts";

/** Props of {@link Help}. */
export interface HelpProps {
  readonly height: number;
  readonly width: number;
  readonly thresholds: Thresholds;
}

/** Key bindings and warning thresholds; `?` or esc closes it. */
export function Help({ height, width, thresholds: t }: HelpProps) {
  const keyWidth = Math.max(...BINDINGS.map((b) => b.keys.length)) + 2;
  return (
    <Box flexDirection="column" height={height} width={width} overflow="hidden">
      <Box flexDirection="column" flexShrink={0}>
        <Text bold>Keys <Text dimColor>(? or esc closes)</Text></Text>
        {BINDINGS.map((b) => (
          <Text key={b.keys} wrap="truncate">
            {"  "}
            <Text color="cyan">{b.keys.padEnd(keyWidth)}</Text>
            {b.does}
          </Text>
        ))}
        <Text wrap="truncate">
          <Text bold>Warnings:</Text>
          {` lag p99 > ${formatMs(t.lagP99Ms)} · watchdog miss · imbalance > ${t.imbalance}× (≥ ${t.imbalanceMinConnections} conns) · 5xx > ${
            formatPercent(t.errorRate)
          } (≥ ${t.errorMinRequests} rq) · queue growing ${t.queueGrowthFlushes} flushes`}
        </Text>
      </Box>
    </Box>
  );
}
