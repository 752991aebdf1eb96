import { Box, Text } from "ink";
import type { Warning } from "../state/types.ts";

/** Props of {@link WarningsPanel}. */
export interface WarningsPanelProps {
  readonly warnings: readonly Warning[];
  /** How many to list; the rest are counted on a last line. */
  readonly shown: number;
  readonly width: number;
}

/** The lints, errors first, like tokio-console's warnings list. */
export function WarningsPanel({ warnings, shown, width }: WarningsPanelProps) {
  if (warnings.length === 0) {
    return <Text color="green" dimColor wrap="truncate">✓ no warnings</Text>;
  }
  const rest = warnings.length - shown;
  return (
    <Box flexDirection="column" width={width}>
      <Text wrap="truncate" bold color={warnings.some((w) => w.severity === "error") ? "red" : "yellow"}>
        ⚠ Warnings ({warnings.length})
      </Text>
      {warnings.slice(0, shown).map((w, i) => (
        <Text key={`${w.kind}:${w.subject}:${i}`} wrap="truncate" color={w.severity === "error" ? "red" : "yellow"}>
          {"  "}
          {w.severity === "error" ? "✖" : "⚠"} {w.message}
        </Text>
      ))}
      {rest > 0 ? <Text wrap="truncate" dimColor>{`  … ${rest} more`}</Text> : null}
    </Box>
  );
}
