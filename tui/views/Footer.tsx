import { Text } from "ink";
import { HINTS } from "../keys.ts";

/** Props of {@link Footer}. */
export interface FooterProps {
  readonly width: number;
  /** The filter being typed, when `/` is active. */
  readonly editing: string | undefined;
  /** The focused table's filter and row counts, when it has one. */
  readonly filter: { readonly text: string; readonly shown: number; readonly total: number } | undefined;
}

/** One line: the filter prompt while typing, else the active filter and key hints. */
export function Footer({ width, editing, filter }: FooterProps) {
  if (editing !== undefined) {
    return (
      <Text wrap="truncate">
        <Text color="cyan" bold>/</Text>
        {editing}
        <Text inverse> </Text>
        <Text dimColor>  enter keep · esc cancel · regex, smart case</Text>
      </Text>
    );
  }
  const prefix = filter ? `filter /${filter.text}/ ${filter.shown} of ${filter.total} · esc clears  ` : "";
  let hints = "";
  for (const h of HINTS) {
    const next = hints ? `${hints}  ${h}` : h;
    if (prefix.length + next.length > width) break;
    hints = next;
  }
  return (
    <Text wrap="truncate">
      {filter ? <Text color="cyan">{prefix}</Text> : null}
      <Text dimColor>{hints}</Text>
    </Text>
  );
}
