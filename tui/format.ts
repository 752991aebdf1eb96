/**
 * Plain-text formatting shared by the views and the printers: durations, sizes, rates, and the two
 * character-level charts (sparkline, bar). Pure functions, no Ink.
 *
 * @module
 */

/**
 * Formats milliseconds of latency: "0.42ms", "12ms", "1.3s".
 *
 * @example Format a lag figure
 * ```ts
 * formatMs(0.42); // "0.42ms"
 * formatMs(83.4); // "83ms"
 * ```
 */
export function formatMs(ms: number): string {
  if (!Number.isFinite(ms)) return "-";
  if (ms < 1) return `${ms.toFixed(2)}ms`;
  if (ms < 10) return `${ms.toFixed(1)}ms`;
  if (ms < 1000) return `${Math.round(ms)}ms`;
  if (ms < 10_000) return `${(ms / 1000).toFixed(2)}s`;
  return formatDuration(ms);
}

/**
 * Formats an age or uptime: "850ms", "42s", "3m05s", "1h02m", "3d04h".
 *
 * @example Format an uptime
 * ```ts
 * formatDuration(3_725_000); // "1h02m"
 * ```
 */
export function formatDuration(ms: number): string {
  if (!Number.isFinite(ms) || ms < 0) return "-";
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const s = Math.floor(ms / 1000);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m${pad2(s % 60)}s`;
  const h = Math.floor(m / 60);
  if (h < 24) return `${h}h${pad2(m % 60)}m`;
  return `${Math.floor(h / 24)}d${pad2(h % 24)}h`;
}

/**
 * Formats a byte count with binary units: "512B", "1.5K", "3.2M", "1.0G".
 *
 * @example Format bytes
 * ```ts
 * formatBytes(1536); // "1.5K"
 * ```
 */
export function formatBytes(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const units = ["B", "K", "M", "G", "T"];
  let v = n;
  let i = 0;
  while (Math.abs(v) >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return i === 0 ? `${Math.round(v)}B` : `${v < 10 ? v.toFixed(1) : Math.round(v)}${units[i]}`;
}

/**
 * Formats a count compactly: "950", "12.3k", "4.1M".
 *
 * @example Format a counter
 * ```ts
 * formatCount(12_345); // "12.3k"
 * ```
 */
export function formatCount(n: number): string {
  if (!Number.isFinite(n)) return "-";
  const a = Math.abs(n);
  if (a < 1000) return Number.isInteger(n) ? String(n) : n.toFixed(a < 10 ? 2 : 1);
  if (a < 1_000_000) return `${(n / 1000).toFixed(a < 10_000 ? 2 : 1)}k`;
  if (a < 1_000_000_000) return `${(n / 1_000_000).toFixed(a < 10_000_000 ? 2 : 1)}M`;
  return `${(n / 1_000_000_000).toFixed(1)}G`;
}

/**
 * Formats a per-second rate: "0", "3.5", "1.20k".
 *
 * @example Format a rate
 * ```ts
 * formatRate(1234); // "1.23k"
 * ```
 */
export function formatRate(perSec: number | undefined): string {
  if (perSec === undefined || !Number.isFinite(perSec)) return "-";
  const tenths = Math.round(perSec * 10) / 10;
  if (tenths === 0) return "0";
  if (Math.abs(tenths) < 100) return Number.isInteger(tenths) ? String(tenths) : tenths.toFixed(1);
  return formatCount(Math.round(perSec));
}

/**
 * Formats a fraction as a percentage: 0.4567 → "46%", 0.012 → "1.2%".
 *
 * @example Format an error ratio
 * ```ts
 * formatPercent(0.083); // "8.3%"
 * ```
 */
export function formatPercent(fraction: number | undefined): string {
  if (fraction === undefined || !Number.isFinite(fraction)) return "-";
  const p = fraction * 100;
  if (p === 0) return "0%";
  if (p < 10) return `${p.toFixed(1)}%`;
  return `${Math.round(p)}%`;
}

const SPARKS = ["▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"] as const;

/**
 * Draws the last `width` values as a one-line sparkline scaled to the largest shown value
 * (or to `scaleMax` when that is larger), right-aligned so the newest value is at the right edge.
 *
 * @example Draw recent lag
 * ```ts
 * sparkline([1, 2, 4, 8], 6); // "  ▁▂▄█"
 * ```
 */
export function sparkline(values: readonly number[], width: number, scaleMax = 0): string {
  if (width <= 0) return "";
  const shown = values.slice(-width);
  const max = Math.max(scaleMax, ...shown, 0);
  const chars = shown.map((v) => {
    if (!(max > 0) || !(v > 0)) return SPARKS[0];
    const i = Math.min(SPARKS.length - 1, Math.max(0, Math.ceil((v / max) * SPARKS.length) - 1));
    return SPARKS[i] ?? SPARKS[0];
  });
  return " ".repeat(width - chars.length) + chars.join("");
}

/**
 * Draws a horizontal bar of `width` cells for a fraction 0..1, with eighth-cell resolution.
 *
 * @example Draw 45% busy in 10 cells
 * ```ts
 * bar(0.45, 10); // "████▌     "
 * ```
 */
export function bar(fraction: number, width: number): string {
  if (width <= 0) return "";
  const f = Number.isFinite(fraction) ? Math.min(1, Math.max(0, fraction)) : 0;
  const eighths = Math.round(f * width * 8);
  const full = Math.floor(eighths / 8);
  const rest = eighths % 8;
  const partials = ["", "▏", "▎", "▍", "▌", "▋", "▊", "▉"];
  const s = "█".repeat(full) + (rest > 0 ? partials[rest] ?? "" : "");
  return s + " ".repeat(Math.max(0, width - s.length));
}

/**
 * Fits `text` into exactly `width` cells: truncated with "…" or padded on the side given by `align`.
 *
 * @example Fit a column
 * ```ts
 * fit("10.0.0.5:51234", 8, "left"); // "10.0.0.…"
 * fit("42", 5, "right"); // "   42"
 * ```
 */
export function fit(text: string, width: number, align: "left" | "right" = "left"): string {
  if (width <= 0) return "";
  const chars = Array.from(text);
  if (chars.length > width) return width === 1 ? "…" : chars.slice(0, width - 1).join("") + "…";
  const padding = " ".repeat(width - chars.length);
  return align === "right" ? padding + text : text + padding;
}

/** The display length of `text` in cells (code points; weft's tables use no wide characters). */
export function textWidth(text: string): number {
  return Array.from(text).length;
}

function pad2(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}
