/**
 * weft's configuration: the Envoy v3 static bootstrap parser and validator, the normalized model it
 * produces, and the embedded default config.
 *
 * @example Load a config or explain what is wrong with it
 * ```ts
 * import { DEFAULT_BOOTSTRAP_YAML, formatConfigError, parseBootstrap } from "./mod.ts";
 *
 * const result = parseBootstrap(DEFAULT_BOOTSTRAP_YAML);
 * if (result.ok) {
 *   console.log(result.bootstrap.listeners.map((l) => l.name)); // ["main"]
 * } else {
 *   for (const e of result.errors) console.error(formatConfigError(e, "envoy.yaml"));
 * }
 * ```
 *
 * @module
 */

export { DEFAULT_BOOTSTRAP_YAML, formatConfigError, parseBootstrap, type ParseResult } from "./bootstrap.ts";
export { type DurationResult, parseDuration } from "./duration.ts";
export type * from "./types.ts";
