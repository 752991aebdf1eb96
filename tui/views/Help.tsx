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
      <Text bold>Keys <Text dimColor>(? or esc closes)</Text></Text>
      {BINDINGS.map((b) => (
        <Text key={b.keys} wrap="truncate">
          {"  "}
          <Text color="cyan">{b.keys.padEnd(keyWidth)}</Text>
          {b.does}
        </Text>
      ))}
      <Text bold>Warnings</Text>
      <Text wrap="truncate">
        {"  "}worker lag p99 &gt; {formatMs(t.lagP99Ms)} · watchdog miss or blocked · imbalance &gt; {t.imbalance}× (≥{" "}
        {t.imbalanceMinConnections} connections) · upstream 5xx &gt; {formatPercent(t.errorRate)} (≥ {t.errorMinRequests}{" "}
        requests) · a queue growing over {t.queueGrowthFlushes} flushes
      </Text>
    </Box>
  );
}
