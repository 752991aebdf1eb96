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

/** Formats one entry as a single line (no trailing newline). */
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
    return JSON.stringify(o);
  }
  const parts = [time, e.level, "access", e.message];
  for (const [k, v] of Object.entries(e)) {
    if (k === "time" || k === "level" || k === "message" || v === undefined) {
      continue;
    }
    if (k === "duration") parts.push(`duration="${v}ms"`);
    else if (typeof v === "number") parts.push(`${k}=${v}`);
    else if (k.endsWith(".addr") || k === "dst.hbone_addr") {
      parts.push(`${k}=${v}`);
    } else parts.push(`${k}=${JSON.stringify(v)}`);
  }
  return parts.join(" ");
}
