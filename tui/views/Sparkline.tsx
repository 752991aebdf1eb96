import { Text } from "ink";
import { sparkline } from "../format.ts";

/** Props of {@link Sparkline}. */
export interface SparklineProps {
  readonly values: readonly number[];
  readonly width: number;
  /** Scale to at least this value, so small noise does not fill the chart. */
  readonly scaleMax?: number;
  readonly color?: string;
}

/** A one-line chart of recent values, newest at the right. */
export function Sparkline({ values, width, scaleMax = 0, color }: SparklineProps) {
  return <Text color={color}>{sparkline(values, width, scaleMax)}</Text>;
}
