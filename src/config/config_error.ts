/**
 * Rendering of {@linkcode ConfigError}s for people: `file:line:col: path: message`.
 *
 * @module
 */

import type { ConfigError } from "./types.ts";

/**
 * Formats one validation error the way compilers do, so editors and terminals can jump to it:
 * `source:line:column: path: message`. The position is left out when the error is not tied to a
 * node (line 0), and the path when the error is about the whole document.
 *
 * @example Format an error for envoy.yaml
 * ```ts
 * import { formatConfigError } from "./config_error.ts";
 *
 * const text = formatConfigError(
 *   { path: "admin.address.socket_address.port_value", line: 5, column: 19, message: "must be an integer from 0 to 65535, got \"abc\"" },
 *   "envoy.yaml",
 * );
 * // text === 'envoy.yaml:5:19: admin.address.socket_address.port_value: must be an integer from 0 to 65535, got "abc"'
 * ```
 */
export function formatConfigError(e: ConfigError, source: string): string {
  const where = e.line > 0 ? `${source}:${e.line}:${e.column}` : source;
  return e.path === "" ? `${where}: ${e.message}` : `${where}: ${e.path}: ${e.message}`;
}

/** Orders errors by position in the source (errors without a position last), stable otherwise. */
export function sortConfigErrors(errors: ConfigError[]): ConfigError[] {
  const key = (e: ConfigError) => (e.line > 0 ? e.line : Number.MAX_SAFE_INTEGER);
  return errors
    .map((e, i) => ({ e, i }))
    .sort((a, b) => key(a.e) - key(b.e) || a.e.column - b.e.column || a.i - b.i)
    .map(({ e }) => e);
}
