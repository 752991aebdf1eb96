/**
 * Command-line options of the benchmark scripts: `--name value` pairs read from `process.argv`.
 *
 * @example
 * ```ts
 * const rounds = Number(option("rounds", "3")); // `--rounds 5` → "5"; absent or empty → "3"
 * ```
 *
 * @module
 */
import process from "node:process";

/** The value after `--<name>`, or `fallback` when the option is absent or has no value. */
export function option(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] ? process.argv[i + 1]! : fallback;
}
