/**
 * One access-log line per closed tunnel connection, with ztunnel's field names (`src.addr`,
 * `src.workload`, `src.namespace`, `src.identity`, `dst.addr`, `dst.hbone_addr`, `dst.service`,
 * `dst.workload`, `dst.namespace`, `dst.identity`, `direction`, `bytes_sent`, `bytes_recv`,
 * `duration`), as `key=value` text or as one JSON object per line (`--log-format json`).
 *
 * @example
 * ```ts
 * formatAccessLog({ message: "connection complete", "src.addr": "127.0.1.2:40000", ... }, "json");
 * ```
 *
 * @module
 */

export type LogFormat = "text" | "json";

export interface AccessLogEntry {
  /** Epoch milliseconds. */
  time: number;
  level: "info" | "warn" | "error";
  message: string;
  "src.addr": string;
  "src.workload"?: string | undefined;
  "src.namespace"?: string | undefined;
  "src.identity"?: string | undefined;
  "dst.addr": string;
  "dst.hbone_addr"?: string | undefined;
  "dst.service"?: string | undefined;
  "dst.workload"?: string | undefined;
  "dst.namespace"?: string | undefined;
  "dst.identity"?: string | undefined;
  direction: "inbound" | "outbound";
  bytes_sent?: number;
  bytes_recv?: number;
  /** Milliseconds. */
  duration?: number;
  error?: string | undefined;
  /** Deciding policy of a refusal, `namespace/name`. */
  policy?: string | undefined;
}

/**
 * Characters JSON leaves raw that a terminal or a log reader may take as a line break or control:
 * DEL, the C1 controls, U+2028/2029, and the bidirectional marks, embeddings, overrides and isolates
 * (a client's U+202E reversed how the rest of its line reads).
 */
const JSON_RAW_CONTROLS = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

/** `JSON.stringify` with the {@link JSON_RAW_CONTROLS} escaped too. */
function jsonText(v: unknown): string {
  return JSON.stringify(v).replace(JSON_RAW_CONTROLS, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`);
}

/** Values that need no quotes in a text line: addresses and plain words. */
const BARE = /^[A-Za-z0-9._:\[\]-]+$/;

/**
 * Formats one entry as a single line (no trailing newline). Every value is escaped (text: quoted as
 * a JSON string unless it is a plain address; json: one JSON object), so a value a client chose,
 * such as a SOCKS5 domain name with a newline, can never break the line or forge another.
 */
export function formatAccessLog(e: AccessLogEntry, format: LogFormat): string {
  const time = new Date(e.time).toISOString();
  if (format === "json") {
    const o: Record<string, unknown> = {
      time,
      level: e.level,
      scope: "access",
      message: e.message,
    };
    for (const [k, v] of Object.entries(e)) {
      if (k === "time" || k === "level" || k === "message" || v === undefined) {
        continue;
      }
      o[k] = k === "duration" ? `${v}ms` : v;
    }
    return jsonText(o);
  }
  const message = /^[A-Za-z0-9 ._-]+$/.test(e.message) ? e.message : jsonText(e.message);
  const parts = [time, e.level, "access", message];
  for (const [k, v] of Object.entries(e)) {
    if (k === "time" || k === "level" || k === "message" || v === undefined) {
      continue;
    }
    if (k === "duration") parts.push(`duration=${jsonText(`${v}ms`)}`);
    else if (typeof v === "number") parts.push(`${k}=${v}`);
    else if ((k.endsWith(".addr") || k === "dst.hbone_addr") && BARE.test(String(v))) parts.push(`${k}=${v}`);
    else parts.push(`${k}=${jsonText(v)}`);
  }
  return parts.join(" ");
}
