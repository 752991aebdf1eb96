/**
 * `google.protobuf.Duration` as Envoy reads it from YAML/JSON.
 *
 * The protobuf JSON mapping accepts only a string of decimal seconds with an `s` suffix and at most
 * nine fractional digits (`"5s"`, `"0.25s"`, `"1.000000001s"`). Envoy's YAML loader also lets the
 * message form through (`{seconds: 5, nanos: 0}`), so both are accepted here. Units other than
 * seconds (`"5ms"`, `"1m"`) and bare numbers (`5`) are errors, as in Envoy. Negative durations are
 * valid protobuf but no weft field takes one, so they are rejected.
 *
 * @module
 */

/** The outcome of {@linkcode parseDuration}: milliseconds, or a message saying what is wrong. */
export type DurationResult = { ok: true; ms: number } | { ok: false; message: string };

/** The largest `seconds` protobuf allows (10,000 years). */
const MAX_SECONDS = 315_576_000_000;

const DURATION_RE = /^(-?)(\d+)(?:\.(\d{1,9}))?s$/;

/**
 * Parses a duration value (already decoded from YAML) into milliseconds (fractions kept, so
 * `"0.0005s"` is `0.5`).
 *
 * @example Strings and the message form
 * ```ts
 * import { parseDuration } from "./duration.ts";
 *
 * parseDuration("0.25s"); // { ok: true, ms: 250 }
 * parseDuration({ seconds: 5 }); // { ok: true, ms: 5000 }
 * parseDuration("5ms"); // { ok: false, message: 'must be a duration in seconds such as "0.005s", got "5ms"' }
 * ```
 */
export function parseDuration(value: unknown): DurationResult {
  if (typeof value === "string") return parseDurationString(value);
  if (typeof value === "object" && value !== null && !Array.isArray(value)) {
    return parseDurationObject(value as Record<string, unknown>);
  }
  const shown = value === null || typeof value !== "object" ? String(value) : "a list";
  const hint = typeof value === "number" && Number.isFinite(value) && value >= 0
    ? ` such as "${value}s"`
    : ` such as "5s" or "0.25s"`;
  return { ok: false, message: `must be a duration string${hint}, got ${shown}` };
}

function parseDurationString(text: string): DurationResult {
  const m = DURATION_RE.exec(text);
  if (m === null) {
    const unit = /^(\d+(?:\.\d+)?)(ns|us|µs|ms|m|h|d)$/.exec(text);
    if (unit !== null) {
      const scale: Record<string, number> = { ns: 1e-9, us: 1e-6, "µs": 1e-6, ms: 1e-3, m: 60, h: 3600, d: 86400 };
      const seconds = Number(unit[1]) * (scale[unit[2] ?? ""] ?? 1);
      const suggestion = `${Number(seconds.toFixed(9))}s`;
      return {
        ok: false,
        message: `must be a duration in seconds such as "${suggestion}", got ${JSON.stringify(text)}`,
      };
    }
    if (/^-?\d+\.\d{10,}s$/.test(text)) {
      return { ok: false, message: `must have at most 9 fractional digits (nanoseconds), got ${JSON.stringify(text)}` };
    }
    return { ok: false, message: `must be a duration such as "5s" or "0.25s", got ${JSON.stringify(text)}` };
  }
  if (m[1] === "-") return { ok: false, message: `must not be negative, got ${JSON.stringify(text)}` };
  const seconds = Number(m[2]);
  if (seconds > MAX_SECONDS) return { ok: false, message: `is out of range, got ${JSON.stringify(text)}` };
  const nanos = Number((m[3] ?? "").padEnd(9, "0"));
  return { ok: true, ms: toMs(seconds, nanos) };
}

function parseDurationObject(obj: Record<string, unknown>): DurationResult {
  for (const key of Object.keys(obj)) {
    if (key !== "seconds" && key !== "nanos") {
      return { ok: false, message: `unknown field ${JSON.stringify(key)} in duration; expected seconds and nanos` };
    }
  }
  const seconds = int64(obj.seconds);
  const nanos = int64(obj.nanos);
  if (seconds === null || Math.abs(seconds) > MAX_SECONDS) {
    return { ok: false, message: `seconds must be an integer from 0 to ${MAX_SECONDS}, got ${show(obj.seconds)}` };
  }
  if (nanos === null || Math.abs(nanos) > 999_999_999) {
    return { ok: false, message: `nanos must be an integer from 0 to 999999999, got ${show(obj.nanos)}` };
  }
  if (seconds < 0 || nanos < 0) return { ok: false, message: "must not be negative" };
  return { ok: true, ms: toMs(seconds, nanos) };
}

/** Integer from a number or a decimal string (protobuf JSON writes int64 as strings); absent is 0. */
function int64(v: unknown): number | null {
  if (v === undefined || v === null) return 0;
  if (typeof v === "number") return Number.isInteger(v) ? v : null;
  if (typeof v === "string" && /^-?\d+$/.test(v)) return Number(v);
  return null;
}

function show(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : String(v);
}

function toMs(seconds: number, nanos: number): number {
  // Integer nanos / 1e6 keeps common values exact (250_000_000 → 250).
  return seconds * 1000 + nanos / 1_000_000;
}
