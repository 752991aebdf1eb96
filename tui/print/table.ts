/**
 * Aligned plain-text tables for the non-interactive subcommands (like `istioctl proxy-config` or
 * `kubectl get`): a title row, then one row per item, columns padded to their widest cell, no
 * truncation and no colour, so the output pipes into `grep`, `awk` or `column`.
 *
 * @module
 */

import { textWidth } from "../format.ts";

/** A column of a printed table. */
export interface PrintColumn {
  readonly title: string;
  readonly align: "left" | "right";
}

/** Space between columns. */
export const COLUMN_GAP = "   ";

/**
 * Formats rows under their titles; trailing spaces are trimmed from every line.
 *
 * @example
 * ```ts
 * formatTable([{ title: "ID", align: "right" }, { title: "STATUS", align: "left" }], [["0", "running"]]);
 * // "ID   STATUS\n 0   running\n"
 * ```
 */
export function formatTable(columns: readonly PrintColumn[], rows: readonly (readonly string[])[]): string {
  const widths = columns.map((c, i) => Math.max(textWidth(c.title), ...rows.map((r) => textWidth(r[i] ?? ""))));
  const line = (cells: readonly string[]) =>
    columns
      .map((c, i) => {
        const cell = cells[i] ?? "";
        const pad = " ".repeat(Math.max(0, (widths[i] ?? 0) - textWidth(cell)));
        return c.align === "right" ? pad + cell : cell + pad;
      })
      .join(COLUMN_GAP)
      .trimEnd();
  return [line(columns.map((c) => c.title)), ...rows.map(line)].join("\n") + "\n";
}
