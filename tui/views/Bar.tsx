import { Text } from "ink";
import { bar, formatPercent } from "../format.ts";

/** Props of {@link Bar}. */
export interface BarProps {
  /** 0..1 */
  readonly fraction: number;
  /** Cells for the bar itself. */
  readonly width: number;
  readonly color?: string;
  /** Append the percentage after the bar. */
  readonly label?: boolean;
}

/** A horizontal bar with eighth-cell resolution. */
export function Bar({ fraction, width, color, label = false }: BarProps) {
  return (
    <Text>
      <Text color={color}>{bar(fraction, width)}</Text>
      {label ? ` ${formatPercent(fraction).padStart(4)}` : ""}
    </Text>
  );
}
