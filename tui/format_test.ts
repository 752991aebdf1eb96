import { test } from "node:test";
import assert from "node:assert/strict";
import { bar, fit, formatBytes, formatCount, formatDuration, formatMs, formatPercent, formatRate, sparkline } from "./format.ts";

test("formatMs picks a precision by magnitude", () => {
  assert.equal(formatMs(0.42), "0.42ms");
  assert.equal(formatMs(6.25), "6.3ms");
  assert.equal(formatMs(83.4), "83ms");
  assert.equal(formatMs(1250), "1.25s");
  assert.equal(formatMs(Number.NaN), "-");
});

test("formatDuration is compact and keeps two units", () => {
  assert.equal(formatDuration(850), "850ms");
  assert.equal(formatDuration(42_000), "42s");
  assert.equal(formatDuration(185_000), "3m05s");
  assert.equal(formatDuration(3_725_000), "1h02m");
  assert.equal(formatDuration(3 * 86_400_000 + 4 * 3_600_000), "3d04h");
});

test("sizes, counts, rates and percentages", () => {
  assert.equal(formatBytes(512), "512B");
  assert.equal(formatBytes(1536), "1.5K");
  assert.equal(formatBytes(3 * 1024 * 1024), "3.0M");
  assert.equal(formatCount(950), "950");
  assert.equal(formatCount(12_345), "12.3k");
  assert.equal(formatRate(0), "0");
  assert.equal(formatRate(3.46), "3.5");
  assert.equal(formatRate(1234), "1.23k");
  assert.equal(formatRate(412.5), "413");
  assert.equal(formatRate(-2), "-2");
  assert.equal(formatRate(undefined), "-");
  assert.equal(formatPercent(0.083), "8.3%");
  assert.equal(formatPercent(0.4567), "46%");
});

test("sparkline scales to the largest value and right-aligns the newest", () => {
  assert.equal(sparkline([1, 2, 4, 8], 6), "  ▁▂▄█");
  assert.equal(sparkline([1, 2, 3, 4, 5, 6, 7, 8, 9], 3), "▇██");
  assert.equal(sparkline([1, 1], 2, 8), "▁▁", "scaleMax keeps small values small");
  assert.equal(sparkline([], 3), "   ");
});

test("bar draws eighths and pads to its width", () => {
  assert.equal(bar(0.45, 10), "████▌     ");
  assert.equal(bar(1, 4), "████");
  assert.equal(bar(0, 3), "   ");
  assert.equal(bar(2, 2), "██", "clamped");
});

test("fit truncates with an ellipsis or pads", () => {
  assert.equal(fit("10.0.0.5:51234", 8), "10.0.0.…");
  assert.equal(fit("42", 5, "right"), "   42");
  assert.equal(fit("ab", 2), "ab");
});
